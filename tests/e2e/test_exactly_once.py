"""Across Airflow retries each recipient gets the message exactly once (the task state store's
ledger on 3.3, Bird as the record before)."""

import json
import re
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from support import TEST_DAGS, killed_then_run_again, receiver

from airflow_provider_sms.compat import AIRFLOW_V_3_0_PLUS, KEEPS_TASK_STATE

# How a retry says whom it looks up in Bird: those its ledger left in flight (3.3), or everyone.
IN_DOUBT = (
    "were in flight when an earlier try ended"
    if KEEPS_TASK_STATE
    else "may have been sent to by an earlier try"
)


def run(airflow_home, sandbox, dag_id, conn=None, *, check=True):
    conn = conn or sandbox.connection()
    return airflow_home.dags_test(
        dag_id,
        check=check,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(conn),
    )


def once_each(sandbox) -> Counter:
    """How many messages each recipient got; every recipient must appear once."""
    counts = Counter(receiver(m) for m in sandbox.messages)
    assert set(counts.values()) == {1}, f"sent twice: {[r for r, n in counts.items() if n > 1]}"
    return counts


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
    # The retries of requests failing together are summed up, not logged one by one.
    said = [
        line
        for line in result.stdout.splitlines()
        if " failed (HTTP 503): " in line or "more for this reason (HTTP 503)" in line
    ]
    print(f"\n{statuses[503]} answers 503, {len(said)} retry lines")
    assert 0 < len(said) <= statuses[503] / 10
    more = [int(n) for n in re.findall(r"and (\d+) more for this reason", result.stdout)]
    assert len(said) + sum(more) >= statuses[503] // 2  # each request retried once
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
    found = re.findall(r"(\d+) of 1000 recipient\(s\) already got this SMS", result.stdout)
    assert found
    found = list(dict.fromkeys(found))  # Airflow 3.0 prints a task's log lines twice
    if not AIRFLOW_V_3_0_PLUS:  # the ledger is a table of Airflow's metadata database
        with sqlite3.connect(airflow_home.path / "airflow.db") as db:
            [(kept,)] = db.execute(
                "SELECT count(*) FROM bird_task_state WHERE dag_id = 'bulk_send_timeout'"
            )
        assert kept >= 2, "no ledger in the metadata database"
    print(f"\n1,000 recipients, {len(checked_sandbox.messages)} SMS; tries found {found} sent")


def test_a_retry_after_execute_returned_sends_nothing_again(airflow_home, checked_sandbox):
    # The first try sends to all 200, then post_execute fails; the retry's text differs.
    result = run(airflow_home, checked_sandbox, "post_execute_fails")
    assert len(once_each(checked_sandbox)) == 200
    assert "something after the send failed" in result.stdout
    # Only 3.3's ledger keeps what the first try rendered.
    renders = "renders differently from the first try" in result.stdout
    assert renders == KEEPS_TASK_STATE
    assert "200 of 200 recipient(s) already got this SMS" in result.stdout


def test_answers_that_come_after_the_timeout_are_not_sent_again(airflow_home, checked_sandbox):
    # Bird accepts at once but answers after 10 s; the client waits 8 s; Airflow stops the
    # try after 4 s. The retry (Bird prompt again) must find all 20 in Bird.
    checked_sandbox.inject("drip", count=20, seconds=10.0, method="POST")
    conn = checked_sandbox.connection()
    conn["extra"].update(timeout=8)
    result = run(airflow_home, checked_sandbox, "unanswered_at_timeout", conn)
    assert len(once_each(checked_sandbox)) == 20
    assert "AirflowTaskTimeout" in result.stdout
    # The first try had every send accepted and unanswered when it was cut off; the retry
    # sent none again (3.3's ledger took the late answers; before 3.3 Bird's listing shows them).
    assert sum(r.fault == "drip" for r in checked_sandbox.requests) == 20
    assert "20 of 20 recipient(s) already got this SMS in an earlier try" in result.stdout


