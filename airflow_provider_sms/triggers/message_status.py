"""MessageStatusTrigger: waits in the triggerer until Bird reports every message final."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

# Seconds a batch may list no message before it counts as unknown (Bird lists a batch's
# messages once it has processed them, asynchronously).
EMPTY_BATCH_TIMEOUT = 300.0
# The longest pause between two polls while Bird answers with transient errors.
MAX_BACKOFF = 300.0


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
        bird_conn_id: str = "bird_default",
        success_statuses: Sequence[str] = ("delivered",),
        failure_statuses: Sequence[str] = (
            "delivery_failed",
            "sending_failed",
            "rejected",
            "skipped",
            "deleted",
        ),
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
        from airflow_provider_sms.hooks.bird import BirdHook

        try:
            check_ids("message_ids", self.message_ids)
            check_ids("batch_ids", self.batch_ids)
        except InvalidMessageError as exc:
            yield TriggerEvent({"status": "error", "error": str(exc)})
            return
        tally = Tally(frozenset(self.success_statuses), frozenset(self.failure_statuses))
        started = time.time()
        # Set at end_time: ends the client's waits (backoff, Retry-After, rate limit) there.
        cancel = threading.Event()
        timer = None
        if self.end_time is not None:
            loop = asyncio.get_running_loop()
            timer = loop.call_later(max(0.0, self.end_time - time.time()), cancel.set)
        hook = await BirdHook.aconnect(self.bird_conn_id)
        errors = 0  # polls in a row that failed
        last_error: str | None = None
        try:
            while True:
                try:
                    await asyncio.to_thread(
                        hook.poll_statuses,
                        self.channel_id,
                        tally,
                        message_ids=self.message_ids,
                        batch_ids=self.batch_ids,
                        cancel=cancel,
                    )
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
                for status, count in tally.newly_unknown().items():
                    self.log.warning(
                        "Bird reports status %r, which the provider does not know, for %d "
                        "message(s): counted as pending",
                        status,
                        count,
                    )
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
                delay = self.poll_interval
                if errors:
                    delay = min(
                        max(self.poll_interval, MAX_BACKOFF), self.poll_interval * 2**errors
                    )
                if self.end_time is not None:
                    delay = min(delay, max(0.0, self.end_time - now))
                await asyncio.sleep(delay)
        finally:
            if timer is not None:
                timer.cancel()
            cancel.set()
            hook.close()


def check_ids(field: str, ids: Sequence[Any]) -> None:
    """Bird's message and batch ids are UUIDs: anything else is refused before polling."""
    for index, value in enumerate(ids):
        check_id(f"{field}[{index}]", value)


def check_id(field: str, value: Any) -> None:
    """`value` must be a UUID, as Bird's ids are; the error names `field` and the problem."""
    from airflow_provider_sms.bird.errors import InvalidMessageError
    from airflow_provider_sms.bird.facts import UUID_PATTERN

    if not isinstance(value, str):
        raise InvalidMessageError(
            field, f"expected a UUID, got {type(value).__name__} {value!r:.40}"
        )
    if not UUID_PATTERN.fullmatch(value):
        raise InvalidMessageError(field, f"expected a UUID, got {value!r:.80}")


