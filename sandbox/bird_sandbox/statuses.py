"""A message's status over time: Bird's statuses as the sandbox gives them, the delays after
acceptance at which they change, and each message's timeline (worked out when the message is
read: no thread moves messages along, and a sandbox in a process of its own behaves the same).
How a message ends is fixed when it is accepted: delivered, or as its magic recipient says
(:mod:`.catalogue`)."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_provider_sms.bird.facts import MESSAGE_STATUSES

from .catalogue import CARRIER_CAPS, FAILURES, MAGIC_RECIPIENTS, ODD_STATUSES
from .settings import DELAY_NAMES

# The statuses the sandbox gives messages, all of them Bird's; the three a message moves
# through after acceptance are the `status_delays` setting's keys.
ACCEPTED, SCHEDULED, REJECTED = "accepted", "scheduled", "rejected"
PROCESSING, SENT, DELIVERED = DELAY_NAMES
SENDING_FAILED, DELIVERY_FAILED = "sending_failed", "delivery_failed"
assert {
    ACCEPTED,
    SCHEDULED,
    REJECTED,
    PROCESSING,
    SENT,
    DELIVERED,
    SENDING_FAILED,
    DELIVERY_FAILED,
} <= MESSAGE_STATUSES
assert set(MAGIC_RECIPIENTS.values()) <= {SENT, SENDING_FAILED, DELIVERY_FAILED}


def timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, like Bird's ``2022-12-22T08:32:50.736Z``."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def stages(outcome: str, delays: tuple[float, float, float]) -> tuple:
    """A message's timeline after acceptance: ``(offset, status, extra fields)`` in order.
    Shared by every message with the same outcome and delays."""
    processing, sent, delivered = delays
    if isinstance(outcome, tuple) and outcome[0] == "capped":  # see catalogue.CARRIER_CAPS
        failure = CARRIER_CAPS[outcome[1]]
        return (
            (processing, PROCESSING, None),
            (sent, SENT, None),
            (delivered, DELIVERY_FAILED, failure),
        )
    if isinstance(outcome, tuple):  # ("odd", the last status): see catalogue.ODD_STATUSES
        return ((processing, PROCESSING, None), (sent, SENT, None), (delivered, outcome[1], None))
    if outcome == SENDING_FAILED:
        return ((processing, PROCESSING, None), (sent, SENDING_FAILED, FAILURES[SENDING_FAILED]))
    last = () if outcome == SENT else ((delivered, outcome, FAILURES.get(outcome)),)
    return ((processing, PROCESSING, None), (sent, SENT, None), *last)


def outcome(message: dict) -> str | tuple:
    """How a message ends: as its first magic recipient says, else delivered."""
    for contact in message["receiver"]["contacts"]:
        ending = MAGIC_RECIPIENTS.get(contact.get("identifierValue"))
        if ending is not None:
            return ending
        if contact.get("identifierValue") in ODD_STATUSES:
            return ("odd", ODD_STATUSES[contact["identifierValue"]])
        if contact.get("identifierValue") in CARRIER_CAPS:
            return ("capped", contact["identifierValue"])
    return DELIVERED
