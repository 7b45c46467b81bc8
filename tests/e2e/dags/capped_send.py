"""A send the connection's caps bound (tests/e2e/test_caps.py sets them): an SMS of two
segments to four entries, one of them twice and one excluded, so two messages."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="capped_send", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="send",
        recipients=["+31612345678", "+31612345679", "+31612345678", "+31612345680"],
        exclude_recipients=["+31612345680"],
        text="Your order has shipped. " * 7,
    )
