"""What the sandbox is seeded with: its documented ids, and the channels and templates behind
them, and the magic recipients (the one place they are described: the README, the docs and
the sandbox's docstrings point here, or to :func:`describe_magic_recipients`). Tests, demos and
users' DAG tests rely on these ids. Plain data: no imports."""

# What the package gives users (``from bird_sandbox import ...``); the rest is the sandbox's own.
__all__ = [
    "ABSENT",
    "ACCESS_KEY",
    "ANSWERING_RECIPIENTS",
    "CARRIER_CAPS",
    "CLICKS_LINK_US",
    "DELETED_US",
    "DELIVERED_UPPER_US",
    "DELIVERY_FAILS_NL",
    "DELIVERY_FAILS_US",
    "INACTIVE_TEMPLATE_VERSION_ID",
    "MAGIC_RECIPIENTS",
    "MMS_CHANNEL_ID",
    "MMS_CHANNEL_NUMBER",
    "ODD_STATUSES",
    "QUIET_HOURS_CHANNEL_ID",
    "QUIET_HOURS_UTC",
    "REPLIES_STOP_US",
    "REPLIES_YES_US",
    "SENDING_FAILS_NL",
    "SENDING_FAILS_US",
    "SHORT_LINK_DOMAIN",
    "SKIPPED_US",
    "SMS_CHANNEL_ID",
    "SMS_CHANNEL_SENDER",
    "STATUS_ABSENT_US",
    "STATUS_NULL_US",
    "STATUS_NUMBER_US",
    "THROUGHPUT_CAPPED_US",
    "STAYS_SENT_NL",
    "STAYS_SENT_US",
    "TEMPLATE_LOCALES",
    "TEMPLATE_PROJECT_ID",
    "TEMPLATE_VERSION_ID",
    "UNDELIVERABLE_US",
    "VOLUME_CAPPED_NAMED_US",
    "VOLUME_CAPPED_US",
    "WORKSPACE_ID",
]

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

# An SMS-only channel with quiet hours, 21:00 to 08:00 UTC: a message accepted (or scheduled)
# within them is held, ``scheduled``, until they end, unless it says ``ignoreQuietHours``.
QUIET_HOURS_CHANNEL_ID = "c0a8f6d2-4b1e-4f3a-9d7c-5e2b8a1f9c03"
QUIET_HOURS_UTC = ("21:00", "08:00")

# What the channels send from: the US long code (fictional 555 range) and the alphanumeric id.
MMS_CHANNEL_NUMBER = "+12025550143"
SMS_CHANNEL_SENDER = "AirflowSMS"
QUIET_HOURS_CHANNEL_SENDER = "AirflowQuiet"

# Where links are shortened to when a message's ``shortLinks.domain`` is ``"default"`` (the
# workspace's link-shortening domain): https://<domain>/<8 characters>.
SHORT_LINK_DOMAIN = "brd.sandbox.example"

