"""A DAG scheduled on inbound SMS: an asset watched by InboundMessageTrigger on the sandbox's
US number; each run prints the messages of its triggering events."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_sms.sandbox.catalogue import MMS_CHANNEL_ID
from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

inbound_sms = Asset(
    "support_inbound_sms",
    watchers=[
        AssetWatcher(
            name="support_number",
            trigger=InboundMessageTrigger(channel_id=MMS_CHANNEL_ID, poll_interval=1),
        )
    ],
)

with DAG(dag_id="inbound_support", schedule=[inbound_sms], start_date=datetime(2026, 1, 1)):

    @task
    def handle(triggering_asset_events=None) -> list[str]:
        ids = []
        for events in triggering_asset_events.values():
            for event in events:
                message = event.extra["payload"]
                print("inbound message", message["message_id"], "received", message["received_at"])
                ids.append(message["message_id"])
        return ids

    handle()
