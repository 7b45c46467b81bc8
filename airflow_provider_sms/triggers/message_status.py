"""MessageStatusTrigger: waits in the triggerer until Bird reports every message final."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_sms.bird.facts import DEFAULT_FAILURE_STATUSES, DEFAULT_SUCCESS_STATUSES
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.triggers.polling import cancelled_at, next_delay

# Seconds a batch may list no message before it counts as unknown (Bird lists a batch's
# messages once it has processed them, asynchronously).
EMPTY_BATCH_TIMEOUT = 300.0


class MessageStatusTrigger(BaseTrigger):
    """Polls Bird for the status of `message_ids` (each got) and of the messages of
    `batch_ids` (each batch listed) every `poll_interval` seconds, until all are in a
    success or failure status, or until `end_time` (a UNIX time).

    Never blocks the event loop: each poll runs on a worker thread, through the same client
    (retries, 50 GET/s limit) the operators use. It only reads: nothing is ever sent.

    Transient errors (5xx, 429, connection failures, after the client's own retries) do not
    end the wait: it polls again later, backing off, until `end_time`; no wait (not even a
    Retry-After) goes past `end_time`. A message Bird answers 404 for fails alone. A batch
    that lists no message for `empty_batch_timeout` seconds fails as such.

    Yields one event: ``{"status": "success" | "failure" | "timeout", **summary}`` where the
    summary counts messages by status and lists the first failures (recipients masked)."""

    def __init__(
        self,
        *,
        channel_id: str,
        message_ids: Sequence[str] = (),
        batch_ids: Sequence[str] = (),
        bird_conn_id: str = BirdHook.default_conn_name,
        success_statuses: Sequence[str] = DEFAULT_SUCCESS_STATUSES,
        failure_statuses: Sequence[str] = DEFAULT_FAILURE_STATUSES,
        poll_interval: float = 10.0,
        end_time: float | None = None,
        empty_batch_timeout: float = EMPTY_BATCH_TIMEOUT,
    ):
        super().__init__()
        self.channel_id = channel_id
        self.message_ids = list(message_ids)
        self.batch_ids = list(batch_ids)
        self.bird_conn_id = bird_conn_id
        self.success_statuses = list(success_statuses)
        self.failure_statuses = list(failure_statuses)
        self.poll_interval = poll_interval
        self.end_time = end_time
        self.empty_batch_timeout = empty_batch_timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "channel_id": self.channel_id,
                "message_ids": self.message_ids,
                "batch_ids": self.batch_ids,
                "bird_conn_id": self.bird_conn_id,
                "success_statuses": self.success_statuses,
                "failure_statuses": self.failure_statuses,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "empty_batch_timeout": self.empty_batch_timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_sms.bird.errors import BirdError, InvalidMessageError
        from airflow_provider_sms.bird.status import Tally
        from airflow_provider_sms.inbound.status import check_ids, say_unknown_statuses

        try:
            check_ids("message_ids", self.message_ids)
            check_ids("batch_ids", self.batch_ids)
        except InvalidMessageError as exc:
            yield TriggerEvent({"status": "error", "error": str(exc)})
            return
        tally = Tally(frozenset(self.success_statuses), frozenset(self.failure_statuses))
        started = time.time()
        hook = await BirdHook.aconnect(self.bird_conn_id)
        errors = 0  # polls in a row that failed
        last_error: str | None = None
        with cancelled_at(self.end_time) as cancel, contextlib.closing(hook):
            while True:
                message_ids, batch_ids = tally.to_read(self.message_ids, self.batch_ids)
                try:
                    reading = await asyncio.to_thread(
                        hook.poll_statuses,
                        self.channel_id,
                        message_ids=message_ids,
                        batch_ids=batch_ids,
                        cancel=cancel,
                    )
                    tally.absorb(reading)
                    errors, last_error = 0, None
                except BirdError as exc:
                    if not (exc.retryable or cancel.is_set()):
                        raise
                    errors += 1
                    last_error = str(exc)
                    if not cancel.is_set():
                        self.log.warning(
                            "Could not read the statuses (poll %d in a row to fail); the wait "
                            "goes on: %s",
                            errors,
                            exc,
                        )
                say_unknown_statuses(tally, self.log)
                empty = tally.empty_batches(self.batch_ids)
                if empty and not errors and time.time() - started >= self.empty_batch_timeout:
                    tally.give_up(empty)
                outcome = tally.outcome(self.message_ids, self.batch_ids)
                if outcome is not None:
                    yield TriggerEvent(outcome)
                    return
                summary = tally.summary(self.message_ids, self.batch_ids)
                now = time.time()
                if self.end_time is not None and (now >= self.end_time or cancel.is_set()):
                    if last_error:
                        summary["last_error"] = last_error
                    yield TriggerEvent({"status": "timeout", **summary})
                    return
                if not errors:
                    self.log.info(
                        "%d message(s) not final yet: %s", summary["total"], summary["pending"]
                    )
                delay = next_delay(self.poll_interval, errors, end_time=self.end_time, now=now)
                await asyncio.sleep(delay)
