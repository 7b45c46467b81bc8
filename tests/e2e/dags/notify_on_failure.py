"""A task that fails and texts the on-call engineer about it."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.notifications.sms import SmsNotifier

with DAG(dag_id="notify_on_failure", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(
        on_failure_callback=SmsNotifier(
            recipients="+31612345678",
            text="{{ ti.dag_id }}.{{ ti.task_id }} failed (try {{ ti.try_number }})",
        )
    )
    def load_warehouse():
        raise RuntimeError("warehouse is down")

    load_warehouse()
