"""MessageStatusSensor: wait until Bird delivered what a send task sent.

Kept cheap to import (DAG files import it at parse time): the client loads when it runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_CONN_NAME, DEFAULT_PUSH_FALLBACK, compat
from airflow_provider_sms.bird.facts import DEFAULT_FAILURE_STATUSES, DEFAULT_SUCCESS_STATUSES
from airflow_provider_sms.compat import BaseSensorOperator, default_deferrable

if TYPE_CHECKING:
    from airflow.sdk import Context


class MessageStatusSensor(BaseSensorOperator):
    """Wait until Bird reports every message delivered; fail, naming each, when some fail.

    ``send >> MessageStatusSensor(task_id="wait", message_ids=send.output)``

    Deferrable by default: the waiting happens in the triggerer
    (:class:`~airflow_provider_sms.triggers.message_status.MessageStatusTrigger`), holding no
    worker slot. Nothing is ever sent.

    Returns (XCom) a summary whose size does not grow with the messages: ``{"total",
    "counts": {status: n}, "failed", "failures" (the first 20, recipients masked, with Bird's
    reason and failure code), "pending"}``.

    :param message_ids: message ids, or what a send operator returned: its per-recipient list
        or, for large batch sends, its summary with ``batch_ids`` (templated). Recipients the
        send reports not sent count as failed; a wait on nothing fails at once.
    :param channel_id: the channel the messages were sent on; default the connection's.
    :param bird_conn_id: the Bird connection id.
    :param success_statuses: statuses that count as delivered (compared case-insensitively).
    :param failure_statuses: statuses that count as failed; Bird's ``skipped`` and
        ``deleted`` always do unless listed as successes.
    :param deferrable: wait in the triggerer rather than on a worker; default Airflow's
        ``[operators] default_deferrable`` (False unless the deployment sets it).
    :param poll_interval: seconds between two looks at Bird's statuses; Airflow's
        ``poke_interval`` is accepted for it.
    :param empty_batch_timeout: seconds a batch may list no message before it fails as
        unknown.
    :param use_webhooks: when deferred, read the statuses Bird pushed to the webhook
        receiver (docs/webhooks.md) instead of asking Bird for each message; default: when
        the connection has a ``webhook_signing_secret``. Batches are always listed.
    :param push_fallback: seconds without a pushed status after which Bird is asked once
        (default 120), so that a missed webhook never hangs the wait.
    """

    template_fields: Sequence[str] = ("message_ids", "channel_id", "bird_conn_id")
    ui_color = "#fdf1e2"

    def __init__(
        self,
        *,
        message_ids: Any,
        channel_id: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        success_statuses: Sequence[str] = DEFAULT_SUCCESS_STATUSES,
        failure_statuses: Sequence[str] = DEFAULT_FAILURE_STATUSES,
        deferrable: bool | None = None,
        poll_interval: float | timedelta | None = None,
        empty_batch_timeout: float = 300.0,
        use_webhooks: bool | None = None,
        push_fallback: float = DEFAULT_PUSH_FALLBACK,
        **kwargs: Any,
    ):
        poke_interval = kwargs.pop("poke_interval", None)
        both = poll_interval is not None and poke_interval is not None
        if both and _seconds(poll_interval) != _seconds(poke_interval):
            raise ValueError(
                "MessageStatusSensor: poll_interval and poke_interval name the same "
                f"setting; give one (got {poll_interval!r} and {poke_interval!r})"
            )
        interval = poll_interval if poll_interval is not None else poke_interval
        super().__init__(poke_interval=10.0 if interval is None else interval, **kwargs)
        self.message_ids = message_ids
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.success_statuses = tuple(success_statuses)
        self.failure_statuses = tuple(failure_statuses)
        self.deferrable = default_deferrable(deferrable)
        self.poll_interval = _seconds(self.poke_interval)
        self.empty_batch_timeout = empty_batch_timeout
        if use_webhooks:
            compat.require("use_webhooks")
        self.use_webhooks = use_webhooks
        self.push_fallback = push_fallback

    def _resolve(self) -> tuple[str, list[str], list[str], tuple[int, list[dict]]]:
        from airflow_provider_sms.bird.errors import BirdError, InvalidMessageError
        from airflow_provider_sms.compat import AirflowFailException
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.outbound.result import SendResult

        try:
            sent = SendResult.read(self.message_ids, "message_ids")
            message_ids, batch_ids = sent.targets()
            unsent = sent.unsent()
            if not (message_ids or batch_ids):
                if unsent[0]:
                    raise InvalidMessageError(
                        "message_ids",
                        f"the send sent nothing: all {unsent[0]} recipient(s) failed",
                    )
                raise InvalidMessageError("message_ids", "no message to wait for")
            channel = BirdHook(self.bird_conn_id).channel_id(self.channel_id)
        except (InvalidMessageError, BirdError) as exc:
            raise AirflowFailException(f"MessageStatusSensor: {exc}") from None
        return channel, message_ids, batch_ids, unsent

    def _say_unsent(self, unsent: tuple[int, list[dict]]) -> None:
        if unsent[0]:
            self.log.warning(
                "%d recipient(s) were never sent (the send reported them failed): they count "
                "as failed",
                unsent[0],
            )

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_sms.triggers.message_status import defer_until_final

        channel, message_ids, batch_ids, unsent = self._resolve()
        self._say_unsent(unsent)
        defer_until_final(
            self,
            channel,
            message_ids,
            batch_ids,
            timeout=self.timeout,
            method_name="execute_complete",
            success_statuses=self.success_statuses,
            failure_statuses=self.failure_statuses,
            poll_interval=self.poll_interval,
            empty_batch_timeout=self.empty_batch_timeout,
            use_webhooks=self.use_webhooks,
            push_fallback=self.push_fallback,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict:
        from airflow_provider_sms import metrics
        from airflow_provider_sms.inbound.status import conclude
        from airflow_provider_sms.outbound.result import SendResult

        return conclude(
            event,
            self.log,
            SendResult.read(self.message_ids, "message_ids").unsent(),
            tags=metrics.tags(None, self.bird_conn_id, context),
        )

    def poke(self, context: Context):
        from airflow_provider_sms import metrics
        from airflow_provider_sms.bird.errors import BirdError
        from airflow_provider_sms.bird.status import Tally
        from airflow_provider_sms.compat import PokeReturnValue
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.inbound.status import conclude, say_unknown_statuses

        channel, message_ids, batch_ids, unsent = self._resolve()
        # Kept on the sensor between pokes (mode="poke"): unknown statuses are named once,
        # and an empty batch's grace time counts from the first poke.
        reported = self.__dict__.setdefault("_reported_statuses", set())
        first_poke = self.__dict__.setdefault("_first_poke", time.monotonic())
        tally = Tally(
            frozenset(self.success_statuses), frozenset(self.failure_statuses), reported=reported
        )
        try:
            with BirdHook(self.bird_conn_id, pool_size=4) as hook:
                tally.absorb(
                    hook.poll_statuses(channel, message_ids=message_ids, batch_ids=batch_ids)
                )
        except BirdError as exc:
            if not exc.retryable:
                raise
            self.log.warning("Could not read the statuses; trying again later: %s", exc)
            return False
        say_unknown_statuses(tally, self.log)
        empty = tally.empty_batches(batch_ids)
        if empty and time.monotonic() - first_poke >= self.empty_batch_timeout:
            tally.give_up(empty)
        outcome = tally.outcome(message_ids, batch_ids)
        if outcome is None:
            pending = tally.summary(message_ids, batch_ids)
            self.log.info("Not final yet: %s", pending["pending"])
            if pending.get("scheduled"):
                self.log.info(
                    "%(count)d message(s) still scheduled, due %(first_due)s to %(last_due)s",
                    pending["scheduled"],
                )
            return False
        self._say_unsent(unsent)
        tags = metrics.tags(None, self.bird_conn_id, context)
        return PokeReturnValue(
            is_done=True, xcom_value=conclude(outcome, self.log, unsent, tags=tags)
        )


def _seconds(interval: float | timedelta) -> float:
    return interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
