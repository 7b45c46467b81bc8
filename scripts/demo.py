"""Run the example DAGs end to end with real Airflow against the local Bird sandbox.

Starts the sandbox as its own process, prepares a throw-away AIRFLOW_HOME (embedded SQLite),
runs each example DAG with `airflow dags test`, prints what the sandbox received, stops it."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

from airflow_provider_sms.model import mask_phone
from airflow_provider_sms.testing import AirflowHome

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = [
    "example_sms_reminders",
    "example_mms_daily_report",
    "example_template_reminder",
]


def start_sandbox() -> tuple[subprocess.Popen, str, dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_sms.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    base_url = env = None
    for line in process.stdout:
        if line.startswith("Bird sandbox listening on "):
            base_url = line.split()[-1]
        elif line.startswith("export "):
            name, _, value = shlex.split(line[len("export ") :])[0].partition("=")
            env = {name: value}
            break
    if not (base_url and env):
        process.kill()
        raise SystemExit("the sandbox did not start")
    return process, base_url, env


def describe(message: dict) -> str:
    to = mask_phone(message["receiver"]["contacts"][0]["identifierValue"])
    body = message.get("body") or {}
    kind = body.get("type") or "template"
    extra = (message.get("meta") or {}).get("extraInformation") or {}
    text = extra.get("renderedText") or ""
    media = [m["mediaUrl"] for m in (body.get(kind) or {}).get("images", [])] + [
        f["mediaUrl"] for f in (body.get(kind) or {}).get("files", [])
    ]
    if media:
        text = f"{text} [{', '.join(media)}]".strip()
    return f"  {to:<16} {kind:<9} {message.get('status', ''):<9} {text}"


def main() -> int:
    sandbox, base_url, conn_env = start_sandbox()
    print(f"Bird sandbox running at {base_url}")
    try:
        home = AirflowHome(ROOT / ".demo" / "airflow_home", ROOT / "example_dags", env=conn_env)
        print("Preparing a throw-away Airflow home (embedded SQLite): airflow db migrate")
        home.migrate()
        for dag_id in EXAMPLE_DAGS:
            print(f"Running `airflow dags test {dag_id}` ...", flush=True)
            result = home.dags_test(dag_id, check=False)
            if result.returncode != 0:
                print(result.stdout[-8000:])
                print(f"FAILED: {dag_id} (exit {result.returncode})")
                return 1
            print(f"  {dag_id}: success")
        with urllib.request.urlopen(f"{base_url}/_sandbox/messages") as answer:
            messages = json.load(answer)
        if isinstance(messages, dict):
            messages = messages.get("messages") or messages.get("results") or []
        print(f"\nThe sandbox accepted {len(messages)} message(s):")
        for message in messages:
            print(describe(message))
        return 0 if messages else 1
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
