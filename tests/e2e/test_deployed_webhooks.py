"""Bird's webhooks in a deployed Airflow (PostgreSQL, scheduler, DAG processor, triggerer and
an API server of two workers) against the sandbox in a process of its own, which plays
Bird's side: subscriptions, signed deliveries, retries, faults."""

from __future__ import annotations

import json
import re
import statistics
import time
from datetime import datetime
from pathlib import Path

import pytest
from deployment import copy_of_dags, deployed, wait_for
from support import ROOT

from bird_sandbox.process import SandboxProcess

DAGS = Path(__file__).resolve().parent / "webhook_dags"
ARTIFACTS = ROOT / ".artifacts"
SECRET = "whsec-deployed-3f9a-signing-key"
# Bird's retries, shortened: an API server restarting is waited for (about a minute).
RETRY_DELAYS = [1, 2, 4, 8, 16, 32]
# SMS the polling watcher's latency is measured over.
WATCHED = 10


@pytest.fixture(scope="module")
def sandbox():
    with SandboxProcess(latency=0.01, webhook_retry_delays=RETRY_DELAYS) as sandbox:
        yield sandbox


# The polling watcher at its default interval, on the same channel: added to the DAGs once
# the pushed SMS were counted, for their latencies to compare.
WATCHER = """
from datetime import datetime

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

trigger = InboundMessageTrigger()
watched = Asset("watched_sms", watchers=[AssetWatcher(name="watch", trigger=trigger)])
with DAG(dag_id="on_inbound_poll", schedule=[watched], start_date=datetime(2026, 1, 1)):

    @task
    def noop():
        pass

    noop()
"""


@pytest.fixture(scope="module")
def dags(tmp_path_factory) -> Path:
    return copy_of_dags(DAGS, tmp_path_factory.mktemp("webhook_dags"))


@pytest.fixture(scope="module")
def deployment(request, sandbox, dags):
    pushed = sandbox.connection
    pushed["extra"]["webhook_signing_secret"] = SECRET
    env = {"AIRFLOW_CONN_BIRD_DEFAULT": json.dumps(pushed), "AIRFLOW__API__WORKERS": "2"}
    with deployed(dags, env, artifacts=ARTIFACTS, request=request) as deployment:
        for dag_id in ("on_inbound_push", "statuses_pushed"):
            deployment.wait_for_dag(dag_id)
        yield deployment


@pytest.fixture(scope="module")
def subscribed(deployment, sandbox):
    """The channel's events subscribed by the provider's CLI, run twice."""
    first = deployment.airflow("bird", "webhooks", "set-up")
    second = deployment.airflow("bird", "webhooks", "set-up")
    return first, second, sandbox.control("GET", "webhooks/subscriptions")["results"]


def test_the_cli_subscribes_each_event_once(deployment, subscribed):
    first, second, subscriptions = subscribed
    url = f"http://127.0.0.1:{deployment.api_port}/bird/webhooks/bird_default"
    for event in ("sms.inbound", "sms.outbound", "sms.interaction"):
        assert f"{event} on channel" in first and f"-> {url}: created" in first, first
    assert second.count("already there") == 3 and "created" not in second, second
    assert sorted(s["event"] for s in subscriptions) == [
        "sms.inbound",
        "sms.interaction",
        "sms.outbound",
    ]
    assert {s["url"] for s in subscriptions} == {url}
    listed = deployment.airflow("bird", "webhooks", "list")
    assert "3 subscription(s)" in listed


def _asset_events(deployment, uri: str) -> list[tuple[datetime, dict]]:
    rows = deployment.postgres.query(
        "SELECT asset_event.timestamp, asset_event.extra FROM asset_event JOIN asset ON "
        "asset.id = asset_event.asset_id WHERE asset.uri = %s ORDER BY asset_event.id",
        uri,
    )
    return [
        (stamp, extra if isinstance(extra, dict) else json.loads(extra)) for stamp, extra in rows
    ]


