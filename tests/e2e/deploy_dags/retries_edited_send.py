"""3,000 recipients in one task, whose process the test kills part-way and whose `retries`
the test then edits in this file before the scheduler retries it."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="retries_edited_send", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{26000000 + i}" for i in range(3000)],
        text="Your parcel arrives today between 10:00 and 12:00.",
        max_concurrency=8,
        retries=3,
        retry_delay=timedelta(seconds=15),
    )
