"""Daily report: every weekday evening, send the sales chart as an MMS to the managers."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_sms.operators.sms import SendMmsOperator

MANAGERS = ["+1 415 555 2671", "+1 212 555 0123"]

with DAG(
    dag_id="example_mms_daily_report",
    schedule="0 18 * * 1-5",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "mms", "bird"],
) as dag:

    @task
    def publish_chart(ds=None) -> str:
        # A real pipeline renders the chart and uploads it where Bird can fetch it.
        return f"https://reports.example.com/sales/{ds}.png"

    SendMmsOperator(
        task_id="send_report",
        recipients=MANAGERS,
        images=[{"url": publish_chart(), "alt_text": "Sales by region"}],
        title="Sales report {{ ds }}",
        text="Today's sales by region. Full report: https://reports.example.com/{{ ds }}",
    )