def _listing_gets(sandbox, channel_id: str) -> int:
    path = f"/channels/{channel_id}/messages"
    return sum(1 for r in sandbox.requests() if r["method"] == "GET" and path in r["path"])


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def test_inbound_sms_reach_a_dag_scheduled_on_the_asset_with_no_listing_read(
    deployment, sandbox, subscribed, dags
):
    channel = sandbox.connection["extra"]["channel_id"]
    workspace = sandbox.connection["extra"]["workspace_id"]
    uri = f"bird://{workspace}/{channel}/sms.inbound"
    listed_before = _listing_gets(sandbox, channel)
    # A few seconds apart, as SMS come: each its own run (events the scheduler finds queued
    # together may share one run, or wait for the next one, as Airflow's asset runs do).
    sent = []
    for i in range(3):
        sent.append(sandbox.receive(f"+3161200000{i}", f"question {i}")["id"])
        time.sleep(4)
    events = wait_for(
        lambda: len(_asset_events(deployment, uri)) >= 3 and _asset_events(deployment, uri),
        "3 asset events",
        60,
    )
    # Delivered side by side, they may be kept in any order.
    assert sorted(extra["payload"]["id"] for _, extra in events) == sorted(sent)
    # The DAG ran on them: its runs' tasks counted the 3 events between them.
    counted = wait_for(
        lambda: (
            _counted(deployment, "on_inbound_push") >= 3 and _counted(deployment, "on_inbound_push")
        ),
        "the runs of on_inbound_push",
        120,
    )
    assert counted == 3

    # Latency: from the sandbox's delivery to the stored asset event, over 60 SMS; beside
    # it, the polling watcher at its defaults, from each SMS's createdAt to its event.
    more = [sandbox.receive(f"+316130000{i:02}", "hi")["id"] for i in range(57)]
    wait_for(lambda: len(_asset_events(deployment, uri)) >= 60, "60 asset events", 120)
    stored = {
        extra["payload"]["id"]: stamp.timestamp() for stamp, extra in _asset_events(deployment, uri)
    }
    assert sandbox.wait_webhooks_idle(30)  # each attempt recorded once answered
    delivered = {
        a["message_id"]: a["sent_at"]
        for a in sandbox.webhook_attempts()
        if a["event"] == "sms.inbound" and a["status"] == 200
    }
    pushed = [stored[m] - delivered[m] for m in [*sent, *more]]
    assert _listing_gets(sandbox, channel) == listed_before

    (dags / "on_inbound_poll.py").write_text(WATCHER)
    deployment.wait_for_dag("on_inbound_poll")

    # Measured once the watcher runs (its trigger starts a while after the file is parsed,
    # and reads from then on): it has turned an SMS into an event.
    def watching() -> bool:
        if _asset_events(deployment, "watched_sms"):
            return True
        sandbox.receive("+31614999999", "probe")
        time.sleep(4.5)
        return False

    wait_for(watching, "the watcher's first event", 240)
    probes = len(_asset_events(deployment, "watched_sms"))
    # Spaced further apart than the watcher spaces its events (5 s), so that what is
    # measured is its polling, not its queue.
    polled_ids = {}
    for i in range(WATCHED):
        message = sandbox.receive(f"+316140000{i:02}", "hi")
        polled_ids[message["id"]] = datetime.fromisoformat(message["createdAt"]).timestamp()
        time.sleep(5.5)
    watched = wait_for(
        lambda: (
            len(_asset_events(deployment, "watched_sms")) >= probes + WATCHED
            and _asset_events(deployment, "watched_sms")
        ),
        "the watcher's asset events",
        120,
    )
    polled = [
        stamp.timestamp() - polled_ids[extra["payload"]["message_id"]]
        for stamp, extra in watched
        if extra["payload"]["message_id"] in polled_ids
    ]
    p50, p99 = _percentiles(pushed)
    q50, q99 = _percentiles(polled)
    print(
        f"\nwebhook: delivery to asset event p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
        f"({len(pushed)} SMS); polling watcher (default interval): createdAt to asset event "
        f"p50 {q50 * 1000:.0f} ms, p99 {q99 * 1000:.0f} ms ({len(polled)} SMS)"
    )


def _counted(deployment, dag_id: str) -> int:
    rows = deployment.postgres.query(
        "SELECT value FROM xcom WHERE dag_id = %s AND task_id = 'count' AND key = 'return_value'",
        dag_id,
    )
    return sum(int(json.loads(value) if isinstance(value, str) else value) for (value,) in rows)


def _status_gets(sandbox, since: int) -> int:
    """GETs of one message (how a status wait asks Bird), since request `since`; the
    watcher's listing reads are not."""
    return sum(
        1
        for r in sandbox.requests()[since:]
        if r["method"] == "GET" and re.search(r"/messages/[0-9a-f-]{36}$", r["path"])
    )


def test_a_status_wait_on_1000_messages_succeeds_on_pushed_statuses(
    deployment, sandbox, subscribed
):
    before = len(sandbox.requests())
    run_id = deployment.trigger("statuses_pushed")
    assert deployment.wait_for_run("statuses_pushed", run_id, timeout=600) == "success"
    assert deployment.deferral_handled("statuses_pushed", run_id, "wait")
    assert _status_gets(sandbox, before) == 0
    log = deployment.task_log("statuses_pushed", run_id, "wait")
    assert "'delivered': 1000" in log or '"delivered": 1000' in log, log[-3000:]


def test_a_status_wait_with_pushes_withheld_falls_back_to_polling(deployment, sandbox, subscribed):
    sandbox.configure(webhook_deliveries="paused")
    try:
        before = len(sandbox.requests())
        run_id = deployment.trigger("statuses_withheld")
        assert deployment.wait_for_run("statuses_withheld", run_id, timeout=600) == "success"
    finally:
        sandbox.configure(webhook_deliveries="on")
    assert _status_gets(sandbox, before) > 0


def test_a_delivery_repeated_and_one_across_a_restart_each_count_once(
    deployment, sandbox, subscribed
):
    channel = sandbox.connection["extra"]["channel_id"]
    workspace = sandbox.connection["extra"]["workspace_id"]
    uri = f"bird://{workspace}/{channel}/sms.inbound"
    start = len(_asset_events(deployment, uri))
    # Bird's retries of one event: the same body three times.
    sandbox.control("POST", "faults", {"kind": "webhook_duplicate", "count": 1})
    repeated = sandbox.receive("+31615000001", "once")["id"]
    assert sandbox.wait_webhooks_idle(30)
    attempts = [a for a in sandbox.webhook_attempts() if a.get("message_id") == repeated]
    assert [a["status"] for a in attempts] == [200, 200, 200]
    # The API server down while Bird retries: nothing is lost.
    deployment.kill("api-server")
    during = [sandbox.receive(f"+3161600000{i}", "while down")["id"] for i in range(2)]
    time.sleep(3)
    deployment.restart_api_server()
    assert sandbox.wait_webhooks_idle(90)
    ids = [extra["payload"]["id"] for _, extra in _asset_events(deployment, uri)[start:]]
    assert ids[0] == repeated and sorted(ids[1:]) == sorted(during)
    refused = [
        a
        for a in sandbox.webhook_attempts()
        if a.get("message_id") in during and a["status"] != 200
    ]
    assert refused, "the deliveries never met the stopped API server"
