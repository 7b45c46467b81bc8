"""BirdHook's TaskFlow verbs in real `airflow dags test` runs: a send from a `@task` cut off
again and again by `execution_timeout` leaves each recipient one SMS; two sends in one task
each keep their own record across a retry; a bad number fails before any request."""

import re
from collections import Counter

from support import TEST_DAGS, receiver


def run(airflow_home, sandbox, dag_id: str, *, check: bool = True):
    return airflow_home.dags_test(
        dag_id,
        check=check,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **dict([sandbox.connection_env()]),
    )


def test_a_task_cut_off_again_and_again_sends_each_recipient_once(airflow_home, checked_sandbox):
    # 50 ms per answer, 8 in flight: each 3-second try is cut off part-way.
    checked_sandbox.latency = 0.05
    result = run(airflow_home, checked_sandbox, "taskflow_send_timeout")
    receivers = Counter(receiver(m) for m in checked_sandbox.messages)
    assert len(receivers) == 1000 and set(receivers.values()) == {1}
    assert "AirflowTaskTimeout" in result.stdout, "no try was cut short"
    found = list(
        dict.fromkeys(
            re.findall(r"(\d+) of 1000 recipient\(s\) already got this SMS", result.stdout)
        )
    )
    assert found, "no retry found what an earlier try sent"
    print(f"\n1,000 recipients, {len(checked_sandbox.messages)} SMS; tries found {found} sent")


def test_two_sends_in_one_task_each_keep_their_own_record(airflow_home, checked_sandbox):
    result = run(airflow_home, checked_sandbox, "taskflow_two_sends")
    sent = Counter((receiver(m), m["body"]["text"]["text"]) for m in checked_sandbox.messages)
    assert sent == {
        ("+31632000001", "Your order is confirmed."): 1,
        ("+31632000002", "Your order is confirmed."): 1,
        ("+31632000001", "It ships tomorrow."): 1,
        ("+31632000002", "It ships tomorrow."): 1,
    }
    assert "something after both sends failed" in result.stdout
    assert len(set(re.findall(r"2 of 2 recipient\(s\) already got this SMS", result.stdout))) == 1
    assert result.stdout.count("2 of 2 recipient(s) already got this SMS") >= 2


def test_a_bad_number_fails_the_task_before_any_request(airflow_home, checked_sandbox):
    result = run(airflow_home, checked_sandbox, "taskflow_bad_number", check=False)
    assert result.returncode != 0
    # The field, the value (masked, as a number would be) and its problem.
    assert (
        "Invalid SMS: recipients: 1 invalid phone number: 'not*******er' (contains characters "
        "that are not part of a phone number)"
    ) in result.stdout
    assert checked_sandbox.requests == []
