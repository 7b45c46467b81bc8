"""Peak memory of a 100,000-recipient batch send, measured in a fresh process.

Run as `python -m benchmarks.memory`, with the connection in the environment; prints one JSON
line: resident memory before sending, peak during, and the size of the XCom value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

RECIPIENTS = 100_000


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child() -> None:
    from benchmarks._env import numbers, prepare_airflow_env

    prepare_airflow_env()
    from airflow_provider_sms.operators.sms import SendSmsOperator

    op = SendSmsOperator(
        task_id="bench",
        recipients=numbers(RECIPIENTS),
        text="Your parcel arrives today.",
        use_batch_api=True,
    )
    before = _status_kb("VmRSS")
    result = op.execute(context={})
    peak = _status_kb("VmHWM")
    print(json.dumps({"before_kb": before, "peak_kb": peak, "xcom_bytes": len(json.dumps(result))}))


def run(sandbox_process) -> dict:
    with sandbox_process() as sandbox:
        env = {**os.environ, **sandbox.connection_env}
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        # The sandbox validates batch items after answering, like Bird: wait for it to finish.
        deadline = time.monotonic() + 120
        while len(messages := sandbox.messages()) < RECIPIENTS and time.monotonic() < deadline:
            time.sleep(1)
        figures["messages"] = len(messages)
    return figures


if __name__ == "__main__":
    child()
