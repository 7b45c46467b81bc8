"""A bulk send slower than its execution_timeout: each try is killed part-way by Airflow and
the next try carries on where it stopped."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="bulk_send_timeout", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{30000000 + i}" for i in range(1000)],
        text="Your parcel arrives today between 10:00 and 12:00.",
        max_concurrency=8,
        retries=6,
        retry_delay=timedelta(seconds=1),
        execution_timeout=timedelta(seconds=3),
    )
