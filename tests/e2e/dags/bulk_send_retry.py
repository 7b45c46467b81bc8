"""A bulk send whose first try meets a Bird outage part-way; the outage is over by the retry."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.operators.sms import SendSmsOperator


def end_outage(context):
    # The sandbox's control API: drop the injected faults before the retry starts.
    host = json.loads(os.environ["AIRFLOW_CONN_BIRD_DEFAULT"])["host"]
    request = urllib.request.Request(f"{host}/_sandbox/faults", method="DELETE")
    urllib.request.urlopen(request, timeout=5).close()


with DAG(dag_id="bulk_send_retry", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def customers() -> list[str]:
        return [f"+316{20000000 + i}" for i in range(1000)]

    SendSmsOperator(
        task_id="send",
        recipients=customers(),
        text="Your parcel arrives today between 10:00 and 12:00.",
        retries=1,
        retry_delay=timedelta(seconds=1),
        on_retry_callback=end_outage,
    )
