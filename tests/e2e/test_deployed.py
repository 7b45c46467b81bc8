"""In a deployed Airflow (PostgreSQL, scheduler with LocalExecutor, API server, DAG processor,
triggerer), against the sandbox in a process of its own enforcing Bird's 500 POST/s per
workspace: what `airflow dags test` cannot show. `make deploy-test` runs these alone."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pytest
from deployment import copy_of_dags, deployed
from support import EXAMPLE_DAGS, ROOT, receiver

from airflow_provider_sms.compat import AIRFLOW_V_3_3_PLUS
from bird_sandbox.process import SandboxProcess

DAGS = Path(__file__).resolve().parent / "deploy_dags"
ARTIFACTS = ROOT / ".artifacts"
LATENCY = 0.05
WORKSPACE_POSTS_PER_SECOND = 500


@pytest.fixture(scope="module")
def sandbox():
    with SandboxProcess(
        latency=LATENCY, max_posts_per_second=WORKSPACE_POSTS_PER_SECOND
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def dags(tmp_path_factory) -> Path:
    """A copy of the deployment's DAG files, which a test may edit as a user would."""
    # With the example support line, run on real inbound SMS.
    folder = tmp_path_factory.mktemp("deploy_dags")
    return copy_of_dags(DAGS, folder, EXAMPLE_DAGS / "example_inbound_support.py")


@pytest.fixture(scope="module")
def deployment(request, sandbox, dags):
    with deployed(dags, sandbox.connection_env, artifacts=ARTIFACTS, request=request) as deployment:
        yield deployment


@pytest.fixture
def fresh(sandbox):
    sandbox.reset()
    return sandbox


def once_each(messages: list[dict]) -> Counter:
    counts = Counter(receiver(m) for m in messages)
    twice = [r for r, n in counts.items() if n > 1]
    assert not twice, f"{len(twice)} recipient(s) got the SMS more than once"
    return counts


class MappedSend(NamedTuple):
    state: str
    tis: list[dict]
    posts: int
    throttled: int
    rate: float
    overlap: float


def mapped_send(deployment, fresh, dag_id: str = "mapped_send") -> MappedSend:
    """Run `dag_id` (20,000 recipients over 4 mapped send tasks); its figures, printed: POSTs,
    429s, the aggregate rate and how long the tasks sent side by side (s)."""
    run_id = deployment.trigger(dag_id)
    state = deployment.wait_for_run(dag_id, run_id, timeout=900)
    tis = [t for t in deployment.task_instances(dag_id, run_id) if t["task_id"] == "send"]
    posts = [r for r in fresh.requests() if r["method"] == "POST"]
    throttled = sum(r["status"] == 429 for r in posts)
    accepted = sorted(r["received_at"] for r in posts if r["status"] == 202)
    rate = len(accepted) / (accepted[-1] - accepted[0])
    overlap = (min(t["end_date"] for t in tis) - max(t["start_date"] for t in tis)).total_seconds()
    print(
        f"\n20,000 recipients over {len(tis)} mapped tasks: run {state}; {len(posts)} POSTs, "
        f"{throttled} answered 429 ({throttled / len(posts):.2%}); aggregate "
        f"{rate:.0f} msg/s; the tasks sent side by side for {overlap:.0f} s"
    )
    return MappedSend(state, tis, len(posts), throttled, rate, overlap)


def test_four_mapped_tasks_share_the_workspace_limit(deployment, fresh):
    send = mapped_send(deployment, fresh)
    assert send.state == "success"
    assert len(send.tis) == 4 and send.overlap > 5, "the tasks did not run at once"
    assert len(once_each(fresh.messages())) == 20000
    # Sharing the host's slots keeps the four senders under Bird's limit together, near it:
    # no more than 1% of POSTs meet a 429, and at least 0.8 of the bound (measured on a quiet
    # 2-core host: 457-466 msg/s; the four tasks, the sandbox and Airflow share its cores, so
    # runs spread by about 20 msg/s; docs/benchmarks.md compares within one run).
    assert send.throttled <= 0.01 * send.posts
    assert send.rate >= 0.8 * WORKSPACE_POSTS_PER_SECOND