def message_targets(value: Any) -> tuple[list[str], list[str]]:
    """``(message ids, batch ids)`` from what a send operator returned (its per-recipient
    list, or its summary with ``batch_ids``), a list of ids, or one id. Each id is checked
    (a UUID); recipients the send never sent to are left out (see :func:`unsent_of`)."""
    from airflow_provider_sms.bird.errors import InvalidMessageError

    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, dict):
        batch_ids = value.get("batch_ids")
        if not isinstance(batch_ids, list) or not batch_ids:
            if value.get("failed") and value.get("failed") == value.get("total"):
                raise InvalidMessageError(
                    "message_ids", f"the send sent nothing: all {value['failed']} failed"
                )
            raise InvalidMessageError(
                "message_ids",
                "a send summary without batch_ids names no message to follow; send with "
                "use_batch_api=True, or raise xcom_entries_limit to get the message ids",
            )
        check_ids("batch_ids", batch_ids)
        return [], list(dict.fromkeys(batch_ids))
    if not isinstance(value, list | tuple) or not value:
        raise InvalidMessageError(
            "message_ids", f"expected message ids or a send task's result, got {value!r:.80}"
        )
    message_ids: list[str] = []
    batch_ids: list[str] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            check_id(f"message_ids[{index}]", item)
            message_ids.append(item)
        elif isinstance(item, dict) and item.get("message_id"):
            check_id(f"message_ids[{index}].message_id", item["message_id"])
            message_ids.append(item["message_id"])
        elif isinstance(item, dict) and item.get("batch_id"):
            check_id(f"message_ids[{index}].batch_id", item["batch_id"])
            batch_ids.append(item["batch_id"])
        elif isinstance(item, dict) and item.get("status") == "failed":
            continue  # never sent: nothing to wait for (counted by unsent_of)
        else:
            raise InvalidMessageError(
                f"message_ids[{index}]", f"not a message id nor a send result: {item!r:.80}"
            )
    return list(dict.fromkeys(message_ids)), list(dict.fromkeys(batch_ids))


def unsent_of(value: Any) -> tuple[int, list[dict]]:
    """How many recipients a send operator's result reports never sent, and the first of
    them as failures (recipients masked): they count as failed, never as delivered."""
    from airflow_provider_sms.bird.status import unsent_of as count_unsent

    return count_unsent(value)


def _describe(failure: dict) -> str:
    if failure.get("batch_id"):
        line = f"  batch {failure['batch_id']}: {failure['status']}"
    elif failure.get("message_id"):
        line = f"  {failure['message_id']} to {failure['recipient']}: {failure['status']}"
    else:
        line = f"  to {failure['recipient']}: {failure['status']}"
    if failure.get("reason"):
        line += f": {failure['reason']}"
    if failure.get("code") is not None:
        line += f" (failure code {failure['code']})"
    return line


def conclude(event: dict[str, Any], log, unsent: tuple[int, Sequence[dict]] = (0, ())) -> dict:
    """The sensor's outcome from the trigger's (or a poke's) summary; `unsent` (from
    :func:`unsent_of`) counts as failed."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

    from airflow_provider_sms.bird.status import with_unsent

    if event.get("status") == "error":
        raise AirflowFailException(f"MessageStatusSensor: {event.get('error')}")
    event = with_unsent(event, unsent[0], unsent[1])
    summary = {k: v for k, v in event.items() if k != "status"}
    if event.get("status") == "success":
        log.info("Every message reached a success status: %s", summary["counts"])
        return summary
    if event.get("status") == "timeout":
        pending = sum(summary["pending"].values())
        text = (
            f"Timed out with {pending} message(s) still pending: {summary['pending']} "
            f"(all: {summary['counts']})"
        )
        if summary.get("empty_batches"):
            text += f"; batch(es) that listed no message: {', '.join(summary['empty_batches'])}"
        if summary.get("failed"):
            text += f"; {summary['failed']} failed"
        if summary.get("last_error"):
            text += f"; the last poll failed: {summary['last_error']}"
        raise AirflowSensorTimeout(text)
    if not summary["total"] and not summary["failed"]:
        raise AirflowFailException("Nothing to wait for: no message was named")
    lines = [f"{summary['failed']} of {summary['total']} message(s) failed: {summary['counts']}"]
    for failure in summary["failures"]:
        line = _describe(failure)
        lines.append(line)
        log.error(line.strip())
    if summary["failed"] > len(summary["failures"]):
        lines.append(f"  ... and {summary['failed'] - len(summary['failures'])} more")
    raise AirflowFailException("\n".join(lines))
