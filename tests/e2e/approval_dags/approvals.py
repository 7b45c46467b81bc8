"""Questions answered by SMS (SmsApprovalOperator) in the deployed Airflow: a choice that
branches, approvals answered in Airflow or left to their defaults, two questions open to one
approver (under one connection id, and under two for the same channel), a question whose
first try is killed once it is sent, one cleared after its answer, and one asked through a
staging connection (`bird_staging`: extra dry_run), which texts nobody."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

from airflow_provider_sms.operators.approval import SmsApprovalOperator

APPROVER = "+12025550170"
START = datetime(2026, 1, 1)


def approval(task_id: str, subject: str, **more) -> SmsApprovalOperator:
    """An approval asked of APPROVER, waited for 10 minutes, looked for every second."""
    waits = {"response_timeout": timedelta(minutes=10), "poll_interval": 1, **more}
    return SmsApprovalOperator(task_id=task_id, subject=subject, approvers=[APPROVER], **waits)


with DAG(dag_id="approval_choice", schedule=None, start_date=START):
    release = SmsApprovalOperator(
        task_id="release",
        subject="Release 4.2 passed its checks.",
        approvers=[APPROVER],
        options=["deploy", "rollback"],
        response_timeout=timedelta(minutes=10),
        poll_interval=1,
    )
    release >> [EmptyOperator(task_id="deploy"), EmptyOperator(task_id="rollback")]

with DAG(dag_id="approval_answered_in_airflow", schedule=None, start_date=START):
    refund = SmsApprovalOperator(
        task_id="refund",
        subject="Refund order 1234 (EUR 80)?",
        approvers="{{ dag_run.conf.get('approver', '" + APPROVER + "') }}",
        response_timeout=timedelta(minutes=10),
        poll_interval=1,
    )
    refund >> EmptyOperator(task_id="pay_refund")

with DAG(dag_id="approval_times_out", schedule=None, start_date=START):
    prices = SmsApprovalOperator(
        task_id="prices",
        subject="Raise prices by 2% tonight?",
        approvers=[APPROVER],
        defaults="Reject",
        response_timeout=timedelta(seconds=30),
        poll_interval=1,
    )
    prices >> EmptyOperator(task_id="raise_prices")

# The test's deployment defines `bird_second`: the same workspace and channel as bird_default.
for dag_id, connections in [
    ("approval_two_questions", ("bird_default", "bird_default")),
    ("approval_two_connections", ("bird_default", "bird_second")),
]:
    with DAG(dag_id=dag_id, schedule=None, start_date=START):
        for name, conn_id in zip(("first", "second"), connections, strict=True):
            question = approval(name, f"The {name} question: go ahead?", bird_conn_id=conn_id)
            question >> EmptyOperator(task_id=f"after_{name}")

with DAG(dag_id="approval_cleared", schedule=None, start_date=START):
    approval("publish", "Publish the price list?") >> EmptyOperator(task_id="published")

with DAG(dag_id="approval_killed", schedule=None, start_date=START):
    ship = approval("ship", "Ship the weekly report?", retries=2, retry_delay=timedelta(seconds=2))
    ship >> EmptyOperator(task_id="shipped")

with DAG(dag_id="approval_in_staging", schedule=None, start_date=START):
    approval("launch", "Launch the campaign?", bird_conn_id="bird_staging") >> EmptyOperator(
        task_id="launch_campaign"
    )
