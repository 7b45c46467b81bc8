"""A message's status over time: Bird's statuses as the sandbox gives them, the delays after
acceptance at which they change, and each message's timeline (worked out when the message is
read: no thread moves messages along, and a sandbox in a process of its own behaves the same).
How a message ends is fixed when it is accepted: delivered, or as its magic recipient says
(:mod:`.catalogue`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from airflow_provider_sms.bird.facts import MESSAGE_STATUSES

from .catalogue import FAILURES, MAGIC_RECIPIENTS, ODD_STATUSES

# The statuses the sandbox gives messages, all of them Bird's.
ACCEPTED, SCHEDULED, REJECTED = "accepted", "scheduled", "rejected"
PROCESSING, SENT, DELIVERED = "processing", "sent", "delivered"
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

# Seconds after a message is accepted (or, if it was scheduled for later, after its
# ``scheduledFor``) at which it becomes processing, sent and delivered. A magic recipient's
# message becomes sending_failed at the "sent" delay, delivery_failed at the "delivered" one.
DEFAULT_STATUS_DELAYS: Mapping[str, float] = MappingProxyType(
    {PROCESSING: 0.2, SENT: 0.5, DELIVERED: 1.0}
)
DELAY_NAMES = (PROCESSING, SENT, DELIVERED)


def timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, like Bird's ``2022-12-22T08:32:50.736Z``."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def check_delays(
    value: Any, current: tuple[float, float, float] | None
) -> tuple[float, float, float] | None:
    """``status_delays`` as (processing, sent, delivered) seconds, or None (no progression).
    A mapping may name some of the three: the others keep ``current`` (or the defaults)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(
            "status_delays must map processing, sent and delivered to seconds, or be null"
        )
    unknown = set(value) - set(DELAY_NAMES)
    if unknown:
        raise ValueError(
            f"unknown status_delays key(s): {', '.join(sorted(map(str, unknown)))} "
            f"(expected {', '.join(DELAY_NAMES)})"
        )
    delays = dict(zip(DELAY_NAMES, current or DEFAULT_STATUS_DELAYS.values(), strict=True))
    for name, seconds in value.items():
        if (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise ValueError(f"status_delays.{name} must be a non-negative number of seconds")
        delays[name] = float(seconds)
    processing, sent, delivered = (delays[name] for name in DELAY_NAMES)
    if not processing <= sent <= delivered:
        raise ValueError("status_delays must not decrease: processing <= sent <= delivered")
    return processing, sent, delivered


@functools.cache
def stages(outcome: str, delays: tuple[float, float, float]) -> tuple:
    """A message's timeline after acceptance: ``(offset, status, extra fields)`` in order.
    Shared by every message with the same outcome and delays."""
    processing, sent, delivered = delays
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
    return DELIVERED
