"""One SMS to one number: the plainest send, for tests of what its task log says."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.sms import SendSmsOperator

with DAG(dag_id="one_sms", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(task_id="send", recipients=["+31612345678"], text="Your order has shipped.")
