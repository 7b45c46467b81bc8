"""SmsNotifier: text someone when a task or DAG run fails, succeeds or misses a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context


# Alerts go to a handful of people.
_MAX_CONCURRENCY = 4


def _reference_seed(context: Any) -> tuple | None:
    """An alert's references derive from the task instance (or DAG run) it is about, and the
    try, so each alert can be found in Bird, apart from what the task itself sends."""
    from airflow_provider_sms.model import task_seed

    context = context or {}
    ti, dag_run = context.get("ti"), context.get("dag_run")
    if getattr(ti, "run_id", None) and getattr(ti, "dag_id", None):
        return task_seed(
            ti.dag_id,
            ti.run_id,
            getattr(ti, "task_id", ""),
            getattr(ti, "map_index", -1),
            "notification",
            getattr(ti, "try_number", 0),
        )
    if getattr(dag_run, "run_id", None) and getattr(dag_run, "dag_id", None):
        return task_seed(dag_run.dag_id, dag_run.run_id, "", -1, "notification")
    return None


class SmsNotifier(BaseNotifier):
    """Send an SMS through Bird from a callback.

    ``on_failure_callback=SmsNotifier(recipients="+31612345678",
    text="{{ ti.dag_id }}.{{ ti.task_id }} failed on {{ ds }}")``

    Recipients, validation and masking are those of
    :class:`~airflow_provider_sms.operators.sms.SendSmsOperator`. Each message carries a
    reference derived from the task instance (or DAG run) and try the callback is about, so
    it can be found in Bird. When Bird refuses any recipient, the notifier raises with a
    summary, so the callback's failure shows in the logs.

    :param recipients: a phone number, a list of them, or a comma-separated string (templated).
    :param text: the message text (templated).
    :param channel_id: the Bird SMS channel; defaults to the connection's ``channel_id``.
    :param bird_conn_id: the Bird connection id.
    :param default_region: region (e.g. ``"NL"``) for numbers written without a country code.
    :param allow_premium_numbers: send to premium-rate and shared-cost numbers too.
    :param allowed_regions: ISO 3166 region codes; recipients elsewhere are refused.
    :param max_segments: the most SMS segments the alert may take (default 10).
    :param dry_run: render and check, log what would be sent (numbers masked), send nothing.
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
        allow_premium_numbers: bool = False,
        allowed_regions: Sequence[str] | None = None,
        max_segments: int = 10,
        dry_run: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.allow_premium_numbers = allow_premium_numbers
        self.allowed_regions = allowed_regions
        self.max_segments = max_segments
        self.dry_run = dry_run
        self.recipients = recipients
        self.text = text
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.default_region = default_region

    def notify(self, context: Context) -> None:
        from airflow.sdk.exceptions import AirflowException

        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.model import Outgoing, sms_body
        from airflow_provider_sms.operators import _delivery as delivery

        with BirdHook(self.bird_conn_id, pool_size=_MAX_CONCURRENCY) as hook:
            with delivery.invalid_input("SMS"):
                body, _ = sms_body(self.text, max_segments=self.max_segments)
                outgoing = Outgoing.build(
                    kind="SMS",
                    recipients=self.recipients,
                    default_region=self.default_region,
                    channel_id=hook.channel_id(self.channel_id),
                    content={"body": body},
                    reference_seed=_reference_seed(context),
                    allow_premium_numbers=self.allow_premium_numbers,
                    allowed_regions=self.allowed_regions,
                )
            if self.dry_run:
                delivery.preview(outgoing, log=self.log)
                return
            report = hook.send(outgoing, max_concurrency=_MAX_CONCURRENCY)
        # A callback runs once per event: nothing to remember for a retry, but a refusal must
        # show in the logs.
        if not report.ok:
            raise AirflowException(f"SmsNotifier: {delivery.summary(outgoing.kind, report)}")
        self.log.info(
            "SmsNotifier: Bird accepted the SMS for %d recipient(s)", len(report.accepted)
        )

    async def async_notify(self, context: Context) -> None:
        # The client is synchronous; a worker thread keeps the triggerer's loop free.
        await asyncio.to_thread(self.notify, context)


send_sms_notification = SmsNotifier