# The workspace's channels, in the order Bird would list them. ``inbound``: whether people can
# reply to it; an alphanumeric sender is one-way, as on Bird's SMS platform.
CHANNELS: dict[str, dict] = {
    MMS_CHANNEL_ID: {
        "name": "Sandbox US number (SMS + MMS)",
        "identifier": MMS_CHANNEL_NUMBER,
        "connectorId": "0c1d43a2-5b7e-4f0e-9a53-1f0f5f3f6a01",
        "mms": True,
        "inbound": True,
    },
    SMS_CHANNEL_ID: {
        "name": "Sandbox alphanumeric sender (SMS only)",
        "identifier": SMS_CHANNEL_SENDER,
        "connectorId": "7e9b2c44-0d1a-4c6b-8f6e-2b7d9c1e4a02",
        "mms": False,
        "inbound": False,
    },
    QUIET_HOURS_CHANNEL_ID: {
        "name": "Sandbox sender with quiet hours 21:00-08:00 UTC (SMS only)",
        "identifier": QUIET_HOURS_CHANNEL_SENDER,
        "connectorId": "2d4f6a81-93c5-4e7b-b0a2-6c8e1f3d5b04",
        "mms": False,
        "inbound": False,
        "quiet_hours": QUIET_HOURS_UTC,
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

# --- the status lifecycle ---------------------------------------------------------------------
# Every accepted message moves through Bird's statuses as time passes: accepted, processing,
# sent, delivered (see the backend's status_delays). Messages to these recipients end
# otherwise, like moto's magic values. Each is a valid mobile number (the provider's own
# recipient validation accepts it): the US ones are in 555-0100..0199, the range reserved for
# fiction; the Netherlands has no such range, so the Dutch ones are merely patterned
# (06 1000 01xx). They are for the sandbox: never send to them through Bird itself.

DELIVERY_FAILS_NL = "+31610000101"
DELIVERY_FAILS_US = "+12025550101"
SENDING_FAILS_NL = "+31610000102"
SENDING_FAILS_US = "+12025550102"
STAYS_SENT_NL = "+31610000103"
STAYS_SENT_US = "+12025550103"

# How a message to each group ends (see FAILURES for what a failed one carries).
ENDINGS: dict[str, str] = {
    "delivery_failed": 'processing, sent, then delivery_failed (at the "delivered" delay): '
    "the carrier could not reach the handset (absent subscriber)",
    "sending_failed": 'processing, then sending_failed (at the "sent" delay): the SMS platform '
    "has no route to the recipient's network",
    "sent": "processing, then sent for ever: the handset never acknowledges (no delivery report)",
}

# Recipient -> the status a message to it ends in. A message to several recipients ends as
# the first of its recipients found here says; with none of them, it is delivered.
MAGIC_RECIPIENTS: dict[str, str] = {
    DELIVERY_FAILS_NL: "delivery_failed",
    DELIVERY_FAILS_US: "delivery_failed",
    SENDING_FAILS_NL: "sending_failed",
    SENDING_FAILS_US: "sending_failed",
    STAYS_SENT_NL: "sent",
    STAYS_SENT_US: "sent",
}

# What a failed message carries, in Bird's shape: ``reason`` (the platform's text), ``details``
# and ``failure`` {code, description, source {name, code}}. The codes are the sandbox's own, in
# Bird's 15xxx "platform errors" range; the source code of a delivery failure is the GSM MAP
# error the carrier reported (27: absent subscriber).
FAILURES: dict[str, dict] = {
    "delivery_failed": {
        "reason": "details: absent subscriber; reason: absent_subscriber; code: 27",
        "details": "absent_subscriber",
        "failure": {
            "code": 15006,
            "description": "The carrier could not reach the handset (switched off or out "
            "of coverage): absent subscriber",
            "source": {"name": "sms-messagebird", "code": "27"},
        },
    },
    "sending_failed": {
        "reason": "details: no route to the recipient's network; reason: no_route",
        "details": "no_route",
        "failure": {
            "code": 15002,
            "description": "The SMS platform has no route to the recipient's network",
            "source": {"name": "sms-messagebird", "code": "no_route"},
        },
    },
}
assert set(MAGIC_RECIPIENTS.values()) == {*FAILURES, "sent"} == set(ENDINGS)

# What a message carries when its ``validity`` ran out before it was delivered. Bird does not
# document the status or the failure of an expired message: the sandbox ends it
# ``delivery_failed`` with this failure (GSM's "validity period expired", code 15007 in the
# sandbox's own numbering).
EXPIRED_FAILURE: dict = {
    "reason": "details: validity expired; reason: expired",
    "details": "expired",
    "failure": {
        "code": 15007,
        "description": "The message was not delivered within its validity period; the "
        "platform stopped trying",
        "source": {"name": "sms-messagebird", "code": "expired"},
    },
}

# ... processing, sent, then a last status the provider must cope with: Bird's statuses an SMS
# rarely reaches (skipped, deleted), words outside Bird's enum or in another case, and answers
# whose status is absent, null or not a string. Recipient -> that status (ABSENT: no
# ``status`` field at all). US numbers only, all in the fiction range.
ABSENT = "(absent)"
STATUS_ABSENT_US = "+12025550104"
STATUS_NULL_US = "+12025550105"
STATUS_NUMBER_US = "+12025550106"
UNDELIVERABLE_US = "+12025550107"
DELIVERED_UPPER_US = "+12025550108"
SKIPPED_US = "+12025550109"
DELETED_US = "+12025550110"
ODD_STATUSES: dict[str, object] = {
    STATUS_ABSENT_US: ABSENT,
    STATUS_NULL_US: None,
    STATUS_NUMBER_US: 7,
    UNDELIVERABLE_US: "undeliverable",
    DELIVERED_UPPER_US: "DELIVERED",
    SKIPPED_US: "skipped",
    DELETED_US: "deleted",
}
assert not set(ODD_STATUSES) & set(MAGIC_RECIPIENTS)

# ... and US carriers' caps on 10DLC traffic, which fail a message Bird still charges for:
# T-Mobile's daily cap per brand (106, EC_CAMPAIGN_VOLUME_EXCEEDED) and AT&T's throughput per
# campaign (107, EC_CAMPAIGN_THROUGHPUT_EXCEEDED). Bird does not document where in the message
# the carrier's code goes: each recipient puts it in one place only, the failure's source
# code, the failure code itself, or the reason's text.
VOLUME_CAPPED_US = "+12025550114"
THROUGHPUT_CAPPED_US = "+12025550115"
VOLUME_CAPPED_NAMED_US = "+12025550116"


def _carrier_rejected(code: int, source_code: str, reason: str, details: str) -> dict:
    """A message the carrier rejected: Bird's failure `code`, the platform's `source_code`."""
    failure = {"code": code, "description": "The carrier rejected the message"}
    failure["source"] = {"name": "sms-messagebird", "code": source_code}
    return {"reason": reason, "details": details, "failure": failure}


_REJECTED = "details: rejected by the carrier; reason: carrier_rejected"
CARRIER_CAPS: dict[str, dict] = {
    VOLUME_CAPPED_US: _carrier_rejected(15008, "106", _REJECTED, "carrier_rejected"),
    THROUGHPUT_CAPPED_US: _carrier_rejected(107, "carrier_rejected", _REJECTED, "carrier_rejected"),
    VOLUME_CAPPED_NAMED_US: _carrier_rejected(
        15008,
        "carrier_rejected",
        "details: campaign volume exceeded; reason: EC_CAMPAIGN_VOLUME_EXCEEDED",
        "EC_CAMPAIGN_VOLUME_EXCEEDED",
    ),
}
CARRIER_CAP_PLACES = {
    VOLUME_CAPPED_US: "the failure's source code 106",
    THROUGHPUT_CAPPED_US: "the failure code 107",
    VOLUME_CAPPED_NAMED_US: "the reason's text EC_CAMPAIGN_VOLUME_EXCEEDED",
}
assert set(CARRIER_CAPS) == set(CARRIER_CAP_PLACES)
assert not set(CARRIER_CAPS) & (set(ODD_STATUSES) | set(MAGIC_RECIPIENTS))


# ... and recipients that answer: their message is delivered as any other, and ``reply_delay``
# seconds after it goes out (see the backend's reply_delay), the person replies or clicks. A
# reply is an inbound message from the number on the message's channel, with what Bird's SMS
# platform does with its keyword; a one-way channel (an alphanumeric sender) gets no reply,
# only the interaction a link would give. US numbers in the fiction range, after the above.
REPLIES_STOP_US = "+12025550111"
REPLIES_YES_US = "+12025550112"
CLICKS_LINK_US = "+12025550113"
# Recipient -> what it does: the text it replies, or "click".
ANSWERING_RECIPIENTS: dict[str, str] = {
    REPLIES_STOP_US: "STOP",
    REPLIES_YES_US: "YES",
    CLICKS_LINK_US: "click",
}
ANSWERS: dict[str, str] = {
    "STOP": "delivered; replies STOP reply_delay seconds after it goes out: an inbound "
    "message, and an unsubscribe-request interaction on the message (a one-way channel: only "
    "the interaction, as from an opt-out link)",
    "YES": "delivered; replies YES reply_delay seconds after it goes out: an inbound message, "
    "no keyword (a one-way channel: nothing)",
    "click": "delivered; a clicked interaction reply_delay seconds after it goes out, on the "
    "message's first link (its short link if shortened; a placeholder short link if none)",
}
assert set(ANSWERING_RECIPIENTS.values()) == set(ANSWERS)
assert not set(ANSWERING_RECIPIENTS) & {*MAGIC_RECIPIENTS, *ODD_STATUSES}


def describe_magic_recipients() -> str:
    """The magic recipients and how their messages end, one line each (generated from the
    tables above; ``python -m bird_sandbox --magic-recipients`` prints it)."""
    lines = [f"{number}  {ENDINGS[end]}" for number, end in MAGIC_RECIPIENTS.items()]
    for number, status in ODD_STATUSES.items():
        shown = "no status field" if status == ABSENT else f"status {status!r}"
        lines.append(f'{number}  processing, sent, then {shown} (at the "delivered" delay)')
    lines += [
        f'{number}  processing, sent, then delivery_failed (at the "delivered" delay): a US '
        f"carrier's cap, named by {place}"
        for number, place in CARRIER_CAP_PLACES.items()
    ]
    lines += [f"{number}  {ANSWERS[answer]}" for number, answer in ANSWERING_RECIPIENTS.items()]
    return "\n".join(lines)
