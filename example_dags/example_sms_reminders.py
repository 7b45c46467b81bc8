"""Appointment reminders: every morning, text each customer with an appointment today."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(
    dag_id="example_sms_reminders",
    schedule="0 8 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["example", "sms", "bird"],
) as dag:

    @task
    def customers_with_appointments() -> list[str]:
        # A real pipeline would query the booking system for {{ ds }}.
        return ["+31 6 12345678", "+31612345679", "06 1234 5680", "+31612345678"]

    SendSmsOperator(
        task_id="send_reminders",
        recipients=customers_with_appointments(),
        text="Reminder: you have an appointment with us on {{ ds }}. Reply STOP to opt out.",
        default_region="NL",
        tags=["reminder"],
    )
