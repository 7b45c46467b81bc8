"""3,000 recipients in one task, whose process the test kills without warning part-way."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="killed_send", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{25000000 + i}" for i in range(3000)],
        text="Your parcel arrives today between 10:00 and 12:00.",
        max_concurrency=8,
        retries=2,
        retry_delay=timedelta(seconds=2),
    )
