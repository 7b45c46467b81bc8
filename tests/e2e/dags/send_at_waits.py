"""Messages Bird is asked to deliver two minutes from now: one task waits for delivery past
the due time (wait_for_delivery), the other's sensor gives up first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.message_status import MessageStatusSensor


@task
def two_minutes_from_now() -> str:
    return (datetime.now(UTC) + timedelta(minutes=2)).isoformat()


with DAG(dag_id="send_at_waits_for_delivery", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=["+31612345690"],
        text="Your table is ready in two minutes.",
        send_at=two_minutes_from_now(),
        wait_for_delivery=True,
        delivery_poll_interval=5,
        delivery_timeout=300,
    )

with DAG(dag_id="send_at_sensor_gives_up", schedule=None, start_date=datetime(2026, 1, 1)):
    send = SendSmsOperator(
        task_id="send",
        recipients=["+31612345691"],
        text="Your table is ready in two minutes.",
        send_at=two_minutes_from_now(),
    )
    send >> MessageStatusSensor(
        task_id="wait", deferrable=True, message_ids=send.output, timeout=15, poll_interval=5
    )


@task
def start_of_tomorrow() -> str:
    return (
        (datetime.now(UTC) + timedelta(days=1))
        .replace(hour=0, minute=0, second=0, microsecond=0)
        .isoformat()
    )


with DAG(dag_id="local_window_send", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=["+31612345692", "+14155552692", "+819012345692"],
        text="Reminder: your appointment is today.",
        send_at=start_of_tomorrow(),
        local_window=("09:00", "17:00"),
    )
