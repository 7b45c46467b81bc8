"""A support line: every inbound SMS on the connection's channel starts a run, which opens a
ticket for each message and texts its sender that it arrived. STOP and START are left to
Bird (they opt the number out and in), so they get no answer."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

support_sms = Asset(
    "support_sms",
    watchers=[
        AssetWatcher(
            name="support_number",
            # Any text but Bird's opt-out and opt-in keywords (case-insensitive).
            trigger=InboundMessageTrigger(pattern=r"^(?!\s*(stop|start)\s*$)\s*\S"),
        )
    ],
)

with DAG(
    dag_id="example_inbound_support",
    schedule=[support_sms],
    start_date=datetime(2026, 1, 1),
    tags=["example", "sms", "bird", "inbound"],
) as dag:

    @task
    def open_tickets(triggering_asset_events=None) -> list[str]:
        """One ticket per message (several may start one run); the senders to answer."""
        senders = []
        for events in (triggering_asset_events or {}).values():
            for event in events:
                message = event.extra["payload"]
                # A real pipeline would file the ticket, keyed on the message id.
                print("ticket", message["message_id"], "received", message["received_at"])
                senders.append(message["from"])
        return senders

    @task.short_circuit
    def anyone_to_answer(senders: list[str]) -> bool:
        return bool(senders)

    senders = open_tickets()
    anyone_to_answer(senders) >> SendSmsOperator(
        task_id="acknowledge",
        recipients=senders,
        text="Thanks, we got your message and will answer within the hour.",
    )
