"""Sends from TaskFlow tasks through BirdHook's verbs, for the exactly-once tests:

- `taskflow_send_timeout`: 1,000 recipients, slower than the task's execution_timeout: each
  try is killed part-way by Airflow and the next carries on where it stopped.
- `taskflow_two_sends`: two sends in one task, to the same numbers with different texts;
  the first try fails after both, and the retry sends neither again.
- `taskflow_bad_number`: a number that is not one: the task fails before any request."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.hooks.bird import BirdHook

SECOND = timedelta(seconds=1)
CUSTOMERS = [f"+316{31000000 + i}" for i in range(1000)]
PAIR = ["+31632000001", "+31632000002"]

with DAG(dag_id="taskflow_send_timeout", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(retries=6, retry_delay=SECOND, execution_timeout=3 * SECOND)
    def remind():
        return BirdHook().send_sms(
            CUSTOMERS, "Your parcel arrives today between 10:00 and 12:00.", max_concurrency=8
        )

    remind()

with DAG(dag_id="taskflow_two_sends", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(retries=1, retry_delay=SECOND)
    def confirm(ti=None):
        hook = BirdHook()
        first = hook.send_sms(PAIR, "Your order is confirmed.")
        second = hook.send_sms(PAIR, "It ships tomorrow.")
        if ti.try_number == 1:
            raise RuntimeError("something after both sends failed")
        return [e["status"] for e in first + second]

    confirm()

with DAG(dag_id="taskflow_bad_number", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(retries=0)
    def remind_bad():
        BirdHook().send_sms(["+31612345678", "not-a-number"], "Your parcel arrives today.")

    remind_bad()
