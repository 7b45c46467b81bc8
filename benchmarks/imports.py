"""What importing an operator module costs once `airflow.sdk` is loaded (DAG parse time)."""

from __future__ import annotations

import statistics
import subprocess
import sys

MODULES = [
    "airflow_provider_sms.operators.sms",
    "airflow.providers.http.operators.http",
    "airflow.providers.slack.operators.slack",
]
RUNS = 7
_PROBE = (
    "import time, airflow.sdk; started = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - started)"
)


def median_ms(module: str) -> float:
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE.format(module=module)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]) * 1000)
    return statistics.median(samples)


def run() -> dict[str, float]:
    return {module: median_ms(module) for module in MODULES}
