"""Bird's webhooks in a deployment: a DAG run on each inbound SMS pushed to the receiver, and
status waits reading the pushed statuses of 1,000 messages."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.message_status import MessageStatusSensor
from airflow_provider_sms.webhooks import bird_asset

START = datetime(2026, 1, 1)


@task
def count(triggering_asset_events=None) -> int:
    return sum(len(events) for events in (triggering_asset_events or {}).values())


with DAG(dag_id="on_inbound_push", schedule=[bird_asset("sms.inbound")], start_date=START):
    count()

RECIPIENTS = [f"+316{27000000 + i}" for i in range(1000)]
for dag_id, fallback in (("statuses_pushed", 120.0), ("statuses_withheld", 5.0)):
    with DAG(dag_id=dag_id, schedule=None, start_date=START):
        send = SendSmsOperator(
            task_id="send",
            recipients=RECIPIENTS,
            text="Your parcel arrives today.",
            xcom_entries_limit=1000,
        )
        send >> MessageStatusSensor(
            task_id="wait",
            deferrable=True,
            message_ids=send.output,
            poll_interval=1,
            push_fallback=fallback,
            timeout=300,
        )