def test_a_task_killed_without_warning_is_retried_and_sends_each_recipient_once(deployment, fresh):
    run_id, killed_at = kill_part_way(deployment, fresh, "killed_send", 850)
    state = deployment.wait_for_run("killed_send", run_id, timeout=600)
    [ti] = deployment.task_instances("killed_send", run_id)
    print(
        f"\nSIGKILL after {killed_at} of 3,000 messages; the run ended {state} on try "
        f"{ti['try_number']}"
    )
    assert killed_at < 3000
    assert state == "success" and ti["try_number"] == 2
    assert len(once_each(fresh.messages())) == 3000


def kill_part_way(deployment, fresh, dag_id: str, after: int, kill=None) -> tuple[str, int]:
    """Trigger `dag_id`, SIGKILL its task's process once `after` messages are in (or call
    `kill` with the running task instance); the run id and how many messages were in at the
    kill."""
    run_id = deployment.trigger(dag_id)
    deadline = time.monotonic() + 300
    while len(fresh.messages()) < after:
        assert time.monotonic() < deadline, "the send did not get going"
        time.sleep(0.2)
    [ti] = deployment.task_instances(dag_id, run_id)
    assert ti["state"] == "running" and ti["pid"]
    if kill:
        kill(ti)
    else:
        os.kill(ti["pid"], signal.SIGKILL)
    return run_id, len(fresh.messages())


def test_retries_edited_in_the_dag_file_between_tries_send_each_recipient_once(
    deployment, fresh, dags
):
    run_id, killed_at = kill_part_way(deployment, fresh, "retries_edited_send", 850)
    # While the task waits to retry (15 s), its DAG file is edited as during an incident.
    path = dags / "killed_sends.py"
    edited = path.read_text().replace('{"retries": 3,', '{"retries": 1,')
    assert edited != path.read_text()
    path.write_text(edited)
    state = deployment.wait_for_run("retries_edited_send", run_id, timeout=600)
    [ti] = deployment.task_instances("retries_edited_send", run_id)
    log = deployment.task_log("retries_edited_send", run_id, "send")
    print(
        f"\nSIGKILL after {killed_at} of 3,000 messages, retries edited from 3 to 1; the run "
        f"ended {state} on try {ti['try_number']}"
    )
    assert killed_at < 3000
    assert state == "success" and ti["try_number"] == 2
    assert "already got this SMS in an earlier try" in log
    assert len(once_each(fresh.messages())) == 3000


def run_watching(deployment, dag_id: str, task_id: str, timeout: float = 900, each=None):
    """Trigger `dag_id` and wait for it, noting every state `task_id` is seen in (its last
    one read once the run has ended: it may finish between two looks); `each` is called with
    the task instance at every look."""
    run_id = deployment.trigger(dag_id)
    seen: list[str] = []

    def look() -> None:
        for ti in deployment.task_instances(dag_id, run_id):
            if ti["task_id"] != task_id:
                continue
            if ti["state"] and ti["state"] not in seen[-1:]:
                seen.append(ti["state"])
            if each:
                each(ti)

    deadline = time.monotonic() + timeout
    while (state := deployment.run_state(dag_id, run_id)) not in ("success", "failed"):
        assert time.monotonic() < deadline, f"{dag_id} did not finish"
        look()
        time.sleep(0.3)
    look()
    return run_id, state, seen


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_sensor_waits_for_delivery_in_the_triggerer(deployment, fresh):
    fresh.configure(status_delays={"processing": 1, "sent": 2, "delivered": 8})
    freed_pids = []

    def note_freed(ti) -> None:
        # Deferred, and the process that ran it is gone: no worker slot held.
        if ti["state"] == "deferred" and ti["pid"] and not _alive(ti["pid"]):
            freed_pids.append(ti["pid"])

    run_id, state, seen = run_watching(
        deployment, "delivery_wait", "wait", timeout=300, each=note_freed
    )
    freed = bool(freed_pids)
    print(f"\nthe sensor went through {seen}; its worker process exited while deferred: {freed}")
    assert state == "success"
    assert "deferred" in seen, "the sensor never deferred"
    assert freed, "a worker process stayed alive while the sensor was deferred"
    assert seen[-1] == "success"
    xcom = deployment.postgres.query(
        "SELECT value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = 'wait'",
        "delivery_wait",
        run_id,
    )
    assert '"delivered": 3' in str(xcom[0][0]).replace("'", '"')


def test_a_failed_delivery_fails_the_sensor_with_birds_reason(deployment, fresh):
    run_id, state, seen = run_watching(deployment, "delivery_fails", "wait")
    assert state == "failed" and "deferred" in seen
    log = deployment.task_log("delivery_fails", run_id, "wait")
    assert "delivery_failed" in log and "absent subscriber" in log
    assert "+31610000101" not in log


