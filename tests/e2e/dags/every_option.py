"""Every delivery option of the three send operators, set as a DAG author would (some
templated), for one `airflow dags test` run whose stored messages the test checks."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.operators.template import SendTemplateOperator

with DAG(dag_id="every_option", schedule=None, start_date=datetime(2026, 1, 1)):
    SendSmsOperator(
        task_id="sms",
        recipients="+31612345678",
        text="Your courier arrives within the hour: https://track.example/parcel/42",
        validity="{{ 30 * 60 }}",
        ignore_quiet_hours=True,
        ignore_global_holdout=True,
        track_links=True,
        short_links="go.example.com",
        notification_url="https://hooks.example/bird/{{ dag.dag_id }}",
        extra_information={"useCase": "transactional", "dag": "{{ dag.dag_id }}"},
        smart_encoding=True,
    )
    SendTemplateOperator(
        task_id="template",
        recipients="+31612345679",
        template_name="appointment-reminder",
        parameters={"name": "Robert", "date": "{{ ds }}"},
        variables={"clinic": "Oost"},
        utm_parameters=[
            {"key": "utm_source", "value": "airflow"},
            {"key": "utm_medium", "reference": "channel_name"},
        ],
        short_links="default",
        validity=timedelta(hours=2),
    )
    SendMmsOperator(
        task_id="mms",
        recipients="+14155552671",
        images="https://reports.example.com/sales/today.png",
        title="Sales report",
        fallback_text="Sales report: https://reports.example.com/sales/today",
        ignore_quiet_hours=False,
        ignore_global_holdout=False,
        validity=600,
    )
