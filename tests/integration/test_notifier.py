"""SmsNotifier: callbacks that text someone, sync and async, and in a real DAG run."""

import asyncio
import time
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowException
from support import alert_reference, receiver, texts

from airflow_provider_sms.compat import AIRFLOW_V_3_1_PLUS
from airflow_provider_sms.message.outgoing import default_reference, group_prefix
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


def failed_try(dag_id: str, run_id: str, task_id: str = "t") -> dict:
    ti = SimpleNamespace(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=-1, try_number=1)
    return callback_context(ti=ti)


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_a_cooldown_texts_each_recipient_once_within_it_across_runs(checked_sandbox, order, capsys):
    checked_sandbox.listing = {"order": order}
    # Other traffic on the channel, older than the alerts: two pages.
    checked_sandbox.backend.add_history(
        checked_sandbox.mms_channel_id, [f"+316200{n:05d}" for n in range(150)], age=1.0
    )

    def alert(run_id: str, on_call: str) -> None:
        # Airflow renders a fresh copy of the notifier for each callback.
        notifier = SmsNotifier(
            recipients="{{ params.on_call }}", text="{{ ti.run_id }} failed", cooldown=3
        )
        notifier({**failed_try("d", run_id), "params": {"on_call": on_call}})

    alert("r1", "+31612345678,+31612345680")
    alert("r2", "+31612345678,+31612345680")
    # Only the recipient no alert reached within the cooldown is texted.
    alert("r3", "+31612345678,+31612345680,+31612345681")
    assert sorted(texts(checked_sandbox)[150:]) == [
        ("+31612345678", "r1 failed"),
        ("+31612345680", "r1 failed"),
        ("+31612345681", "r3 failed"),
    ]
    out = capsys.readouterr().out
    assert out.count("an alert of this notifier went out to them at") == 4
    assert f"Not sent to {mask_phone('+31612345678')}: " in out
    assert "+31612345678" not in out
    # Once the cooldown has passed since a recipient's last alert, they are texted again.
    time.sleep(3.2)
    alert("r4", "+31612345678,+31612345680")
    assert sorted(texts(checked_sandbox)[153:]) == [
        ("+31612345678", "r4 failed"),
        ("+31612345680", "r4 failed"),
    ]


def test_a_cooldown_is_per_dag_unless_a_cooldown_key_says_otherwise(checked_sandbox):
    def alert(dag_id: str, **options) -> None:
        notifier = SmsNotifier(
            recipients="+31612345678", text=f"{dag_id} failed", cooldown=600, **options
        )
        notifier(failed_try(dag_id, "r"))

    alert("orders")
    alert("orders")  # the same DAG: within its cooldown
    alert("billing")  # another DAG: a cooldown of its own
    shared = "{{ ti.dag_id[:4] }}-shared"
    alert("orders_eu", cooldown_key=shared)
    alert("orders_us", cooldown_key=shared)  # one key: one cooldown for both DAGs
    alert("orders", cooldown_key="orders-late")  # one DAG, a second notifier's own key
    assert [text for _, text in texts(checked_sandbox)] == [
        "orders failed",
        "billing failed",
        "orders_eu failed",
        "orders failed",
    ]
    # Without a cooldown the alerts of the next run go out as before.
    SmsNotifier(recipients="+31612345678", text="again").notify(failed_try("orders", "r2"))
    assert texts(checked_sandbox)[-1] == ("+31612345678", "again")


def fresh_notifier() -> SmsNotifier:
    return SmsNotifier(recipients="+31612345678", text="{{ ti.run_id }}", cooldown=600)


def test_an_alert_whose_cooldown_bird_cannot_tell_is_sent_unless_claimed(checked_sandbox, capsys):
    # An alert of this DAG's sent a minute ago from another host: only Bird lists it.
    other_host = group_prefix(("cooldown", "dag", "d"), "+31612345678") + "0" * 16
    checked_sandbox.backend.add_history(
        checked_sandbox.mms_channel_id, ["+31612345678"], age=60, reference=other_host
    )
    checked_sandbox.inject("status", count=100, status=400, method="GET")
    fresh_notifier()(failed_try("d", "r1"))
    assert [text for _, text in texts(checked_sandbox)] == ["An earlier message.", "r1"]
    out = capsys.readouterr().out
    assert "Could not check whether an alert of this notifier went out within its cooldown" in out
    # This host's claim on the alert it just sent holds the next one back, Bird or not.
    fresh_notifier()(failed_try("d", "r2"))
    assert len(checked_sandbox.messages) == 2
    assert "(claimed in this host; Bird does not list it yet)" in capsys.readouterr().out


def test_a_refused_alert_starts_no_cooldown(checked_sandbox):
    def notify(run_id: str) -> None:
        # `notify` itself: Airflow 3.0's notifiers log a callback's exception, not raise it.
        notifier = SmsNotifier(recipients="+31612345678", text="down", cooldown=600)
        notifier.notify(failed_try("d", run_id))

    checked_sandbox.inject("status", count=1, status=422, method="POST")
    with pytest.raises(AirflowException):
        notify("r1")
    notify("r2")
    assert texts(checked_sandbox) == [("+31612345678", "down")]


@pytest.mark.parametrize(
    ("cooldown", "problem"),
    [(0, "not between 1 second and a day"), (86401, "not between"), ("1h", "expected a")],
)
def test_a_cooldown_out_of_bounds_is_refused_naming_it(cooldown, problem):
    with pytest.raises((ValueError, TypeError), match=f"cooldown: .*{problem}"):
        SmsNotifier(recipients="+31612345678", text="t", cooldown=cooldown)


def _alert_at_the_barrier(barrier, connection: str, run_id: str) -> None:
    import os

    os.environ["AIRFLOW_CONN_BIRD_DEFAULT"] = connection
    barrier.wait()
    notifier = SmsNotifier(recipients="+31612345678", text="{{ ti.run_id }} failed", cooldown=600)
    notifier(failed_try("orders", run_id))


@pytest.mark.parametrize("store", ["this host", "Redis"])
def test_alerts_going_out_at_once_from_several_processes_text_once(
    checked_sandbox, monkeypatch, tmp_path, store, capfd
):
    import json
    import multiprocessing
    from contextlib import nullcontext

    from redis_server import RedisServer

    conn = checked_sandbox.connection()
    with RedisServer(tmp_path / "redis") if store == "Redis" else nullcontext() as redis:
        if redis is not None:
            conn["extra"]["rate_limit_redis_url"] = redis.url
        # Bird lists an accepted message a little later than at once (as the sandbox plays
        # here), so only the claim can tell the processes apart.
        checked_sandbox.latency = 0.2
        processes = 6
        barrier = multiprocessing.Barrier(processes)
        workers = [
            multiprocessing.Process(
                target=_alert_at_the_barrier, args=(barrier, json.dumps(conn), f"r{n}")
            )
            for n in range(processes)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [w.exitcode for w in workers] == [0] * processes
    assert len(texts(checked_sandbox)) == 1
    out = capfd.readouterr().out
    assert out.count("within its cooldown of 0:10:00") == 5
    assert f"(claimed in {store}" in out
