"""Template reminders: send Bird's approved reminder template to tomorrow's patients, each
with their own name and time, taken from an upstream task (one mapped task per patient)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_sms.operators.template import SendTemplateOperator

# The Studio template "appointment-reminder" (the sandbox is seeded with this project id).
REMINDER_PROJECT_ID = "3f8f23b5-e9a5-4e10-9c36-93c27d1578d6"

with DAG(
    dag_id="example_template_reminder",
    schedule="0 9 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "template", "bird"],
) as dag:

    @task
    def tomorrows_appointments(ds=None) -> list[dict]:
        # A real pipeline reads these from the booking system.
        return [
            {"recipients": "+31612345678", "parameters": {"name": "Robert", "date": ds}},
            {"recipients": "+31612345679", "parameters": {"name": "Amira", "date": ds}},
        ]

    SendTemplateOperator.partial(
        task_id="send_reminder",
        project_id=REMINDER_PROJECT_ID,
        version="latest",
        locale="en",
    ).expand_kwargs(tomorrows_appointments())
