"""A send of 1,000 SMS (three more recipients excluded), then a wait for their delivery: what
the metrics test watches."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.message_status import MessageStatusSensor

RECIPIENTS = [f"+316{20000000 + n}" for n in range(1003)]

with DAG(dag_id="measured_send", schedule=None, start_date=datetime(2026, 1, 1)):
    send = SendSmsOperator(
        task_id="send",
        recipients=RECIPIENTS,
        exclude_recipients=RECIPIENTS[-3:],
        xcom_entries_limit=2000,
        # Two segments each (GSM-7, over 160 characters).
        text="Your order has shipped. " * 7,
    )
    send >> MessageStatusSensor(
        task_id="delivered",
        deferrable=True,
        message_ids=send.output,
        poll_interval=1,
        timeout=120,
    )
