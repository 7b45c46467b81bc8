"""What the sandbox is seeded with: its documented ids, and the channels and templates behind
them. Tests, demos and users' DAG tests rely on these ids. Plain data: no imports."""

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

# The workspace's channels, in the order Bird would list them.
CHANNELS: dict[str, dict] = {
    MMS_CHANNEL_ID: {
        "name": "Sandbox US number (SMS + MMS)",
        "identifier": MMS_CHANNEL_NUMBER,
        "connectorId": "0c1d43a2-5b7e-4f0e-9a53-1f0f5f3f6a01",
        "mms": True,
    },
    SMS_CHANNEL_ID: {
        "name": "Sandbox alphanumeric sender (SMS only)",
        "identifier": SMS_CHANNEL_SENDER,
        "connectorId": "7e9b2c44-0d1a-4c6b-8f6e-2b7d9c1e4a02",
        "mms": False,
    },
}

_REMINDER_TEXTS = {
    "en": "Hi {name}, this is a reminder of your appointment on {date}.",
    "nl": "Hoi {name}, dit is een herinnering aan je afspraak op {date}.",
}

# Studio template projects: declared parameters (name -> type) and versions with a text per
# locale; "latest" is the active version.
TEMPLATES: dict[str, dict] = {
    TEMPLATE_PROJECT_ID: {
        "name": "appointment-reminder",
        "parameters": {"name": "string", "date": "string"},
        "versions": {
            TEMPLATE_VERSION_ID: {"active": True, "texts": _REMINDER_TEXTS},
            INACTIVE_TEMPLATE_VERSION_ID: {"active": False, "texts": _REMINDER_TEXTS},
        },
    }
}
assert set(_REMINDER_TEXTS) == set(TEMPLATE_LOCALES)
