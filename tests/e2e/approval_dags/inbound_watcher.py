"""An inbound watcher's DAG, for the test that Airflow 2 refuses it when the file is parsed,
naming the Airflow it needs (asset watchers arrived in 3.0)."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, Asset
from airflow.providers.standard.operators.empty import EmptyOperator

from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

watcher = InboundMessageTrigger(channel_id="9c8b7a6f-5e4d-4c3b-8a29-180706f5e4d3")

with DAG(
    dag_id="inbound_watcher",
    start_date=datetime(2026, 1, 1),
    schedule=[Asset("bird://inbound")],
    catchup=False,
):
    EmptyOperator(task_id="answer")
