"""In a deployed Airflow on CeleryExecutor whose two Celery workers are separate hosts (each
its own hostname and /tmp, tests/hosts.py), against the sandbox enforcing Bird's 500 POST/s
per workspace: senders on both hosts keep under the limit together through the shared store
(the broker's Redis), a send goes on when that store is unreachable, and a task whose host is
lost is retried on the other. `make deploy-test` runs these."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import test_deployed
from deployment import copy_of_dags, deployed, free_port
from test_deployed import (
    ARTIFACTS,
    DAGS,
    WORKSPACE_POSTS_PER_SECOND,
    kill_part_way,
    mapped_send,
    once_each,
)

from airflow_provider_sms.bird.listing import timestamp

# The same fixtures: the sandbox enforcing Bird's limit, reset before each test.
sandbox = test_deployed.sandbox
fresh = test_deployed.fresh

# A host is a mount and UTS namespace: making one takes root.
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the worker hosts need root")

HOSTS = ("worker-a", "worker-b")
STORE_DOWN = "bird_store_down"


@pytest.fixture(scope="module")
def dags(tmp_path_factory) -> Path:
    """The deployment's DAG files, plus the mapped send on a connection whose shared store
    nobody answers."""
    folder = copy_of_dags(DAGS, tmp_path_factory.mktemp("deploy_dags"))
    code = (DAGS / "mapped_send.py").read_text()
    code = code.replace('dag_id="mapped_send"', 'dag_id="mapped_send_store_down"')
    code = code.replace('task_id="send",', f'task_id="send",\n        bird_conn_id="{STORE_DOWN}",')
    assert "mapped_send_store_down" in code and STORE_DOWN in code
    (folder / "mapped_send_store_down.py").write_text(code)
    return folder


@pytest.fixture(scope="module")
def deployment(request, sandbox, dags):
    store_down = sandbox.connection
    # A loopback port nobody listens on: every connection to the store is refused.
    store_down["extra"]["rate_limit_redis_url"] = f"redis://127.0.0.1:{free_port()}/0"
    env = {**sandbox.connection_env, f"AIRFLOW_CONN_{STORE_DOWN.upper()}": json.dumps(store_down)}
    with deployed(
        dags, env, artifacts=ARTIFACTS, request=request, worker_hosts=HOSTS
    ) as deployment:
        yield deployment


def hosts_of(tis: list[dict]) -> dict[int, str]:
    hosts = {t["map_index"]: t["hostname"] for t in tis}
    print(f"the tasks ran on: {hosts}")
    return hosts


def test_four_mapped_tasks_on_two_hosts_share_the_workspace_limit(deployment, fresh):
    send = mapped_send(deployment, fresh)
    hosts = hosts_of(send.tis)
    assert send.state == "success"
    assert len(send.tis) == 4 and send.overlap > 5, "the tasks did not run at once"
    assert set(hosts.values()) == set(HOSTS), "the tasks did not run on both hosts"
    assert len(once_each(fresh.messages())) == 20000
    # Two hosts' slots know nothing of each other: only the budget in the shared store keeps
    # their senders under Bird's limit together, and near it: at most 1% of POSTs meet a 429,
    # and at least 0.8 of the bound (measured on this 2-core machine: 455-468 msg/s with
    # 0.37-0.59% 429s).
    assert send.throttled <= 0.01 * send.posts
    assert send.rate >= 0.8 * WORKSPACE_POSTS_PER_SECOND


def test_with_the_shared_store_unreachable_the_send_goes_on_each_recipient_once(
    deployment,
    fresh,
):
    send = mapped_send(deployment, fresh, "mapped_send_store_down")
    hosts_of(send.tis)
    assert send.state == "success"
    assert len(once_each(fresh.messages())) == 20000


def test_a_flapping_dag_on_two_hosts_texts_once_per_cooldown(deployment, fresh):
    def failing_run(dag_id: str, host: str) -> tuple[str, str]:
        run_id = deployment.trigger(dag_id, conf={"host": host})
        assert deployment.wait_for_run(dag_id, run_id, timeout=300) == "failed"
        [failed] = [t for t in deployment.task_instances(dag_id, run_id) if t["state"] == "failed"]
        assert failed["hostname"] == host, f"the failing task ran on {failed['hostname']}"
        return run_id, deployment.task_log(dag_id, run_id, failed["task_id"])

    runs = [failing_run("flapping_alert", host) for host in (*HOSTS, HOSTS[0])]
    texts = [m["body"]["text"]["text"] for m in fresh.messages()]
    assert texts == [f"load_on_worker_a failed in {runs[0][0]}"]
    [alert] = fresh.messages()
    for _, log in runs[1:]:
        assert (
            "Not sent to +316******71: an alert of this notifier went out to them at "
            f"{alert['createdAt']}, within its cooldown of 1:00:00"
        ) in log
    # The same cooldown key with a cooldown the time since that alert has outlasted.
    time.sleep(max(0.0, timestamp(alert["createdAt"]) + 6 - time.time()))
    later, _ = failing_run("flapping_alert_later", HOSTS[1])
    texts = [m["body"]["text"]["text"] for m in fresh.messages()]
    assert texts[1:] == [f"load_on_worker_b failed in {later}"]


def test_a_worker_host_killed_part_way_its_task_is_retried_on_the_other(deployment, fresh):
    killed: list[tuple[str, datetime]] = []

    def kill_host(ti: dict) -> None:
        assert ti["hostname"] in HOSTS
        deployment.kill_host(ti["hostname"])
        killed.append((ti["hostname"], datetime.now(UTC)))

    started = time.monotonic()
    try:
        run_id, killed_at = kill_part_way(deployment, fresh, "killed_send", 850, kill=kill_host)
        state = deployment.wait_for_run("killed_send", run_id, timeout=600)
        [ti] = deployment.task_instances("killed_send", run_id)
        [(host, at)] = killed
        print(
            f"\nSIGKILL of every process of {host} after {killed_at} of 3,000 messages; the run "
            f"ended {state} on try {ti['try_number']} on {ti['hostname']}, which started "
            f"{(ti['start_date'] - at).total_seconds():.0f} s after the kill; "
            f"{time.monotonic() - started:.0f} s in all"
        )
        assert killed_at < 3000
        assert state == "success" and ti["try_number"] == 2
        assert ti["hostname"] in HOSTS and ti["hostname"] != host
        assert len(once_each(fresh.messages())) == 3000
    finally:
        # The later tests run on two hosts again.
        for host, _ in killed:
            deployment.start_worker(host)
