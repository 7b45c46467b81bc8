"""SmsNotifier: text someone when a task or DAG run fails, succeeds or misses a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context


class SmsNotifier(BaseNotifier):
    """Send an SMS through Bird from a callback.

    ``on_failure_callback=SmsNotifier(recipients="+31612345678",
    text="{{ ti.dag_id }}.{{ ti.task_id }} failed on {{ ds }}")``

    Recipients, validation, error handling and masking are those of
    :class:`~airflow_provider_sms.operators.sms.SendSmsOperator`; a failed send raises, so the
    callback's failure shows in the logs.

    :param recipients: a phone number, a list of them, or a comma-separated string (templated).
    :param text: the message text (templated).
    :param channel_id: the Bird SMS channel; defaults to the connection's ``channel_id``.
    :param bird_conn_id: the Bird connection id.
    :param default_region: region (e.g. ``"NL"``) for numbers written without a country code.
    """

    template_fields: Sequence[str] = ("recipients", "text", "channel_id", "bird_conn_id")

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        text: str,
        channel_id: str | None = None,
        bird_conn_id: str = "bird_default",
        default_region: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.recipients = recipients
        self.text = text
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.default_region = default_region

    def notify(self, context: Context) -> None:
        from airflow_provider_sms.operators._delivery import run_send
        from airflow_provider_sms.operators.sms import SendSmsOperator

        # The operator's own send path, without its per-task-instance retry bookkeeping:
        # a callback runs once per event.
        sender = SendSmsOperator(
            task_id="sms_notifier",
            recipients=self.recipients,
            text=self.text,
            channel_id=self.channel_id,
            bird_conn_id=self.bird_conn_id,
            default_region=self.default_region,
            max_concurrency=4,
        )
        run_send(sender, {}, remember_sent=False)

    async def async_notify(self, context: Context) -> None:
        # The client is synchronous; a worker thread keeps the triggerer's loop free.
        await asyncio.to_thread(self.notify, context)


send_sms_notification = SmsNotifier
