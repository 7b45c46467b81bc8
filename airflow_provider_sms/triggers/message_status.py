"""MessageStatusTrigger: waits in the triggerer until Bird reports every message final."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class MessageStatusTrigger(BaseTrigger):
    """Polls Bird for the status of `message_ids` (each got) and of the messages of
    `batch_ids` (each batch listed) every `poll_interval` seconds, until all are in a
    success or failure status, or until `end_time` (a UNIX time).

    Never blocks the event loop: each poll runs on a worker thread, through the same client
    (retries, 50 GET/s limit) the operators use. It only reads: nothing is ever sent.

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
        failure_statuses: Sequence[str] = ("delivery_failed", "sending_failed", "rejected"),
        poll_interval: float = 10.0,
        end_time: float | None = None,
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
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_sms.bird.status import Tally
        from airflow_provider_sms.hooks.bird import BirdHook

        tally = Tally(frozenset(self.success_statuses), frozenset(self.failure_statuses))
        hook = await BirdHook.aconnect(self.bird_conn_id)
        try:
            while True:
                await asyncio.to_thread(
                    hook.poll_statuses,
                    self.channel_id,
                    tally,
                    message_ids=self.message_ids,
                    batch_ids=self.batch_ids,
                )
                outcome = tally.outcome(self.message_ids, self.batch_ids)
                if outcome is not None:
                    yield TriggerEvent(outcome)
                    return
                summary = tally.summary(self.message_ids)
                if self.end_time is not None and time.time() >= self.end_time:
                    yield TriggerEvent({"status": "timeout", **summary})
                    return
                self.log.info(
                    "%d message(s) not final yet: %s", summary["total"], summary["pending"]
                )
                await asyncio.sleep(self.poll_interval)
        finally:
            hook.close()


def message_targets(value: Any) -> tuple[list[str], list[str]]:
    """``(message ids, batch ids)`` from what a send operator returned (its per-recipient
    list, or its summary with ``batch_ids``), a list of ids, or one id."""
    from airflow_provider_sms.bird.errors import InvalidMessageError

    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, dict):
        batch_ids = value.get("batch_ids")
        if not isinstance(batch_ids, list) or not batch_ids:
            raise InvalidMessageError(
                "message_ids",
                "a send summary without batch_ids names no message to follow; send with "
                "use_batch_api=True, or raise xcom_entries_limit to get the message ids",
            )
        return [], [str(b) for b in batch_ids]
    if not isinstance(value, list | tuple) or not value:
        raise InvalidMessageError(
            "message_ids", f"expected message ids or a send task's result, got {value!r:.80}"
        )
    message_ids: list[str] = []
    batch_ids: list[str] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            message_ids.append(item)
        elif isinstance(item, dict) and item.get("message_id"):
            message_ids.append(str(item["message_id"]))
        elif isinstance(item, dict) and item.get("batch_id"):
            batch_ids.append(str(item["batch_id"]))
        elif isinstance(item, dict) and item.get("status") == "failed":
            continue  # never sent: nothing to wait for
        else:
            raise InvalidMessageError(
                f"message_ids[{index}]", f"not a message id nor a send result: {item!r:.80}"
            )
    return list(dict.fromkeys(message_ids)), list(dict.fromkeys(batch_ids))


def conclude(event: dict[str, Any], log) -> dict:
    """The sensor's outcome from the trigger's (or a poke's) summary."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

    summary = {k: v for k, v in event.items() if k != "status"}
    if event.get("status") == "success":
        log.info("Every message reached a success status: %s", summary["counts"])
        return summary
    if event.get("status") == "timeout":
        pending = sum(summary["pending"].values())
        raise AirflowSensorTimeout(
            f"Timed out with {pending} message(s) still pending: {summary['pending']} "
            f"(all: {summary['counts']})"
        )
    lines = [f"{summary['failed']} of {summary['total']} message(s) failed: {summary['counts']}"]
    for failure in summary["failures"]:
        line = f"  {failure['message_id']} to {failure['recipient']}: {failure['status']}"
        if failure.get("reason"):
            line += f": {failure['reason']}"
        if failure.get("code") is not None:
            line += f" (failure code {failure['code']})"
        lines.append(line)
        log.error(line.strip())
    if summary["failed"] > len(summary["failures"]):
        lines.append(f"  ... and {summary['failed'] - len(summary['failures'])} more")
    raise AirflowFailException("\n".join(lines))
