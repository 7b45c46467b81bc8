"""Messages per second against the sandbox answering each request after 50 ms.

Baseline: what a user would otherwise write, `apache-airflow-providers-http`'s
`HttpHook.run`, one request per recipient. Then our default mode (concurrent requests under
the 500 POST/s limiter) and our batch mode (100 messages a request)."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter

from benchmarks._env import SlowStore, numbers, task_context

LATENCY = 0.05
BATCH_RUNS = 3
RATE_LIMIT = 500


def _baseline(sandbox, count: int) -> float:
    from airflow.providers.http.hooks.http import HttpHook

    conn = sandbox.connection
    host, _, port = conn["host"].removeprefix("http://").partition(":")
    os.environ["AIRFLOW_CONN_BIRD_HTTP"] = json.dumps(
        {"conn_type": "http", "host": host, "port": int(port), "schema": "http"}
    )
    workspace, channel = conn["extra"]["workspace_id"], conn["extra"]["channel_id"]
    endpoint = f"/workspaces/{workspace}/channels/{channel}/messages"
    headers = {"Authorization": f"AccessKey {conn['password']}", "Content-Type": "application/json"}
    hook = HttpHook(method="POST", http_conn_id="bird_http")
    started = time.perf_counter()
    for recipient in numbers(count):
        message = {
            "receiver": {
                "contacts": [{"identifierKey": "phonenumber", "identifierValue": recipient}]
            },
            "body": {"type": "text", "text": {"text": "Your parcel arrives today."}},
        }
        hook.run(endpoint, data=json.dumps(message), headers=headers)
    return count / (time.perf_counter() - started)


def _operator(sandbox, count: int, context: dict | None = None, **kwargs) -> float:
    from airflow_provider_sms.operators.sms import SendSmsOperator

    os.environ.update(sandbox.connection_env)
    op = SendSmsOperator(
        task_id="bench", recipients=numbers(count), text="Your parcel arrives today.", **kwargs
    )
    started = time.perf_counter()
    op.execute(context=context or {})
    return count / (time.perf_counter() - started)


def _wait_for(sandbox, count: int, timeout: float = 120) -> None:
    """The sandbox validates batch items after answering, like Bird: wait until it stored
    them all (on a busy machine that takes longer than its own idle wait)."""
    deadline = time.monotonic() + timeout
    while len(sandbox.messages()) < count:
        assert time.monotonic() < deadline, "the sandbox did not store every batch item"
        time.sleep(0.5)


def _median_batch(sandbox, store=None, runs: int = BATCH_RUNS) -> float:
    """Batch mode varies from run to run on a busy machine: the median of a few runs, each
    started once the sandbox has stored the previous one's messages."""
    rates = []
    for _ in range(runs):
        sandbox.reset()
        context = task_context(store) if store is not None else None
        if store is not None:
            store.values.clear()
        rates.append(_operator(sandbox, 30000, context, use_batch_api=True))
        _wait_for(sandbox, 30000)
    return statistics.median(rates)


def run(sandbox_process) -> list[tuple[str, float, str]]:
    from airflow_provider_sms.operators.send import DEFAULT_MAX_CONCURRENCY

    with sandbox_process(latency=LATENCY, max_posts_per_second=RATE_LIMIT) as sandbox:
        baseline = _baseline(sandbox, 100)
        assert len(sandbox.messages()) == 100
        sandbox.reset()
        default = _operator(sandbox, 3000)
        statuses = Counter(r["status"] for r in sandbox.requests())
        assert len(sandbox.messages()) == 3000
        sandbox.reset()
        ledger = SlowStore()
        default_ledger = _operator(sandbox, 3000, task_context(ledger))
        assert len(sandbox.messages()) == 3000
        batch = _median_batch(sandbox)
        batch_store = SlowStore()
        batch_ledger = _median_batch(sandbox, batch_store)
    return [
        ("baseline: HttpHook.run, one request per recipient", baseline, "1.0x"),
        (
            f"default mode ({DEFAULT_MAX_CONCURRENCY} in flight, limiter at {RATE_LIMIT}/s; 429s: "
            f"{statuses.get(429, 0)})",
            default,
            f"{default / baseline:.1f}x; goal >= {RATE_LIMIT * 2 / 3:.0f}/s: "
            f"{'met' if default >= RATE_LIMIT * 2 / 3 else 'MISSED'}",
        ),
        (
            f"  with the write-ahead ledger ({ledger.writes} store writes of 11 ms)",
            default_ledger,
            f"{default_ledger / baseline:.1f}x; {default_ledger / default:.2f}x without",
        ),
        (
            f"batch mode (100 messages a request; median of {BATCH_RUNS} runs)",
            batch,
            f"{batch / baseline:.1f}x; goal >= 5000/s: {'met' if batch >= 5000 else 'MISSED'}",
        ),
        (
            f"  with the write-ahead ledger ({batch_store.writes // BATCH_RUNS} writes of 11 ms)",
            batch_ledger,
            f"{batch_ledger / baseline:.1f}x; {batch_ledger / batch:.2f}x without",
        ),
    ]
