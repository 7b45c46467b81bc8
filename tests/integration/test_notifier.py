"""SmsNotifier: callbacks that text someone, sync and async, and in a real DAG run."""

import asyncio
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowException
from support import alert_reference, receiver, texts

from airflow_provider_sms.compat import AIRFLOW_V_3_1_PLUS
from airflow_provider_sms.message.outgoing import default_reference
from airflow_provider_sms.notifications.sms import SmsNotifier
from airflow_provider_sms.redaction import mask_phone


def callback_context(**values):
    """A callback's context as Airflow gives it: with its DAG (none here, as for a test)."""
    return {"dag": None, **values}


def test_notifier_renders_and_sends(checked_sandbox):
    notifier = SmsNotifier(
        recipients="0612345678", text="{{ ti.task_id }} failed", default_region="NL"
    )
    notifier(callback_context(ti=SimpleNamespace(task_id="load")))
    assert texts(checked_sandbox) == [("+31612345678", "load failed")]


def test_alerts_carry_a_reference_derived_from_the_task_instance_and_try(checked_sandbox):
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=2)
    notifier = SmsNotifier(recipients="+31612345678", text="t failed")
    notifier(callback_context(ti=ti))
    ti.try_number = 3
    notifier(callback_context(ti=ti))
    references = [m["reference"] for m in checked_sandbox.messages]
    assert references == [
        alert_reference("d", "r", "t", 2, "+31612345678"),
        alert_reference("d", "r", "t", 3, "+31612345678"),
    ]
    # Apart from what the task itself sends to the same number.
    assert default_reference("d", "r", "t", -1, "+31612345678", max_tries=0) not in references


def test_refused_alert_raises_a_summary_with_masked_numbers(checked_sandbox):
    checked_sandbox.reject_recipients = {"+31612345679"}
    notifier = SmsNotifier(recipients=["+31612345678", "+31612345679"], text="down")
    with pytest.raises(AirflowException) as e:
        notifier.notify({})
    assert "1 of 2 SMS(s) accepted, 1 failed" in str(e.value)
    assert f"{mask_phone('+31612345679')}: " in str(e.value)
    assert "+31612345679" not in str(e.value)


@pytest.mark.needs_airflow("3.1", feature="awaited notifiers, for Deadline Alerts")
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


def test_notifier_bad_input_raises_and_sends_nothing(checked_sandbox, caplog):
    notifier = SmsNotifier(recipients="not a number", text="x")
    if AIRFLOW_V_3_1_PLUS:
        with pytest.raises(Exception, match="recipients"):
            notifier(callback_context())
    else:
        # Airflow 3.0's notifier logs what its notify raised, and goes on.
        notifier(callback_context())
        [failed] = [r for r in caplog.records if "Failed to send notification" in r.getMessage()]
        assert "recipients" in failed.getMessage()
    assert checked_sandbox.requests == []


def test_an_alert_notified_twice_for_one_try_is_sent_once(checked_sandbox, capsys):
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=1)
    notifier = SmsNotifier(recipients=["+31612345678", "+31612345680"], text="t failed")
    notifier.notify({"ti": ti})
    notifier.notify({"ti": ti})
    assert sorted(texts(checked_sandbox)) == [
        ("+31612345678", "t failed"),
        ("+31612345680", "t failed"),
    ]
    assert "already in Bird for 2 recipient(s)" in capsys.readouterr().out
    # Skipped per recipient: one the first call did not reach is sent the second time.
    SmsNotifier(recipients=["+31612345680", "+31612345681"], text="t failed").notify({"ti": ti})
    assert sorted(receiver(m) for m in checked_sandbox.messages) == [
        "+31612345678",
        "+31612345680",
        "+31612345681",
    ]


def test_an_alert_whose_lookup_fails_is_sent_anyway(checked_sandbox, capsys):
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=1)
    checked_sandbox.inject("status", count=100, status=400, method="GET")
    SmsNotifier(recipients="+31612345678", text="t failed").notify({"ti": ti})
    assert texts(checked_sandbox) == [("+31612345678", "t failed")]
    assert "Could not check whether this alert was sent before" in capsys.readouterr().out
