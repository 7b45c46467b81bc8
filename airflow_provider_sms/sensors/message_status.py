"""MessageStatusSensor: wait until Bird delivered what a send task sent.

Kept cheap to import (DAG files import it at parse time): the client loads when it runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

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
        or, for large batch sends, its summary with ``batch_ids`` (templated).
    :param channel_id: the channel the messages were sent on; default the connection's.
    :param bird_conn_id: the Bird connection id.
    :param success_statuses: statuses that count as delivered.
    :param failure_statuses: statuses that count as failed.
    :param deferrable: wait in the triggerer (default) rather than on a worker.
    :param poll_interval: seconds between two looks at Bird's statuses.
    """

    template_fields: Sequence[str] = ("message_ids", "channel_id", "bird_conn_id")
    ui_color = "#fdf1e2"

    def __init__(
        self,
        *,
        message_ids: Any,
        channel_id: str | None = None,
        bird_conn_id: str = "bird_default",
        success_statuses: Sequence[str] = ("delivered",),
        failure_statuses: Sequence[str] = ("delivery_failed", "sending_failed", "rejected"),
        deferrable: bool = True,
        poll_interval: float = 10.0,
        **kwargs: Any,
    ):
        super().__init__(poke_interval=poll_interval, **kwargs)
        self.message_ids = message_ids
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.success_statuses = tuple(success_statuses)
        self.failure_statuses = tuple(failure_statuses)
        self.deferrable = deferrable
        self.poll_interval = poll_interval

    def _resolve(self) -> tuple[str, list[str], list[str]]:
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_sms.bird.errors import BirdError, InvalidMessageError
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.triggers.message_status import message_targets

        try:
            message_ids, batch_ids = message_targets(self.message_ids)
            channel = BirdHook(self.bird_conn_id).channel_id(self.channel_id)
        except (InvalidMessageError, BirdError) as exc:
            raise AirflowFailException(f"MessageStatusSensor: {exc}") from None
        return channel, message_ids, batch_ids

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_sms.triggers.message_status import MessageStatusTrigger

        channel, message_ids, batch_ids = self._resolve()
        self.log.info(
            "Waiting for %d message(s) and %d batch(es) on channel %s, in the triggerer",
            len(message_ids),
            len(batch_ids),
            channel,
        )
        self.defer(
            trigger=MessageStatusTrigger(
                channel_id=channel,
                message_ids=message_ids,
                batch_ids=batch_ids,
                bird_conn_id=self.bird_conn_id,
                success_statuses=self.success_statuses,
                failure_statuses=self.failure_statuses,
                poll_interval=self.poll_interval,
                end_time=time.time() + self.timeout,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict:
        from airflow_provider_sms.triggers.message_status import conclude

        return conclude(event, self.log)

    def poke(self, context: Context):
        from airflow.sdk import PokeReturnValue

        from airflow_provider_sms.bird.status import Tally
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.triggers.message_status import conclude

        channel, message_ids, batch_ids = self._resolve()
        tally = Tally(frozenset(self.success_statuses), frozenset(self.failure_statuses))
        with BirdHook(self.bird_conn_id, pool_size=4) as hook:
            hook.poll_statuses(channel, tally, message_ids=message_ids, batch_ids=batch_ids)
        outcome = tally.outcome(message_ids, batch_ids)
        if outcome is None:
            self.log.info("Not final yet: %s", tally.summary(message_ids)["pending"])
            return False
        return PokeReturnValue(is_done=True, xcom_value=conclude(outcome, self.log))
