"""3,000 recipients in one task, whose process the test kills without warning part-way: as
is (`killed_send`), and with its `retries` edited in this file by the test before the
scheduler retries it (`retries_edited_send`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

# dag_id: (first number, SendSmsOperator's retry arguments)
SENDS = {
    "killed_send": (25000000, {"retries": 2, "retry_delay": timedelta(seconds=2)}),
    "retries_edited_send": (26000000, {"retries": 3, "retry_delay": timedelta(seconds=15)}),
}

for dag_id, (first, retrying) in SENDS.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1)):
        SendSmsOperator(
            task_id="send",
            recipients=[f"+316{first + i}" for i in range(3000)],
            text="Your parcel arrives today between 10:00 and 12:00.",
            max_concurrency=8,
            **retrying,
        )
