"""Senders in separate processes to one workspace at once, against the sandbox enforcing
Bird's 500 POST/s; beside one sender alone, measured in the same run.

Four processes on one host (one temporary folder: they share the host's slots, as the tasks
of a LocalExecutor do), then four on separate "hosts" (a temporary folder each, so no host's
slots are shared): adapting to Bird's 429s alone, and taking turns from the budget shared in
Redis. Figures are ratios of Bird's bound, the accepted messages per second over 500."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LATENCY = 0.05
LIMIT = 500
HOSTS = 4
EACH = 5000
ROOT = Path(__file__).resolve().parent.parent


def _sender(conn: str, first: int, count: int, start_at: float) -> None:
    """One process's send."""
    from benchmarks._env import numbers, prepare_airflow_env

    prepare_airflow_env()
    os.environ["AIRFLOW_CONN_BENCH_HOSTS"] = conn
    from airflow_provider_sms.operators.sms import SendSmsOperator

    operator = SendSmsOperator(
        task_id="bench",
        recipients=numbers(first + count)[first:],
        text="Your parcel arrives today.",
        bird_conn_id="bench_hosts",
    )
    time.sleep(max(0.0, start_at - time.time()))
    operator.execute(context={})


def _measure(
    sandbox, redis_url: str | None = None, *, senders: int = HOSTS, one_host: bool = False
) -> tuple[float, float]:
    """`senders` processes of EACH recipients each: their aggregate rate of accepted messages
    and the share of POSTs answered 429. With `one_host` they share one temporary folder,
    so the host's slots; else each has its own."""
    conn = sandbox.connection
    conn["extra"] = {**conn["extra"], "rate_limit_redis_url": redis_url or "off"}
    sandbox.reset()
    start_at = time.time() + 8  # after every process has imported Airflow
    folders = [
        tempfile.mkdtemp(prefix="sms-bench-host-") for _ in range(1 if one_host else senders)
    ]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.hosts",
                json.dumps(conn),
                str(sender * EACH),
                str(EACH),
                repr(start_at),
            ],
            env={**os.environ, "TMPDIR": folders[sender % len(folders)], "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
        )
        for sender in range(senders)
    ]
    for process in processes:
        if process.wait(timeout=600) != 0:
            raise RuntimeError(f"a sender exited with {process.returncode}")
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    assert len(sandbox.messages()) == senders * EACH
    posts = [r for r in sandbox.requests() if r["method"] == "POST"]
    accepted = sorted(r["received_at"] for r in posts if r["status"] == 202)
    rate = len(accepted) / (accepted[-1] - accepted[0])
    return rate, sum(r["status"] == 429 for r in posts) / len(posts)


def run(sandbox_process) -> list[tuple[str, float, float, str]]:
    """Each case: its rate as a share of Bird's bound, its 429s, and its rate over the one
    sender's."""
    sys.path.insert(0, str(ROOT / "tests"))
    from redis_server import RedisServer

    with (
        tempfile.TemporaryDirectory(prefix="sms-bench-redis-") as folder,
        sandbox_process(latency=LATENCY, max_posts_per_second=LIMIT) as sandbox,
        RedisServer(Path(folder)) as redis,
    ):
        cases = [
            ("one sender", _measure(sandbox, senders=1)),
            (f"{HOSTS} on one host sharing its slots", _measure(sandbox, one_host=True)),
            (f"{HOSTS} on separate hosts adapting to 429s only", _measure(sandbox)),
            (
                f"{HOSTS} on separate hosts sharing the budget in Redis",
                _measure(sandbox, redis.url),
            ),
        ]
    one = cases[0][1][0]
    return [
        (name, rate / LIMIT, throttled, f"{rate / one:.2f}x") for name, (rate, throttled) in cases
    ]


if __name__ == "__main__":
    _sender(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
