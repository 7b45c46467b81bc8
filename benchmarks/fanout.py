"""Four senders to one workspace at once, in one process (a thread each, each with its own
connection and rate limiter, as four mapped tasks would have), against the sandbox enforcing
Bird's 500 POST/s per workspace; beside one sender alone.

Shows how the senders converge on sharing the limit: with host sharing off, by adapting to
Bird's 429s alone (what tasks on different hosts do); with it on (the default), through the
slots shared on this host."""

from __future__ import annotations

import json
import os
import threading
import time

from benchmarks._env import numbers

LATENCY = 0.05
LIMIT = 500
SENDERS = 4
EACH = 2500


def _send(conn_id: str, recipients: list[str]) -> None:
    from airflow_provider_sms.operators.sms import SendSmsOperator

    SendSmsOperator(
        task_id="bench",
        recipients=recipients,
        text="Your parcel arrives today.",
        bird_conn_id=conn_id,
    ).execute(context={})


def _measure(sandbox, senders: int, share: bool, each: int = EACH) -> tuple[float, float]:
    conn = sandbox.connection
    conn["extra"] = {**conn["extra"], "share_rate_limit_on_host": share}
    conn_id = f"bench_{senders}_{share}".lower()
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
    sandbox.reset()
    everyone = numbers(senders * each)
    threads = [
        threading.Thread(target=_send, args=(conn_id, everyone[i * each : (i + 1) * each]))
        for i in range(senders)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    posts = [r for r in sandbox.requests() if r["method"] == "POST"]
    assert len(sandbox.messages()) == senders * each
    return senders * each / elapsed, sum(r["status"] == 429 for r in posts) / len(posts)


def _ratio(rate: float, baseline: float) -> str:
    return f"{rate / baseline:.2f}x"


def run(sandbox_process) -> list[tuple[str, float, float, str]]:
    with sandbox_process(latency=LATENCY, max_posts_per_second=LIMIT) as sandbox:
        _measure(sandbox, 1, share=False, each=100)  # imports and first connections
        one, one_429 = _measure(sandbox, 1, share=False)
        adaptive, adaptive_429 = _measure(sandbox, SENDERS, share=False)
        shared, shared_429 = _measure(sandbox, SENDERS, share=True)
    return [
        ("one sender", one, one_429, "1.00x"),
        (
            f"{SENDERS} senders, adapting to 429s only",
            adaptive,
            adaptive_429,
            f"{adaptive / one:.2f}x",
        ),
        (
            f"{SENDERS} senders in one process, sharing slots on this host",
            shared,
            shared_429,
            f"{shared / one:.2f}x",
        ),
    ]
