"""1,000 recipients on a channel with a long past. Bird accepts each message but answers after
30 s; Airflow cuts the first try off after 10 s, with 8 sends accepted and unanswered. The
retry (Bird prompt again) must find those 8 in Bird, however Bird lists the channel."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator


def answer_promptly(context):
    host = json.loads(os.environ["AIRFLOW_CONN_BIRD_DEFAULT"])["host"]
    request = urllib.request.Request(
        f"{host}/_sandbox/config",
        data=json.dumps({"latency": 0}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


with DAG(dag_id="unanswered_behind_history", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=[f"+316{51000000 + i}" for i in range(1000)],
        text="Your parcel arrives today.",
        max_concurrency=8,
        retries=1,
        retry_delay=timedelta(seconds=1),
        execution_timeout=timedelta(seconds=10),
        on_retry_callback=answer_promptly,
    )
