"""A plain send of 300 SMS, for runs where the host's shared rate slots cannot be used."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="shared_slots_send", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{30000000 + i}" for i in range(300)],
        text="Your parcel arrives today between 10:00 and 12:00.",
        max_concurrency=16,
    )
