"""Run the example DAGs end to end with real Airflow against the local Bird sandbox.

Starts the sandbox as its own process, prepares a throw-away AIRFLOW_HOME (embedded SQLite),
runs each example DAG with `airflow dags test`, prints what the sandbox received, stops it."""

from __future__ import annotations

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
    with SandboxProcess() as sandbox:
        print(f"Bird sandbox running at {sandbox.base_url}")
        home = AirflowHome(
            ROOT / ".demo" / "airflow_home", ROOT / "example_dags", env=sandbox.connection_env
        )
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
