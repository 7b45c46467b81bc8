"""ReplySensor, MessageInteractionsOperator and exclude_recipients in real `airflow dags
test` runs against the sandbox, which receives inbound SMS while the sensor is deferred."""

import re
import threading
import time

import pytest
from support import TEST_DAGS, listed_after_a_send, receiver

CUSTOMER = "+12025550160"
OTHER = "+12025550161"


def run(airflow_home, sandbox, dag_id):
    return airflow_home.dags_test(
        dag_id,
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **dict([sandbox.connection_env()]),
    )


def once_polling(sandbox, then, *, sends: bool = True):
    """Run `then` on a thread once something lists the channel's messages (the sensor's
    trigger has started polling)."""

    def wait_then():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if listed_after_a_send(sandbox, sends=sends):
                then()
                return
            time.sleep(0.1)

    thread = threading.Thread(target=wait_then, daemon=True)
    thread.start()
    return thread


def test_a_deferred_reply_sensor_takes_the_first_right_reply_only(airflow_home, checked_sandbox):
    checked_sandbox.receive(CUSTOMER, "YES (from before the task)")
    replies = {}

    def traffic():
        checked_sandbox.receive(OTHER, "yes")  # another number
        checked_sandbox.receive(CUSTOMER, "maybe later")  # not matching
        time.sleep(1.5)
        replies["yes"] = checked_sandbox.receive(CUSTOMER, " Yes, see you then")
        checked_sandbox.receive(CUSTOMER, "yes yes")  # after the first: not the answer

    thread = once_polling(checked_sandbox, traffic)
    result = run(airflow_home, checked_sandbox, "reply_confirms")
    thread.join(5)
    assert result.returncode == 0, result.stdout[-6000:]
    assert f"REPLY {replies['yes']['id']} ' Yes, see you then'" in result.stdout
    assert "Waiting, in the triggerer, for a reply from +120******60" in result.stdout
    assert "from +120******60 received at" in result.stdout  # the number masked in the log


def test_a_reply_sensor_that_times_out_says_what_it_saw(airflow_home, checked_sandbox):
    def traffic():
        checked_sandbox.receive(OTHER, "yes")
        checked_sandbox.receive(CUSTOMER, "no")
        checked_sandbox.receive(CUSTOMER, "not sure")

    thread = once_polling(checked_sandbox, traffic, sends=False)  # the DAG only waits
    result = run(airflow_home, checked_sandbox, "reply_times_out")
    thread.join(5)
    assert result.returncode != 0
    assert (
        "no reply from +120******60 matching '^\\\\s*yes\\\\b'; saw 2 from them that did not "
        "match and 1 from other numbers" in result.stdout
    ), result.stdout[-4000:]


def test_an_opted_out_recipient_is_left_out_of_the_next_send(airflow_home, checked_sandbox):
    from bird_sandbox.catalogue import CLICKS_LINK_US, REPLIES_STOP_US

    result = run(airflow_home, checked_sandbox, "opt_out_flow")
    assert result.returncode == 0, result.stdout[-6000:]
    assert f"OPTED_OUT ['{REPLIES_STOP_US}'] CLICKS ['{CLICKS_LINK_US}']" in result.stdout
    assert f"SUPPRESSED ['{REPLIES_STOP_US}']" in result.stdout
    outgoing = [m for m in checked_sandbox.messages if m["direction"] == "outgoing"]
    reminders = [m for m in outgoing if m["body"]["text"]["text"].startswith("Last day")]
    assert sorted(receiver(m) for m in reminders) == sorted([CLICKS_LINK_US, CUSTOMER])
    assert [receiver(m) for m in outgoing].count(REPLIES_STOP_US) == 1  # the campaign only
    assert "1 recipient(s) are in exclude_recipients" in result.stdout


def deferred_tasks(output: str) -> set[str]:
    """The tasks that deferred in an `airflow dags test` run: Airflow 3 says so of each; Airflow
    2 runs the trigger in line right after the task's try, saying so without its name."""
    deferred = set(re.findall(r"Pausing task as DEFERRED\..*task_id=(\w+)", output))
    tries = re.split(r"\[DAG TEST\] running task <TaskInstance: [\w.]*?\.(\w+) ", output)
    for task_id, lines in zip(tries[1::2], tries[2::2], strict=True):
        if "[DAG TEST] running trigger in line" in lines:
            deferred.add(task_id)
    return deferred


@pytest.mark.parametrize(
    ("default", "deferred"),
    [("False", {"replied_deferred"}), ("True", {"delivered", "replied", "replied_deferred"})],
)
def test_sensors_defer_as_the_deployment_says_unless_told(
    airflow_home, checked_sandbox, default, deferred
):
    result = airflow_home.dags_test(
        "sensors_by_default",
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=default,
        **dict([checked_sandbox.connection_env()]),
    )
    assert deferred_tasks(result.stdout) == deferred
    # The others poked on the worker, until Airflow's sensor saw them done (each line once,
    # or twice where Airflow 3.0's `dags test` prints a task's lines twice).
    echo = result.stdout.count("Bird accepted 1 of 1 SMS(s)")
    assert echo in (1, 2)
    assert result.stdout.count("Success criteria met. Exiting.") == echo * (3 - len(deferred))
