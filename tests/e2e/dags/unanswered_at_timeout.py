"""Bird accepts each message but answers after 3 s; the client waits 2 s for an answer and
Airflow cuts the try off after 1 s. The retry must find the accepted messages in Bird."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator


def answer_promptly(context):
    # The sandbox's control API: Bird answers at once again by the retry.
    host = json.loads(os.environ["AIRFLOW_CONN_BIRD_DEFAULT"])["host"]
    request = urllib.request.Request(
        f"{host}/_sandbox/config",
        data=json.dumps({"latency": 0}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


with DAG(dag_id="unanswered_at_timeout", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{50000000 + i}" for i in range(20)],
        text="Your parcel arrives today.",
        max_concurrency=20,
        retries=2,
        retry_delay=timedelta(seconds=1),
        execution_timeout=timedelta(seconds=1),
        on_retry_callback=answer_promptly,
    )
