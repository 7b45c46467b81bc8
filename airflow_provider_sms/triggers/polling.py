"""What the provider's triggers share while they poll Bird: a cancel signal set at their end
time (it ends the client's waits there: backoff, Retry-After, the rate limit), the pause
before the next poll, and events whose log lines mask numbers and texts."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_sms.redaction import mask_phone

# The longest pause between two polls while Bird answers with transient errors (unless the
# poll interval itself is longer).
MAX_BACKOFF = 300.0


@contextmanager
def cancelled_at(end_time: float | None) -> Iterator[threading.Event]:
    """An event set at `end_time` (a UNIX time; never for None), and set on leaving, so that
    a poll still running on a worker thread stops waiting. Needs a running event loop."""
    cancel = threading.Event()
    timer = None
    if end_time is not None:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(max(0.0, end_time - time.time()), cancel.set)
    try:
        yield cancel
    finally:
        if timer is not None:
            timer.cancel()
        cancel.set()


def next_delay(
    poll_interval: float, errors: int, *, end_time: float | None = None, now: float = 0.0
) -> float:
    """Seconds until the next poll: the interval, backing off after `errors` failed polls in
    a row, and never past `end_time`."""
    delay = poll_interval
    if errors:
        delay = min(max(poll_interval, MAX_BACKOFF), poll_interval * 2**errors)
    if end_time is not None:
        delay = min(delay, max(0.0, end_time - now))
    return delay


def mask_event(payload: Any) -> Any:
    """An event's payload as the triggerer's log may show it: each sender's number masked, a
    message's text (and a reply's comment) as its length, who answered as their masked name."""
    if not isinstance(payload, dict):
        return payload
    shown = {key: mask_event(value) for key, value in payload.items()}
    if isinstance(shown.get("from"), str):
        shown["from"] = mask_phone(shown["from"])
    if "message_id" in shown:  # a message
        for key in ("text", "comment"):
            if isinstance(shown.get(key), str):
                shown[key] = f"<{len(shown[key])} characters>"
    if isinstance(shown.get("responded_by_user"), dict):  # an approver: {"id": number, "name"}
        shown["responded_by_user"] = shown["responded_by_user"].get("name")
    return shown


class MaskedEvent(TriggerEvent):
    """A TriggerEvent carrying messages or numbers: the payload is whole, its text in the
    triggerer's log is `mask_event`'s."""

    def __repr__(self) -> str:
        return f"MaskedEvent<{mask_event(self.payload)!r}>"

    __str__ = __repr__