def test_a_message_that_stays_sent_times_out_with_one_pending(deployment, fresh):
    run_id, state, _ = run_watching(deployment, "delivery_stuck", "wait")
    assert state == "failed"
    log = deployment.task_log("delivery_stuck", run_id, "wait")
    assert "1 message(s) still pending: {'sent': 1}" in log


def test_100000_batch_messages_are_followed_with_a_small_xcom(deployment, fresh):
    run_id, state, seen = run_watching(deployment, "delivery_large", "wait")
    assert state == "success" and "deferred" in seen
    [(value,)] = deployment.postgres.query(
        "SELECT value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = 'wait'",
        "delivery_large",
        run_id,
    )
    [(ended,)] = deployment.postgres.query(
        "SELECT end_date FROM task_instance WHERE dag_id = %s AND run_id = %s AND task_id = 'wait'",
        "delivery_large",
        run_id,
    )
    last = max(m["lastStatusAt"] for m in fresh.messages())
    after = (ended - datetime.fromisoformat(last.replace("Z", "+00:00"))).total_seconds()
    print(
        f"\n100,000 followed: XCom {len(str(value))} bytes; the sensor ended {after:.0f} s "
        "after the last delivery"
    )
    assert len(str(value)) < 10_000
    assert after < 120
    assert '"delivered": 100000' in str(value).replace("'", '"')


# -- inbound SMS as asset events --------------------------------------------------------------

INBOUND_DAG = "example_inbound_support"
WATCHED_ASSET = "support_sms"


def _cursor(deployment) -> dict | None:
    """The watcher's cursor as stored in the asset's state store (3.3), or in an Airflow
    Variable (before 3.3), or None."""
    import json

    if not AIRFLOW_V_3_3_PLUS:
        status, answer = deployment.rest("GET", "/api/v2/variables?limit=100")
        assert status == 200, answer
        kept = [
            v["value"]
            for v in answer["variables"]
            if v["key"].startswith("airflow_provider_sms.inbound:")
        ]
        assert len(kept) <= 1, kept
        return json.loads(kept[0]) if kept else None
    rows = deployment.postgres.query(
        "SELECT s.value FROM asset_state_store s JOIN asset a ON a.id = s.asset_id "
        "WHERE a.name = %s AND s.key LIKE 'airflow_provider_sms.inbound:%%'",
        WATCHED_ASSET,
    )
    return json.loads(rows[0][0]) if rows else None


def _passed(deployment, ids: list[str]) -> bool:
    """Whether the stored cursor has moved past every one of `ids`."""
    cursor = _cursor(deployment)
    return bool(cursor) and set(ids) <= set(cursor["seen"])


def _inbound_runs(deployment) -> dict[str, list[str]]:
    """run_id -> the message ids of the asset events it consumed."""
    rows = deployment.postgres.query(
        "SELECT dr.run_id, ae.extra FROM dag_run dr "
        "LEFT JOIN dagrun_asset_event dae ON dae.dag_run_id = dr.id "
        "LEFT JOIN asset_event ae ON ae.id = dae.event_id WHERE dr.dag_id = %s",
        INBOUND_DAG,
    )
    runs: dict[str, list[str]] = {}
    for run_id, extra in rows:
        ids = runs.setdefault(run_id, [])
        if extra:
            ids.append(extra["payload"]["message_id"])
    return runs


def _runs_consuming(deployment, events: int) -> dict[str, list[str]] | None:
    """The runs, once they have consumed `events` events between them."""
    runs = _inbound_runs(deployment)
    return runs if sum(map(len, runs.values())) >= events else None


def _events(deployment) -> list[str]:
    rows = deployment.postgres.query(
        "SELECT ae.extra FROM asset_event ae JOIN asset a ON a.id = ae.asset_id WHERE a.name = %s",
        WATCHED_ASSET,
    )
    return [extra["payload"]["message_id"] for (extra,) in rows]


def _wait(condition, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout:.0f} s"
        time.sleep(0.5)
    return value


