"""Documented ids the sandbox is seeded with; tests, demos and users' DAG tests rely on them."""

ACCESS_KEY = "sandbox-access-key"
WORKSPACE_ID = "5d31ef73-de34-4006-a7ea-3b91aaa8ef9c"

# A US number with MMS active, and an SMS-only (alphanumeric, EU) channel.
MMS_CHANNEL_ID = "6b52e9cb-2ddf-45b5-8aea-62882e999fb7"
SMS_CHANNEL_ID = "b6679638-ceb5-4d0d-9af2-ac6bc33b01fd"

# An active Studio template with two published versions in English and Dutch.
TEMPLATE_PROJECT_ID = "3f8f23b5-e9a5-4e10-9c36-93c27d1578d6"
TEMPLATE_VERSION_ID = "aeccf807-8f52-439f-b720-fcf65b483adb"
INACTIVE_TEMPLATE_VERSION_ID = "3a32fce8-4123-45fa-85c3-724908cb49a3"
TEMPLATE_LOCALES = ("en", "nl")

# What the channels send from: the US long code (fictional 555 range) and the alphanumeric id.
MMS_CHANNEL_NUMBER = "+12025550143"
SMS_CHANNEL_SENDER = "AirflowSMS"
