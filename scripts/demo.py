"""Run the example DAGs end to end with real Airflow against the local Bird sandbox.

Starts the sandbox as its own process, prepares a throw-away AIRFLOW_HOME (embedded SQLite),
runs each example DAG with `airflow dags test` (naming its file, and showing the provider's
own log lines from the run), prints what the sandbox received, stops it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from airflow_provider_sms.redaction import mask_phone
from airflow_provider_sms.testing import AirflowHome
from bird_sandbox.process import SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = [
    "example_sms_reminders",
    "example_mms_daily_report",
    "example_template_reminder",
]


# A log line of the provider's, as `airflow dags test` prints it: its time, its level, the
# message, then the logger's name.
PROVIDER_LINE = re.compile(
    r"^\S+Z \[(?P<level>\w+)\s*\] (?P<message>.*?)\s+\[airflow\.task\.\w+\.airflow_provider_sms\."
)
KINDS = {"text": "SMS", "image": "MMS", "file": "MMS"}


def provider_lines(output: str) -> list[str]:
    """What the provider itself logged during a run (numbers are masked in them)."""
    return [m["message"] for m in map(PROVIDER_LINE.match, output.splitlines()) if m]


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
    label = KINDS.get(kind, kind)
    return f"  {to:<16} {label:<9} {message.get('status', ''):<9} {text}"


def main() -> int:
    with SandboxProcess() as sandbox:
        print(f"Bird sandbox running at {sandbox.base_url}")
        home = AirflowHome(
            ROOT / ".demo" / "airflow_home", ROOT / "example_dags", env=sandbox.connection_env
        )
        print("Preparing a throw-away Airflow home (embedded SQLite): airflow db migrate")
        home.migrate()
        for dag_id in EXAMPLE_DAGS:
            print(f"\nexample_dags/{dag_id}.py: `airflow dags test {dag_id}`", flush=True)
            result = home.dags_test(dag_id, check=False)
            if result.returncode != 0:
                print(result.stdout[-8000:])
                print(f"FAILED: {dag_id} (exit {result.returncode})")
                return 1
            for line in provider_lines(result.stdout):
                print(f"  | {line}")
            print(f"  {dag_id}: success")
        messages = sandbox.messages()
        print(f"\nThe sandbox accepted {len(messages)} message(s):")
        for message in messages:
            print(describe(message))
        uploads = sandbox.control("GET", "uploads")["results"]
        print(f"\nand {len(uploads)} media upload(s), which those messages show:")
        for upload in uploads:
            kind, size, url = upload["content_type"], upload["size"], upload["media_url"]
            print(f"  {kind:<10} {size:>7,} bytes  {url}")
        return 0 if messages else 1


if __name__ == "__main__":
    sys.exit(main())
