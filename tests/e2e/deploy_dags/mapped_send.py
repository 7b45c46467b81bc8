"""20,000 recipients mapped over 4 send tasks that run at once against one Bird workspace."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.operators.chunks import recipient_chunks
from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="mapped_send", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def customers(count: int = 20000) -> list[str]:
        return [f"+316{24000000 + i}" for i in range(count)]

    SendSmsOperator.partial(
        task_id="send",
        text="Your parcel arrives today between 10:00 and 12:00.",
        retries=2,
        retry_delay=timedelta(seconds=2),
    ).expand(recipients=recipient_chunks(customers(), size=5000))
