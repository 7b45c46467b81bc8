"""A reply awaited on a channel just busied by a large send (the test stores 20,001 sent
messages once the sensor looks, then the reply): a deferred ReplySensor and one that pokes.
And the class docstring's example, where the reply beats the sensor."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.reply import ReplySensor

CUSTOMER = "+12025550190"


@task
def show(answer: dict) -> None:
    print(f"REPLY {answer['message_id']} {answer['text']!r}")


for deferrable in (True, False):
    with DAG(
        dag_id=f"reply_on_a_busy_channel_{'deferred' if deferrable else 'poking'}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
    ):
        ask = SendSmsOperator(task_id="ask", recipients=[CUSTOMER], text="Reply YES to confirm.")
        wait = ReplySensor(
            task_id="wait",
            from_numbers=ask.output,
            pattern=r"^\s*yes\b",
            timeout=300,
            poll_interval=3,
            deferrable=deferrable,
        )
        ask >> wait
        show(wait.output)

with DAG(dag_id="reply_beats_the_sensor", schedule=None, start_date=datetime(2026, 1, 1)):
    ask = SendSmsOperator(task_id="ask", recipients=[CUSTOMER], text="Reply YES to confirm.")
    wait = ReplySensor(
        task_id="wait", from_numbers=ask.output, pattern=r"^\s*yes\b", timeout=20, poll_interval=1
    )
    ask >> wait
    show(wait.output)
