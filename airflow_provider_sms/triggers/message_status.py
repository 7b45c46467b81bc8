"""MessageStatusTrigger: waits in the triggerer until Bird reports every message final."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_PUSH_FALLBACK
from airflow_provider_sms.bird.facts import DEFAULT_FAILURE_STATUSES, DEFAULT_SUCCESS_STATUSES
from airflow_provider_sms.compat import TriggerEvent
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.triggers.polling import PollingTrigger

if TYPE_CHECKING:
    import threading

    from airflow_provider_sms.bird.errors import BirdError
    from airflow_provider_sms.inbound.pushes import PushedWait

# Seconds a batch may list no message before it counts as unknown (Bird lists a batch's
# messages once it has processed them, asynchronously).
EMPTY_BATCH_TIMEOUT = 300.0
# A wait reading pushed statuses reads those pushed since this long before it began.
PUSH_LOOKBACK = 600.0


class MessageStatusTrigger(PollingTrigger):
    """Polls Bird for the status of `message_ids` (each got) and of the messages of
    `batch_ids` (each batch listed) every `poll_interval` seconds, until all are in a
    success or failure status, or until `end_time` (a UNIX time). It only reads.

    Transient errors (5xx, 429, connection failures) do not end the wait (`PollingTrigger`).
    A message Bird answers 404 for fails alone; a batch that lists no message for
    `empty_batch_timeout` seconds fails as such.

    Yields one event: ``{"status": "success" | "failure" | "timeout", **summary}`` where the
    summary counts messages by status and lists the first failures (recipients masked).

    :param channel_id: the Bird channel the messages were sent on.
    :param message_ids: the messages to follow.
    :param batch_ids: batches whose messages to follow (each listed).
    :param bird_conn_id: the Bird connection id.
    :param success_statuses: the statuses that count as delivered (default ``delivered``).
    :param failure_statuses: the statuses that count as failed (default Bird's failures).
    :param poll_interval: seconds between polls (default 10).
    :param end_time: when to give up, a UNIX time (None: never).
    :param empty_batch_timeout: seconds a batch may list no message before it fails.
    :param use_webhooks: read the statuses Bird pushed to the webhook receiver rather than
        ask Bird for them (None: when the connection has a ``webhook_signing_secret``).
    :param push_fallback: seconds without a pushed status for a pending message (or a
        receiver that cannot be read) after which Bird is asked once, so that a missed
        webhook never hangs the wait.
    """

    fields = (
        "channel_id",
        "message_ids",
        "batch_ids",
        "bird_conn_id",
        "success_statuses",
        "failure_statuses",
        "poll_interval",
        "end_time",
        "empty_batch_timeout",
        "use_webhooks",
        "push_fallback",
    )
    polling = "read the statuses"

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
        use_webhooks: bool | None = None,
        push_fallback: float = DEFAULT_PUSH_FALLBACK,
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
        self.use_webhooks = use_webhooks
        self.push_fallback = push_fallback
        self._pushes: PushedWait | None = None

    async def start(self) -> TriggerEvent | None:
        from airflow_provider_sms.bird.errors import InvalidMessageError
        from airflow_provider_sms.bird.status import Tally
        from airflow_provider_sms.inbound.status import check_ids

        try:
            check_ids("message_ids", self.message_ids)
            check_ids("batch_ids", self.batch_ids)
        except InvalidMessageError as exc:
            return TriggerEvent({"status": "error", "error": str(exc)})
        self._tally = Tally(frozenset(self.success_statuses), frozenset(self.failure_statuses))
        self._started = time.time()
        return None

    def poll(self, hook: BirdHook, cancel: threading.Event) -> None:
        message_ids, batch_ids = self._tally.to_read(self.message_ids, self.batch_ids)
        if message_ids and not batch_ids and self._read_pushes(hook, message_ids):
            return
        reading = hook.poll_statuses(
            self.channel_id, message_ids=message_ids, batch_ids=batch_ids, cancel=cancel
        )
        self._tally.absorb(reading)

    def _read_pushes(self, hook: BirdHook, message_ids: list[str]) -> bool:
        """Take the statuses pushed since the last read; whether that will do for this poll
        (False: ask Bird, as pushes are off, or none came for `push_fallback` seconds)."""
        if self._pushes is None:
            self._pushes = self.pushed_wait("sms.outbound", since=self._started - PUSH_LOOKBACK)
        pushed = self._pushes.read(hook)
        if pushed is None:
            return False
        wanted = set(message_ids)
        taken = [m for m in pushed if m.get("id") in wanted]
        for message in taken:
            self._tally.take(message)
        if taken:
            self._pushes.heard()
        if not self._pushes.bird_due():
            return True
        self.log.warning(
            "No pushed status for %d pending message(s) in %.0f s: asking Bird",
            len(self._tally.to_read(self.message_ids, ())[0]),
            self.push_fallback,
        )
        return False

    async def conclude(
        self, found: None, error: BirdError | None, ended: bool
    ) -> TriggerEvent | None:
        from airflow_provider_sms.inbound.status import say_unknown_statuses

        tally = self._tally
        say_unknown_statuses(tally, self.log)
        empty = tally.empty_batches(self.batch_ids)
        if empty and error is None and time.time() - self._started >= self.empty_batch_timeout:
            tally.give_up(empty)
        outcome = tally.outcome(self.message_ids, self.batch_ids)
        if outcome is not None:
            return TriggerEvent(outcome)
        summary = tally.summary(self.message_ids, self.batch_ids)
        if ended:
            if error is not None:
                summary["last_error"] = str(error)
            return TriggerEvent({"status": "timeout", **summary})
        if error is None:
            self.log.info("%d message(s) not final yet: %s", summary["total"], summary["pending"])
        return None


def defer_until_final(
    task: Any,
    channel_id: str,
    message_ids: Sequence[str],
    batch_ids: Sequence[str],
    *,
    timeout: float,
    method_name: str,
    **options: Any,
) -> None:
    """Defer `task` (a send with `wait_for_delivery`, or `MessageStatusSensor`) to a
    `MessageStatusTrigger` on its connection, for at most `timeout` seconds; `options` are
    the trigger's other arguments."""
    task.log.info(
        "Waiting in the triggerer for %d message(s) and %d batch(es) on channel %s to reach "
        "a final status",
        len(message_ids),
        len(batch_ids),
        channel_id,
    )
    trigger = MessageStatusTrigger(
        channel_id=channel_id,
        message_ids=message_ids,
        batch_ids=batch_ids,
        bird_conn_id=task.bird_conn_id,
        end_time=time.time() + timeout,
        **options,
    )
    task.defer(trigger=trigger, method_name=method_name)
