"""A price change that a store manager approves by text message: the new prices are worked
out, the manager is asked by SMS (or in the Airflow UI), and they are published only on
"yes". Without an answer within two hours the change is rejected."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from airflow_provider_sms.operators.approval import SmsApprovalOperator

with DAG(
    dag_id="example_sms_approval",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"manager": "+12025550170"},
    tags=["example", "sms", "bird", "approval"],
):

    @task
    def work_out_prices() -> dict:
        return {"items": 120, "average_change": "+2.5%"}

    prices = work_out_prices()
    approve_prices = SmsApprovalOperator(
        task_id="approve_prices",
        subject="Price update for store 42",
        body="{{ ti.xcom_pull('work_out_prices')['items'] }} items, on average "
        "{{ ti.xcom_pull('work_out_prices')['average_change'] }}.",
        approvers="{{ params.manager }}",
        defaults="Reject",
        response_timeout=timedelta(hours=2),
    )

    @task
    def publish_prices(decision: dict) -> None:
        # Who answered: an Airflow user, or the number that texted back.
        print("published; approved by", decision["responded_by_user"]["name"])

    prices >> approve_prices
    publish_prices(approve_prices.output)
