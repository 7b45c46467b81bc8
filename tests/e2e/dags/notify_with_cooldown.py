"""A DAG failing run after run whose alert has a cooldown (an hour, unless the environment's
ALERT_COOLDOWN_SECONDS says otherwise)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.notifications.sms import SmsNotifier

COOLDOWN = timedelta(seconds=int(os.environ.get("ALERT_COOLDOWN_SECONDS", "3600")))

with DAG(dag_id="notify_with_cooldown", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(
        on_failure_callback=SmsNotifier(
            recipients="+31612345670",
            text="{{ ti.dag_id }} failed in {{ run_id }}",
            cooldown=COOLDOWN,
        )
    )
    def load_warehouse():
        raise RuntimeError("warehouse is down")

    load_warehouse()
