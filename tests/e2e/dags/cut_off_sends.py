"""Sends whose try is cut off part-way, one DAG each (task `send`), for the exactly-once tests:
each recipient must get its message once however the try ends.

- `bulk_send_killed`: the process is killed without warning part-way (SIGKILL, by the test);
  the task instance is then run again in the same DAG run.
- `bulk_send_timeout`: slower than its execution_timeout: each try is killed part-way by
  Airflow and the next try carries on where it stopped.
- `cut_off_at_a_page_boundary`: one request at a time, so that a send Bird never answers (a
  `hang` fault the test queues after N messages) leaves exactly N accepted when Airflow cuts
  the try off, and the rest in flight. The retry lists the channel's N messages (a whole
  number of pages when N is a multiple of 100) to settle those in flight, then sends to them
  one at a time: the timeout leaves it room for that on a busy machine.
- `hung_sends`: every send hangs; Airflow cuts the try off after 3 s, which must end it
  within seconds.
- `unanswered_at_timeout`: Bird accepts each message but answers after 10 s (the test queues
  a `drip` fault for each send); the client waits 8 s for an answer and Airflow cuts the try
  off after 4 s, time enough for all 20 sends to reach Bird on a busy machine (and for the
  retry's second look). The retry must find the accepted messages in Bird.
- `unanswered_behind_history`: a channel with a long past. Bird accepts each message but
  answers after 30 s; Airflow cuts the first try off after 10 s, with 8 sends accepted and
  unanswered. The retry (Bird prompt again) must find those 8 in Bird, however Bird lists
  the channel."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG
from sandbox_control import control

from airflow_provider_sms.operators.sms import SendSmsOperator

PARCEL = "Your parcel arrives today."
PARCEL_WINDOW = "Your parcel arrives today between 10:00 and 12:00."


def answer_promptly(context):
    # The sandbox's control API: Bird answers at once again by the retry (no latency, no
    # queued fault).
    control("POST", "config", {"latency": 0})
    control("DELETE", "faults")


SECOND = timedelta(seconds=1)
# dag_id: (first number, recipients, text, SendSmsOperator's other arguments)
SENDS = {
    "bulk_send_killed": (23000000, 1000, PARCEL_WINDOW, {"max_concurrency": 8, "retries": 2}),
    "bulk_send_timeout": (
        30000000, 1000, PARCEL_WINDOW,
        {"max_concurrency": 8, "retries": 6, "execution_timeout": 3 * SECOND},
    ),
    "cut_off_at_a_page_boundary": (
        54000000, 1000, PARCEL, {"max_concurrency": 1, "execution_timeout": 30 * SECOND}
    ),
    "hung_sends": (
        60000000, 20, PARCEL,
        {"max_concurrency": 4, "retries": 0, "execution_timeout": 3 * SECOND},
    ),
    "unanswered_at_timeout": (
        50000000, 20, PARCEL,
        {"max_concurrency": 20, "retries": 2, "execution_timeout": 4 * SECOND,
         "on_retry_callback": answer_promptly},
    ),
    "unanswered_behind_history": (
        51000000, 1000, PARCEL,
        {"max_concurrency": 8, "execution_timeout": 10 * SECOND,
         "on_retry_callback": answer_promptly},
    ),
}  # fmt: skip

for dag_id, (first, count, text, arguments) in SENDS.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1)):
        SendSmsOperator(
            task_id="send",
            recipients=[f"+316{first + i}" for i in range(count)],
            text=text,
            **{"retries": 1, "retry_delay": SECOND, **arguments},
        )
