"""Run the example DAGs end to end with real Airflow against the local Bird sandbox.

Starts the sandbox as its own process, prepares a throw-away AIRFLOW_HOME (embedded SQLite),
runs each sending DAG with `airflow dags test` (naming its file, and showing the provider's
own log lines from the run) and prints what the sandbox received. Then the return path, which
needs a running Airflow: `airflow standalone` on another throw-away home, where an inbound SMS
starts a DAG run and an approval is answered by an SMS reply. Stops everything it started."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
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
    to = mask_phone(recipient_of(message))
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


class Standalone:
    """`airflow standalone` (scheduler, triggerer, API server, DAG processor) on a throw-away
    home with embedded SQLite, driven through its REST API; stopped with its processes."""

    def __init__(self, home: Path, connection_env: dict[str, str]):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.home = home
        self.log = home / "standalone.log"
        self.env = {
            **os.environ,
            **connection_env,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__API__PORT": str(self.port),
            # Where tasks reach the API server that runs them (its default port is 8080).
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            # A demo on this machine alone: every request is the admin's, no login.
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        }

    def __enter__(self) -> Standalone:
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        self.process = subprocess.Popen(
            ["airflow", "standalone"],
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v2/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def until(self, what: str, check, timeout: float = 120):
        """`check()` once it is true, looking every second."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"airflow standalone exited; its log: {self.log}")
            try:
                found = check()
            except (OSError, sqlite3.Error):
                found = None  # not up yet
            if found:
                return found
            time.sleep(1)
        raise RuntimeError(f"{what}: not within {timeout:.0f} s; the log: {self.log}")

    def watching(self) -> bool:
        """Whether the inbound watcher has started (it keeps its cursor in its asset's state:
        an SMS that comes before then is not one it waits for)."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            rows = db.execute(
                "SELECT 1 FROM asset_state_store WHERE key LIKE 'airflow_provider_sms.inbound:%'"
            ).fetchall()
        return bool(rows)

    def finished(self, dag_id: str) -> dict | None:
        """The DAG's latest run, once it has finished."""
        runs = self.api("GET", f"dags/{dag_id}/dagRuns?order_by=-run_after")["dag_runs"]
        return runs[0] if runs and runs[0]["state"] in ("success", "failed") else None


INBOUND_DAG, APPROVAL_DAG = "example_inbound_support", "example_sms_approval"
CUSTOMER, MANAGER = "+12025550199", "+12025550170"


def return_path(sandbox: SandboxProcess) -> bool:
    """An inbound SMS starting a DAG run; an approval answered by an SMS reply."""
    print(
        "\nThe return path needs a running Airflow: starting `airflow standalone` ...", flush=True
    )
    with Standalone(ROOT / ".demo" / "standalone_home", sandbox.connection_env) as airflow:
        for dag_id in (INBOUND_DAG, APPROVAL_DAG):
            airflow.until(f"{dag_id} parsed", lambda d=dag_id: airflow.api("GET", f"dags/{d}"))
            airflow.api("PATCH", f"dags/{dag_id}", {"is_paused": False})
        print(f"  up at http://127.0.0.1:{airflow.port}; the DAGs are unpaused", flush=True)

        print(f"\nexample_dags/{INBOUND_DAG}.py: a customer texts the support line", flush=True)
        airflow.until("the inbound watcher started", airflow.watching)
        sandbox.control("POST", "inbound", {"from": CUSTOMER, "text": "My parcel is late"})
        print(f'  {mask_phone(CUSTOMER)} texts "My parcel is late"')
        run = airflow.until("the run the SMS starts", lambda: airflow.finished(INBOUND_DAG))
        print(f"  it started run {run['dag_run_id']}: {run['state']}")
        [answer] = texted(sandbox, CUSTOMER)
        print(f"  the answer: {describe(answer).strip()}")

        print(f"\nexample_dags/{APPROVAL_DAG}.py: the manager approves by SMS", flush=True)
        airflow.api("POST", f"dags/{APPROVAL_DAG}/dagRuns", {"logical_date": None})
        asked = airflow.until(
            "the question texted",
            lambda: texted(sandbox, MANAGER),
        )[0]
        for line in asked["body"]["text"]["text"].splitlines():
            print(f"  to {mask_phone(MANAGER)}: {line}")
        sandbox.control("POST", "inbound", {"from": MANAGER, "text": "Approve"})
        print(f'  {mask_phone(MANAGER)} answers "Approve"')
        approval = airflow.until("the approval's run", lambda: airflow.finished(APPROVAL_DAG))
        print(f"  run {approval['dag_run_id']}: {approval['state']}")
        return run["state"] == approval["state"] == "success"


def recipient_of(message: dict) -> str:
    return message["receiver"]["contacts"][0]["identifierValue"]


def texted(sandbox: SandboxProcess, number: str) -> list[dict]:
    """The messages sent to `number`."""
    return [
        m
        for m in sandbox.messages()
        if m.get("direction") == "outgoing" and recipient_of(m) == number
    ]


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
        if not messages:
            return 1
        return 0 if return_path(sandbox) else 1


if __name__ == "__main__":
    sys.exit(main())
