"""send_at in real Airflow runs: a message due in two minutes stays scheduled until then, a
wait for delivery outlasts it, and a sensor that gives up first says when it is due."""

import time
from datetime import datetime

from support import TEST_DAGS


def run(airflow_home, sandbox, dag_id):
    return airflow_home.dags_test(
        dag_id,
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **dict([sandbox.connection_env()]),
    )


def test_a_sensor_that_gives_up_first_says_the_message_is_scheduled_and_when(
    airflow_home, checked_sandbox
):
    result = run(airflow_home, checked_sandbox, "send_at_sensor_gives_up")
    assert result.returncode != 0
    [message] = checked_sandbox.messages
    assert message["status"] == "scheduled"
    due = message["scheduledFor"]
    assert "1 still scheduled (not sent yet), due" in result.stdout
    assert due[:16] in result.stdout  # the due time, to the minute


def test_a_wait_for_delivery_outlasts_a_send_two_minutes_ahead(airflow_home, checked_sandbox):
    started = time.time()
    result = run(airflow_home, checked_sandbox, "send_at_waits_for_delivery")
    assert result.returncode == 0, result.stdout[-4000:]
    [message] = checked_sandbox.messages
    due = datetime.fromisoformat(message["scheduledFor"].replace("Z", "+00:00")).timestamp()
    created = datetime.fromisoformat(message["createdAt"].replace("Z", "+00:00")).timestamp()
    # Two minutes from when the DAG file was parsed: after the run began, before Bird took it.
    assert due - started >= 110 and due <= created + 120
    assert message["status"] == "delivered" and time.time() >= due
    assert "Every message reached a success status" in result.stdout


def test_local_window_holds_each_message_to_nine_in_the_recipients_own_zone(
    airflow_home, checked_sandbox
):
    from zoneinfo import ZoneInfo

    result = run(airflow_home, checked_sandbox, "local_window_send")
    assert result.returncode == 0, result.stdout[-4000:]
    zones = {
        "+31612345692": "Europe/Amsterdam",
        "+14155552692": "America/Los_Angeles",
        "+819012345692": "Asia/Tokyo",
    }
    due = {
        m["receiver"]["contacts"][0]["identifierValue"]: datetime.fromisoformat(
            m["scheduledFor"].replace("Z", "+00:00")
        )
        for m in checked_sandbox.messages
    }
    assert set(due) == set(zones)
    start = min(due.values()).replace(hour=0, minute=0, second=0, microsecond=0)
    for number, zone in zones.items():
        local_start = start.astimezone(ZoneInfo(zone))
        local = due[number].astimezone(ZoneInfo(zone))
        if 9 <= local_start.hour < 17:  # already inside the window: due at the start
            assert due[number] == start, (number, local)
        else:  # the first 09:00 in the recipient's zone after the start
            assert (local.hour, local.minute) == (9, 0), (number, local)
            assert 0 < (due[number] - start).total_seconds() < 24 * 3600
