"""Across Airflow retries each recipient gets the message exactly once (task state store)."""

import json
from collections import Counter

from support import TEST_DAGS


def test_retry_after_an_outage_sends_each_recipient_exactly_once(airflow_home, checked_sandbox):
    # Bird fails every request once 400 messages are in; the retry finds it healthy again.
    checked_sandbox.inject("status", count=1_000_000, status=503, after_messages=400)
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=1, retry_backoff=0.01)
    result = airflow_home.dags_test(
        "bulk_send_retry",
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(conn),
    )
    receivers = Counter(
        m["receiver"]["contacts"][0]["identifierValue"] for m in checked_sandbox.messages
    )
    assert len(receivers) == 1000
    assert set(receivers.values()) == {1}
    statuses = Counter(r.status for r in checked_sandbox.requests)
    assert statuses[503] > 0, "the first try never met the outage"
    assert "already got this SMS in an earlier try" in result.stdout
    # Every try used the same per-recipient references.
    references = {m["reference"] for m in checked_sandbox.messages}
    assert len(references) == 1000


def test_tries_killed_by_execution_timeout_still_send_each_recipient_once(
    airflow_home, checked_sandbox
):
    # 50 ms per answer, 8 in flight: about 160 messages a second, so each 3-second try is
    # killed by Airflow part-way through the 1,000 recipients.
    checked_sandbox.latency = 0.05
    result = airflow_home.dags_test(
        "bulk_send_timeout",
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **dict([checked_sandbox.connection_env()]),
    )
    receivers = Counter(
        m["receiver"]["contacts"][0]["identifierValue"] for m in checked_sandbox.messages
    )
    assert len(receivers) == 1000
    assert set(receivers.values()) == {1}
    assert "AirflowTaskTimeout" in result.stdout, "no try was cut short"
    assert "already got this SMS in an earlier try" in result.stdout