def test_each_inbound_sms_is_one_event_across_a_killed_triggerer(deployment, fresh):
    deployment.wait_for_dag(INBOUND_DAG)
    _wait(lambda: _cursor(deployment) is not None, "the watcher storing its cursor", 180)
    numbers = [f"+1202555{150 + n:04d}" for n in range(6)]
    sent = []
    for n in range(3):
        sent.append(fresh.receive(numbers[n], f"Help with order {n}")["id"])
        _wait(lambda: len(_events(deployment)) == len(sent), f"event {n + 1}")
    runs = _wait(lambda: _runs_consuming(deployment, 3), "three runs")
    assert sorted(sum(runs.values(), [])) == sorted(sent)
    assert all(len(ids) == 1 for ids in runs.values()), runs
    started = time.monotonic()
    _wait(lambda: _passed(deployment, sent), "the cursor moving past the three", 60)
    print(f"\nthe cursor passed the third event {time.monotonic() - started:.1f} s after its run")

    deployment.kill("triggerer")
    while_down = [fresh.receive(numbers[n], f"Order {n}: where is it?")["id"] for n in (3, 4)]
    time.sleep(3)
    assert len(_events(deployment)) == 3  # nothing fired while the triggerer was down
    deployment.start_process("triggerer")
    _wait(lambda: len(_events(deployment)) >= 5, "the two messages that came while down", 180)
    _wait(lambda: _passed(deployment, while_down), "the cursor moving past the two", 60)
    time.sleep(8)  # anything fired twice would have been by now (polls every 5 s)
    events = _events(deployment)
    assert sorted(events) == sorted(sent + while_down), "an inbound SMS fired twice or not at all"
    runs = _wait(lambda: _runs_consuming(deployment, 5), "runs consuming all five events")
    consumed = sum(runs.values(), [])
    assert sorted(consumed) == sorted(events), "an event consumed twice, or not at all"
    print(f"5 inbound SMS (2 while the triggerer was down): {len(events)} events, {len(runs)} runs")
    assert len(runs) == 5, runs
    for run_id in runs:
        assert deployment.wait_for_run(INBOUND_DAG, run_id, timeout=120) == "success"
    # Each run answered the senders of its own messages, each once.
    answered = Counter(receiver(m) for m in fresh.messages() if m["direction"] == "outgoing")
    assert answered == Counter(numbers[:5])

    # The worst moment on purpose: killed right after Airflow stored the event, before the
    # cursor's write. Nothing is lost: the message fires again after the restart (the window
    # docs/inbound.md states), and only that message.
    last = fresh.receive(numbers[5], "Killed right after this one")["id"]
    _wait(lambda: last in _events(deployment), "the event of the last message")
    in_cursor = _passed(deployment, [last])
    deployment.kill("triggerer")
    deployment.start_process("triggerer")
    _wait(lambda: _passed(deployment, [last]), "the cursor moving past it after the restart", 180)
    time.sleep(8)
    fired = Counter(_events(deployment))
    print(
        f"killed right after an event (cursor already past it: {in_cursor}): fired {fired[last]}x"
    )
    assert set(fired) == set(sent + while_down + [last])
    assert all(fired[m] == 1 for m in sent + while_down)
    assert fired[last] == (1 if in_cursor else 2)


def _listing_gets(sandbox) -> int:
    return sum(
        1 for r in sandbox.requests() if r["method"] == "GET" and r["path"].endswith("/messages")
    )


def test_an_inbound_sms_after_a_send_of_20001_is_one_event_each_poll_bounded(deployment, fresh):
    from airflow_provider_sms.bird.incoming import MAX_PAGES

    deployment.wait_for_dag(INBOUND_DAG)
    _wait(lambda: _cursor(deployment) is not None, "the watcher storing its cursor", 180)
    assert fresh.store_sent(20_001) == 20_001
    message = fresh.receive("+12025550166", "Help after the big send")["id"]
    # The listing GETs of each poll: bursts (at most 50 GET/s) between quiet gaps (a poll
    # every 5 s), counted until the send is well past the watcher's window.
    polls, current, last, quiet = [], 0, _listing_gets(fresh), time.monotonic()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = _listing_gets(fresh)
        if now != last:
            current, last, quiet = current + now - last, now, time.monotonic()
        elif current and time.monotonic() - quiet > 2.0:
            polls.append(current)
            current = 0
        if message in _events(deployment) and polls[-3:] == [2, 2, 2]:
            break
    print(f"\nlisting GETs of each poll after a send of 20,001: {polls}")
    assert Counter(_events(deployment))[message] == 1, "the next inbound SMS fired no event"
    assert polls and max(polls) <= MAX_PAGES, polls
    assert polls[-3:] == [2, 2, 2], polls
