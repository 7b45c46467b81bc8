"""Every send hangs; Airflow cuts the try off after 3 s, which must end it within seconds."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="hung_sends", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{60000000 + i}" for i in range(20)],
        text="Your parcel arrives today.",
        max_concurrency=4,
        retries=0,
        execution_timeout=timedelta(seconds=3),
    )
