"""SmsNotifier in a real failed DAG run, and registered with Airflow."""

import re
import time

from support import TEST_DAGS, alert_reference, texts

from airflow_provider_sms.bird.listing import timestamp


def failed_run(airflow_home, sandbox, dag_id: str, **env: str):
    """Run `dag_id` with `airflow dags test`: it fails, as the DAG intends."""
    conn_var, conn_json = sandbox.connection_env()
    result = airflow_home.dags_test(
        dag_id,
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **{conn_var: conn_json},
        **env,
    )
    assert result.returncode != 0
    return result


def test_failure_callback_texts_the_on_call_engineer(airflow_home, checked_sandbox):
    result = failed_run(airflow_home, checked_sandbox, "notify_on_failure")
    assert texts(checked_sandbox) == [
        ("+31612345678", "notify_on_failure.load_warehouse failed (try 1)")
    ]
    # Airflow 3.0's `dags test` keeps the DAG out of `dags list-runs`: its own last line says.
    [run_id] = re.findall(
        r"DagRun Finished: dag_id=notify_on_failure, .*?run_id=([^,]+),", result.stdout
    )
    [message] = checked_sandbox.messages
    assert message["reference"] == alert_reference(
        "notify_on_failure", run_id, "load_warehouse", 1, "+31612345678"
    )


def test_notifier_is_registered(airflow_home):
    out = airflow_home.airflow("providers", "notifications").stdout
    assert "airflow_provider_sms.notifications.sms.SmsNotifier" in out


def test_a_failure_callback_run_twice_for_one_try_texts_once(airflow_home, checked_sandbox):
    result = failed_run(airflow_home, checked_sandbox, "notify_twice_on_failure")
    assert texts(checked_sandbox) == [
        ("+31612345679", "notify_twice_on_failure.load_warehouse failed (try 1)")
    ]
    assert "already in Bird for 1 recipient(s)" in result.stdout
    # The callback did run twice: the second looked Bird up and sent nothing.
    posts = [r for r in checked_sandbox.requests if r.method == "POST"]
    listings = [r for r in checked_sandbox.requests if r.method == "GET"]
    assert len(posts) == 1 and len(listings) >= 2


def test_a_dag_failing_run_after_run_texts_once_per_cooldown(airflow_home, checked_sandbox):
    runs = [failed_run(airflow_home, checked_sandbox, "notify_with_cooldown") for _ in range(3)]
    [(number, first)] = texts(checked_sandbox)
    assert number == "+31612345670"
    [first_run] = re.findall(r"failed in (\S+)", first)
    assert first_run in runs[0].stdout
    [alert] = checked_sandbox.messages
    for later in runs[1:]:
        # Each later run's alert was due, and skipped, saying when the last went out.
        assert (
            f"Not sent to +316******70: an alert of this notifier went out to them at "
            f"{alert['createdAt']}, within its cooldown of 1:00:00"
        ) in later.stdout
    # A cooldown the time since that alert has outlasted: the next failure texts again.
    sent_at = timestamp(alert["createdAt"])
    time.sleep(max(0.0, sent_at + 6 - time.time()))
    failed_run(airflow_home, checked_sandbox, "notify_with_cooldown", ALERT_COOLDOWN_SECONDS="5")
    assert [number for number, _ in texts(checked_sandbox)] == ["+31612345670"] * 2
    assert len({text for _, text in texts(checked_sandbox)}) == 2
