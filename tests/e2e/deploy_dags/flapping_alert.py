"""A DAG failing run after run, on the worker host its run's conf names (each Celery worker
also serves a queue named after its host), alerting the on-call engineer with a cooldown of
an hour; and a second DAG of the same cooldown key whose cooldown is five seconds."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_sms.notifications.sms import SmsNotifier

HOSTS = ("worker-a", "worker-b")

for dag_id, cooldown in (("flapping_alert", timedelta(hours=1)), ("flapping_alert_later", 5)):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1)):
        for host in HOSTS:

            @task(
                task_id=f"load_on_{host.replace('-', '_')}",
                queue=host,
                on_failure_callback=SmsNotifier(
                    recipients="+31612345671",
                    text="{{ ti.task_id }} failed in {{ run_id }}",
                    cooldown=cooldown,
                    cooldown_key="flapping",
                ),
            )
            def load(on: str, **context):
                if context["params"].get("host") == on:
                    raise RuntimeError(f"the warehouse is down, seen from {on}")

            load(host)
