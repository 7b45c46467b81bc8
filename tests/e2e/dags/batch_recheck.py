"""300 recipients in batches of 100, checked. The first try's batches are accepted but the
listing that checks them fails, so Airflow retries; the retry checks them before skipping
anyone, and sends again to those Bird rejected (Bird accepts them by then)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG
from sandbox_control import control

from airflow_provider_sms.operators.sms import SendSmsOperator


def outage_over(context):
    control("DELETE", "faults")
    control("POST", "config", {"reject_recipients": []})


with DAG(dag_id="batch_recheck", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{52000000 + i}" for i in range(300)],
        text="Your parcel arrives today.",
        use_batch_api=True,
        check_batch_results=True,
        retries=1,
        retry_delay=timedelta(seconds=1),
        on_retry_callback=outage_over,
    )
