"""ReplyTrigger: waits in the triggerer for a reply from given numbers (ReplySensor)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_sms import DEFAULT_CONN_NAME
from airflow_provider_sms.triggers.polling import MaskedEvent, cancelled_at, next_delay


class ReplyTrigger(BaseTrigger):
    """Polls `channel_id` every `poll_interval` seconds for an inbound message from one of
    `from_numbers` (E.164) created at or after `after` (UNIX time) whose text matches
    `pattern`, until `end_time` (UNIX time).

    Yields one event: ``{"status": "success", "reply": {...}}`` (the message as
    ``bird.incoming.inbound_message`` shapes it), ``{"status": "timeout", "seen": {...}}``
    (counts of the other messages it looked at), or ``{"status": "error", "error": ...}``.
    Never blocks the event loop: each poll runs on a worker thread and reads at most
    ``bird.incoming.MAX_PAGES`` pages, going on where the last one stopped. Restarted, it
    looks again from `after`, so it finds the same first reply."""

    def __init__(
        self,
        *,
        channel_id: str,
        from_numbers: Sequence[str],
        after: float,
        pattern: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        poll_interval: float = 10.0,
        end_time: float | None = None,
    ):
        super().__init__()
        self.channel_id = channel_id
        self.from_numbers = list(from_numbers)
        self.after = after
        self.pattern = pattern
        self.bird_conn_id = bird_conn_id
        self.poll_interval = poll_interval
        self.end_time = end_time

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "channel_id": self.channel_id,
                "from_numbers": self.from_numbers,
                "after": self.after,
                "pattern": self.pattern,
                "bird_conn_id": self.bird_conn_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_sms.bird.errors import BirdError, InvalidMessageError
        from airflow_provider_sms.bird.incoming import Cursor
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.inbound.replies import Seen, look_for_reply, wanted_replies

        try:
            wanted = wanted_replies(self.from_numbers, self.pattern)
        except InvalidMessageError as exc:
            yield TriggerEvent({"status": "error", "error": str(exc)})
            return
        cursor, seen = Cursor.since(self.after), Seen()
        hook = await BirdHook.aconnect(self.bird_conn_id)
        errors = 0
        with cancelled_at(self.end_time) as cancel, contextlib.closing(hook):
            while True:
                try:
                    reply, cursor = await asyncio.to_thread(
                        look_for_reply, hook, self.channel_id, cursor, wanted, seen, cancel=cancel
                    )
                    errors = 0
                except BirdError as exc:
                    if not (exc.retryable or cancel.is_set()):
                        yield TriggerEvent({"status": "error", "error": str(exc)})
                        return
                    errors += 1
                    reply = None
                    if not cancel.is_set():
                        self.log.warning(
                            "Could not look for replies (poll %d in a row to fail): %s",
                            errors,
                            exc,
                        )
                if reply is not None:
                    yield MaskedEvent({"status": "success", "reply": reply})
                    return
                now = time.time()
                if self.end_time is not None and (now >= self.end_time or cancel.is_set()):
                    yield TriggerEvent(
                        {"status": "timeout", "seen": seen.as_dict(), "text": seen.describe(wanted)}
                    )
                    return
                delay = next_delay(self.poll_interval, errors, end_time=self.end_time, now=now)
                await asyncio.sleep(delay)
