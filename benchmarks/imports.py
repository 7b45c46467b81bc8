"""What importing an operator module costs once `airflow.sdk` is loaded (DAG parse time).

Measured as installed packages are imported: from bytecode (pip compiles a wheel on
install, as it did for the http and slack providers here), so ours is compiled first; the
cost from source (compiling at import, as an editable checkout with bytecode writing off
pays) is printed beside it."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from pathlib import Path

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


def from_source_ms() -> float:
    """Ours with no bytecode at all: the module compiled on every import."""
    _remove_bytecode()
    return median_ms(MODULES[0])


def run() -> dict[str, float]:
    import compileall

    import airflow_provider_sms

    compileall.compile_dir(Path(airflow_provider_sms.__file__).parent, quiet=1)
    try:
        return {module: median_ms(module) for module in MODULES}
    finally:
        _remove_bytecode()


def _remove_bytecode() -> None:
    import airflow_provider_sms

    for cache in Path(airflow_provider_sms.__file__).parent.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
