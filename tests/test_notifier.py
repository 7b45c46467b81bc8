"""SmsNotifier: callbacks that text someone, sync and async, and in a real DAG run."""

import asyncio
from types import SimpleNamespace

import pytest
from conftest import TEST_DAGS

from airflow_provider_sms.notifications.sms import SmsNotifier


def texts(sandbox):
    return [
        (m["receiver"]["contacts"][0]["identifierValue"], m["body"]["text"]["text"])
        for m in sandbox.messages
    ]


def test_notifier_renders_and_sends(checked_sandbox):
    notifier = SmsNotifier(
        recipients="0612345678", text="{{ ti.task_id }} failed", default_region="NL"
    )
    notifier({"ti": SimpleNamespace(task_id="load")})
    assert texts(checked_sandbox) == [("+31612345678", "load failed")]


def test_awaited_notifier_renders_and_sends_from_the_event_loop(checked_sandbox):
    notifier = SmsNotifier(
        recipients=["+31612345678", "+31612345679"],
        text="{{ dag_run.dag_id }} deadline missed",
        context={"dag_run": SimpleNamespace(dag_id="nightly")},
    )

    async def deadline_alert():
        await notifier

    asyncio.run(deadline_alert())
    assert sorted(texts(checked_sandbox)) == [
        ("+31612345678", "nightly deadline missed"),
        ("+31612345679", "nightly deadline missed"),
    ]


def test_notifier_bad_input_raises_and_sends_nothing(checked_sandbox):
    with pytest.raises(Exception, match="recipients"):
        SmsNotifier(recipients="not a number", text="x")({})
    assert checked_sandbox.requests == []


@pytest.mark.e2e
def test_failure_callback_texts_the_on_call_engineer(airflow_home, checked_sandbox):
    conn_var, conn_json = checked_sandbox.connection_env()
    result = airflow_home.dags_test(
        "notify_on_failure",
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **{conn_var: conn_json},
    )
    assert result.returncode != 0  # the run failed, as the DAG intends
    assert texts(checked_sandbox) == [
        ("+31612345678", "notify_on_failure.load_warehouse failed (try 1)")
    ]


def test_notifier_is_registered(airflow_home):
    out = airflow_home.airflow("providers", "notifications").stdout
    assert "airflow_provider_sms.notifications.sms.SmsNotifier" in out
