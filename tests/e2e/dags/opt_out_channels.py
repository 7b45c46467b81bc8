"""A campaign on the one-way SMS channel whose opt-outs are read on the connection's default
channel (a plausible slip), and the same read on the campaign's own channel: the next send
must never reach the number that opted out."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.interactions import MessageInteractionsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.message_status import MessageStatusSensor
from bird_sandbox.catalogue import REPLIES_STOP_US, SMS_CHANNEL_ID

CUSTOMERS = [REPLIES_STOP_US, "+12025550160"]

for dag_id, report_channel in [
    ("opt_out_report_on_default_channel", None),
    ("opt_out_report_on_campaign_channel", SMS_CHANNEL_ID),
]:
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1)):
        campaign = SendSmsOperator(
            task_id="campaign",
            recipients=CUSTOMERS,
            channel_id=SMS_CHANNEL_ID,
            text="Winter sale: https://shop.example/sale Reply STOP to opt out.",
        )
        delivered = MessageStatusSensor(
            task_id="delivered",
            deferrable=True,
            message_ids=campaign.output,
            channel_id=SMS_CHANNEL_ID,
            poll_interval=1,
            timeout=60,
        )
        report = MessageInteractionsOperator(
            task_id="report", messages=campaign.output, channel_id=report_channel
        )
        reminder = SendSmsOperator(
            task_id="reminder",
            recipients=CUSTOMERS,
            channel_id=SMS_CHANNEL_ID,
            exclude_recipients=report.output,
            text="Last day of the winter sale!",
        )
        campaign >> delivered >> report >> reminder
