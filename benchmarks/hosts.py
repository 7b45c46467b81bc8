"""Four senders on separate "hosts" (a process each, each with a temporary folder of its own,
so no host's slots are shared) to one workspace at once, against the sandbox enforcing
Bird's 500 POST/s: adapting to Bird's 429s alone, and taking turns from the budget shared
in Redis. Figures are ratios of Bird's bound, the accepted messages per second over 500."""

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
    """One host's send (run in a process of its own)."""
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


def _measure(sandbox, redis_url: str | None, each: int = EACH) -> tuple[float, float]:
    conn = sandbox.connection
    conn["extra"] = {**conn["extra"], "rate_limit_redis_url": redis_url or "off"}
    sandbox.reset()
    start_at = time.time() + 8  # after every process has imported Airflow
    processes, folders = [], []
    for host in range(HOSTS):
        folder = tempfile.mkdtemp(prefix=f"sms-bench-host-{host}-")
        folders.append(folder)
        env = {**os.environ, "TMPDIR": folder, "PYTHONPATH": str(ROOT)}
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.hosts",
                    json.dumps(conn),
                    str(host * each),
                    str(each),
                    repr(start_at),
                ],
                env=env,
                cwd=ROOT,
            )
        )
    for process in processes:
        if process.wait(timeout=600) != 0:
            raise RuntimeError(f"a sender exited with {process.returncode}")
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    assert len(sandbox.messages()) == HOSTS * each
    posts = [r for r in sandbox.requests() if r["method"] == "POST"]
    accepted = sorted(r["received_at"] for r in posts if r["status"] == 202)
    rate = len(accepted) / (accepted[-1] - accepted[0])
    return rate, sum(r["status"] == 429 for r in posts) / len(posts)


def run(sandbox_process) -> list[tuple[str, float, float]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from redis_server import RedisServer

    with (
        tempfile.TemporaryDirectory(prefix="sms-bench-redis-") as folder,
        sandbox_process(latency=LATENCY, max_posts_per_second=LIMIT) as sandbox,
        RedisServer(Path(folder)) as redis,
    ):
        adapting, adapting_429 = _measure(sandbox, None)
        shared, shared_429 = _measure(sandbox, redis.url)
    return [
        (f"{HOSTS} hosts adapting to 429s only", adapting / LIMIT, adapting_429),
        (f"{HOSTS} hosts sharing the budget in Redis", shared / LIMIT, shared_429),
    ]


if __name__ == "__main__":
    _sender(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
