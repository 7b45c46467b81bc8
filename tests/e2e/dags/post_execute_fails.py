"""A send that succeeds, then fails after execute() returned (in post_execute), so Airflow
retries a try whose messages all went out."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator


def fail_first_try(context, result):
    if context["ti"].try_number == 1:
        raise RuntimeError("something after the send failed")


with DAG(dag_id="post_execute_fails", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{40000000 + i}" for i in range(200)],
        # Renders differently on each try: the retry must still not send it again.
        text="Your parcel arrives today (notice {{ ti.try_number }}).",
        retries=1,
        retry_delay=timedelta(seconds=1),
        post_execute=fail_first_try,
    )
