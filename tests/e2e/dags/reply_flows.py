"""Replies and opt-outs in real runs: a deferred ReplySensor that succeeds on the right
reply, one that times out, and a campaign whose opted-out recipient the next send leaves
out. And a reply awaited on a channel a large send just busied (tests/e2e/test_busy_channel.py
stores 20,001 sent messages once the sensor looks, then the reply), deferred and poking,
and the sensor's docstring example, where the reply beats the sensor."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.operators.interactions import MessageInteractionsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.message_status import MessageStatusSensor
from airflow_provider_sms.sensors.reply import ReplySensor
from bird_sandbox.catalogue import CLICKS_LINK_US, REPLIES_STOP_US, REPLIES_YES_US

CUSTOMER = "+12025550160"


@task
def show(answer: dict) -> None:
    print(f"REPLY {answer['message_id']} {answer['text']!r}")


with DAG(dag_id="reply_confirms", schedule=None, start_date=datetime(2026, 1, 1)):
    ask = SendSmsOperator(task_id="ask", recipients=[CUSTOMER], text="Reply YES to confirm.")
    wait = ReplySensor(
        task_id="wait",
        deferrable=True,
        from_numbers=ask.output,
        pattern=r"^\s*yes\b",
        timeout=60,
        poll_interval=1,
    )
    ask >> wait
    show(wait.output)

with DAG(dag_id="reply_times_out", schedule=None, start_date=datetime(2026, 1, 1)):
    ReplySensor(
        task_id="wait",
        deferrable=True,
        from_numbers=[CUSTOMER],
        pattern=r"^\s*yes\b",
        timeout=8,
        poll_interval=1,
    )

with DAG(dag_id="opt_out_flow", schedule=None, start_date=datetime(2026, 1, 1)):
    campaign = SendSmsOperator(
        task_id="campaign",
        recipients=[REPLIES_STOP_US, CLICKS_LINK_US, CUSTOMER],
        text="Winter sale: https://shop.example/sale Reply STOP to opt out.",
    )
    delivered = MessageStatusSensor(
        task_id="delivered",
        deferrable=True,
        message_ids=campaign.output,
        poll_interval=1,
        timeout=60,
    )
    report = MessageInteractionsOperator(task_id="report", messages=campaign.output)
    reminder = SendSmsOperator(
        task_id="reminder",
        recipients=[REPLIES_STOP_US, CLICKS_LINK_US, CUSTOMER],
        exclude_recipients=report.output,
        text="Last day of the winter sale!",
    )

    @task
    def show_outcome(summary: dict, sent: list) -> None:
        print(
            "OPTED_OUT", summary["opted_out"], "CLICKS", [c["recipient"] for c in summary["clicks"]]
        )
        print("SUPPRESSED", [e["recipient"] for e in sent if e["status"] == "suppressed"])

    campaign >> delivered >> report >> reminder
    show_outcome(report.output, reminder.output)


for name, options in (
    ("reply_on_a_busy_channel_deferred", {"timeout": 300, "poll_interval": 3, "deferrable": True}),
    ("reply_on_a_busy_channel_poking", {"timeout": 300, "poll_interval": 3, "deferrable": False}),
    ("reply_beats_the_sensor", {"timeout": 20, "poll_interval": 1, "deferrable": True}),
):
    with DAG(dag_id=name, schedule=None, start_date=datetime(2026, 1, 1)):
        ask = SendSmsOperator(task_id="ask", recipients=[CUSTOMER], text="Reply YES to confirm.")
        wait = ReplySensor(task_id="wait", from_numbers=ask.output, pattern=r"^\s*yes\b", **options)
        ask >> wait
        show(wait.output)

# Both sensors with `deferrable` not given (the deployment's [operators] default_deferrable
# decides), and one given deferrable=True.
with DAG(dag_id="sensors_by_default", schedule=None, start_date=datetime(2026, 1, 1)):
    ask = SendSmsOperator(task_id="ask", recipients=[REPLIES_YES_US], text="Reply YES.")
    ask >> MessageStatusSensor(task_id="delivered", message_ids=ask.output, poll_interval=1)
    ask >> ReplySensor(task_id="replied", from_numbers=ask.output, pattern="^yes", poll_interval=1)
    ask >> ReplySensor(
        task_id="replied_deferred",
        deferrable=True,
        from_numbers=ask.output,
        pattern="^yes",
        poll_interval=1,
    )