def test_a_try_cut_off_while_sends_hang_ends_within_seconds(airflow_home, checked_sandbox):
    checked_sandbox.inject("hang", count=1000, seconds=120, method="POST")
    result = run(airflow_home, checked_sandbox, "hung_sends", check=False)
    ended = time.time()
    assert result.returncode != 0 and "AirflowTaskTimeout" in result.stdout
    # From the send's first line (after Airflow's own start, which a busy machine slows) to
    # the command's end: the try's 3 s timeout and the bounded drain (5 s), with room for
    # Airflow to record the failure and exit; not the 30 s read timeout of each hung request.
    line = re.search(r"^.*Sending SMS to.*$", result.stdout, flags=re.M).group(0)
    stamp = re.search(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d([.,]\d+)?", line).group(0)
    # Airflow logs in UTC here (Airflow 3 with a Z, Airflow 2's console without a zone).
    sending = datetime.fromisoformat(stamp.replace(",", ".")).replace(tzinfo=UTC)
    elapsed = ended - sending.timestamp()
    assert elapsed < 18, f"the try held on for {elapsed:.0f} s (sending at {stamp})"


def test_a_task_killed_without_warning_then_run_again_sends_each_recipient_once(
    airflow_home, checked_sandbox
):
    # 50 ms per answer, 8 in flight: about 160 a second; SIGKILL lands at about 300 of 1,000.
    checked_sandbox.latency = 0.05
    logical_date = "2026-03-01T00:00:00+00:00"
    env = airflow_home.environ(
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(checked_sandbox.connection()),
    )
    returncode, out = killed_then_run_again(
        airflow_home, checked_sandbox, "bulk_send_killed", logical_date, env
    )
    assert returncode == 0, out[-6000:]
    assert len(once_each(checked_sandbox)) == 1000, out[-6000:]
    assert IN_DOUBT in out


@pytest.mark.parametrize("accepted", [250, 300, 400])
def test_a_retry_settles_a_try_cut_off_with_a_listing_of_whole_pages(
    airflow_home, checked_sandbox, accepted
):
    # Token paging as it reads when a listing ends on a page boundary: the full last page
    # names no next page. The first try is cut off with `accepted` messages in Bird.
    checked_sandbox.listing = {"full_last_page_token": False}
    checked_sandbox.inject("hang", seconds=90, method="POST", after_messages=accepted)
    conn = checked_sandbox.connection()
    conn["extra"].update(timeout=60)  # the client waits out the try's 30 s
    result = run(airflow_home, checked_sandbox, "cut_off_at_a_page_boundary", conn, check=False)
    out = result.stdout
    assert result.returncode == 0, out[-6000:]
    assert "AirflowTaskTimeout" in out and "hang" in {r.fault for r in checked_sandbox.requests}
    if KEEPS_TASK_STATE:  # the ledger knows those in flight: none of them reached Bird
        assert f"{1000 - accepted} recipient(s) {IN_DOUBT}" in out
        assert f"Of them, 0 were found in Bird (not sent again), {1000 - accepted} were not" in out
    else:  # Bird is the record: every recipient is looked up
        assert f"1000 recipient(s) {IN_DOUBT}" in out
        assert f"Of them, {accepted} were found in Bird (not sent again), {1000 - accepted}" in out
    assert len(once_each(checked_sandbox)) == 1000


def behind_history(sandbox, listing: dict) -> dict:
    """1,500 messages of the past hour on the channel, listed as `listing` says; the
    connection, whose client waits 25 s for an answer."""
    conn = sandbox.connection()
    sandbox.backend.add_history(
        conn["extra"]["channel_id"], [f"+316{73000000 + i}" for i in range(1500)], age=3600
    )
    sandbox.listing = listing
    # Each send accepted at once, answered after the try is cut off (the listing stays quick).
    sandbox.inject("drip", count=1000, seconds=30.0, method="POST")
    conn["extra"].update(timeout=25)
    return conn


def sent_by_the_run(sandbox) -> Counter:
    return Counter(receiver(m) for m in sandbox.messages if m.get("reference") != "history")


def test_a_retry_finds_unanswered_sends_in_a_listing_oldest_first(airflow_home, checked_sandbox):
    conn = behind_history(checked_sandbox, {"order": "oldest_first"})
    result = run(airflow_home, checked_sandbox, "unanswered_behind_history", conn)
    counts = sent_by_the_run(checked_sandbox)
    assert len(counts) == 1000
    assert set(counts.values()) == {1}, "sent twice"
    assert "AirflowTaskTimeout" in result.stdout
    assert "Of them, 8 were found in Bird" in result.stdout


def test_a_listing_with_an_unknown_page_token_sends_nothing_twice(airflow_home, checked_sandbox):
    conn = behind_history(checked_sandbox, {"page_token_field": "next"})
    result = run(airflow_home, checked_sandbox, "unanswered_behind_history", conn, check=False)
    counts = sent_by_the_run(checked_sandbox)
    assert max(counts.values()) == 1, "sent twice"
    assert "AirflowTaskTimeout" in result.stdout
    if result.returncode != 0:
        # Those the first page showed are found; Bird's answers cannot tell about the rest.
        assert "were in flight when an earlier try ended and may or may not" in result.stdout
        assert ": unknown" in result.stdout
        assert "named no next page" in result.stdout
    else:
        assert len(counts) == 1000


def test_a_batch_retry_counts_no_one_sent_by_another_batch(airflow_home, checked_sandbox):
    # Bird ignores the batch filter and lists the whole channel, where every recipient has a
    # delivered message of an earlier batch; this run's batches reject 5 of them at first.
    recipients = [f"+316{52000000 + i}" for i in range(300)]
    checked_sandbox.status_delays = None
    checked_sandbox.listing = {"batch_filter": False}
    checked_sandbox.backend.add_history(
        checked_sandbox.connection()["extra"]["channel_id"],
        recipients,
        age=3600,
        batch_id="0c6f3f5e-0000-4000-8000-000000000002",
    )
    checked_sandbox.reject_recipients = set(recipients[10:15])
    checked_sandbox.inject("status", count=1000, status=503, method="GET")
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=0)
    result = run(airflow_home, checked_sandbox, "batch_recheck", conn)
    assert "listing the batches to check them failed" in result.stdout
    delivered = Counter(
        receiver(m)
        for m in checked_sandbox.messages
        if m.get("reference") != "history" and m["status"] != "rejected"
    )
    assert set(delivered) == set(recipients), "a rejected recipient was taken for sent"
    assert set(delivered.values()) == {1}, "sent twice"
