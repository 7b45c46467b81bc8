"""A bulk send whose process is killed without warning part-way (SIGKILL, by the test); the
task instance is then run again in the same DAG run."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="bulk_send_killed", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{23000000 + i}" for i in range(1000)],
        text="Your parcel arrives today between 10:00 and 12:00.",
        max_concurrency=8,
        retries=2,
        retry_delay=timedelta(seconds=1),
    )
