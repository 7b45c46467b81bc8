"""A task that fails and whose failure callback runs twice for the same try, as Airflow has
been seen to do (apache/airflow#56942, #30146): the on-call engineer gets one SMS."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.notifications.sms import SmsNotifier

alert = SmsNotifier(
    recipients="+31612345679",
    text="{{ ti.dag_id }}.{{ ti.task_id }} failed (try {{ ti.try_number }})",
)

with DAG(dag_id="notify_twice_on_failure", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(on_failure_callback=[alert, alert])
    def load_warehouse():
        raise RuntimeError("warehouse is down")

    load_warehouse()
