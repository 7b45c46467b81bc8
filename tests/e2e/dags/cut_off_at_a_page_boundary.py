"""1,000 recipients, one request at a time, so that a send Bird never answers (a `hang` fault
the test queues after N messages) leaves exactly N accepted when Airflow cuts the try off,
and the rest of the 1,000 in flight. The retry lists the channel's N messages (a whole
number of pages when N is a multiple of 100) to settle those in flight, then sends to them
one at a time: the timeout leaves it room for that on a busy machine."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="cut_off_at_a_page_boundary", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{54000000 + i}" for i in range(1000)],
        text="Your parcel arrives today.",
        max_concurrency=1,
        retries=1,
        retry_delay=timedelta(seconds=1),
        execution_timeout=timedelta(seconds=30),
    )
