"""`make stress`: the 1,000-recipient send whose tries Airflow cuts off with execution_timeout,
run again and again with real Airflow (`airflow dags test`) against the sandbox. Each try
dies at a different instant; whatever the instant, no recipient may get the SMS twice.

Prints, per run, the DAG run's outcome, the recipients that got the SMS twice (goal: 0), those
that got none, and those a try reported as unknown; exits 1 if any run sent a duplicate.

    python scripts/stress.py [--runs 20] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from airflow_provider_sms.testing import AirflowHome
from bird_sandbox import BirdSandbox

ROOT = Path(__file__).resolve().parents[1]
TEST_DAGS = ROOT / "tests" / "e2e" / "dags"
DAG_ID = "bulk_send_timeout"
RECIPIENTS = 1000
_UNKNOWN = re.compile(r"(\d+) recipient\(s\) were in flight when an earlier try ended and may")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per answer")
    args = parser.parse_args(argv)

    home = AirflowHome(Path(tempfile.mkdtemp(prefix="sms-stress-")) / "home", TEST_DAGS)
    print("Preparing a throw-away Airflow home: airflow db migrate", flush=True)
    home.migrate()
    totals = Counter()
    print(
        f"{'run':>4} {'state':<8} {'tries':>5} {'twice':>6} {'none':>5} {'unknown':>8} {'secs':>5}"
    )
    with BirdSandbox() as sandbox:
        for run in range(1, args.runs + 1):
            sandbox.reset()
            sandbox.latency = args.latency
            started = time.monotonic()
            result = home.dags_test(
                DAG_ID,
                check=False,
                AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(sandbox.connection()),
            )
            counts = Counter(
                m["receiver"]["contacts"][0]["identifierValue"] for m in sandbox.messages
            )
            twice = sum(1 for n in counts.values() if n > 1)
            none = RECIPIENTS - len(counts)
            unknown = sum(int(n) for n in _UNKNOWN.findall(result.stdout))
            tries = result.stdout.count("[DAG TEST] end task task_id=send")
            state = "success" if result.returncode == 0 else "failed"
            totals.update(twice=twice, none=none, unknown=unknown, failed=result.returncode != 0)
            print(
                f"{run:>4} {state:<8} {tries:>5} {twice:>6} {none:>5} {unknown:>8} "
                f"{time.monotonic() - started:>5.0f}",
                flush=True,
            )
    print(
        f"\n{args.runs} runs: {totals['twice']} recipient(s) got the SMS twice (goal 0), "
        f"{totals['unknown']} reported unknown, {totals['none']} got none, "
        f"{totals['failed']} run(s) failed"
    )
    return 1 if totals["twice"] else 0


if __name__ == "__main__":
    sys.exit(main())
