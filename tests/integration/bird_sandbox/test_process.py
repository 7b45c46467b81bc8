"""SandboxProcess (bird_sandbox/process.py): the sandbox in a process of its own, driven through its
control API."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests
from sandbox_support import DELIVERY_FAILURE, ending, seconds_between

from bird_sandbox import (
    ACCESS_KEY,
    DEFAULT_STATUS_DELAYS,
    DELIVERY_FAILS_NL,
    DELIVERY_FAILS_US,
    MMS_CHANNEL_ID,
    SENDING_FAILS_NL,
    WORKSPACE_ID,
)
from bird_sandbox.process import SandboxProcess

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"
LIFECYCLE = ["accepted", "processing", "sent", "delivered"]


def watch(read, last: str, timeout: float = 10.0, interval: float = 0.01) -> list:
    """``read()`` every `interval` seconds until its status is `last` (or `timeout` seconds
    passed): (when the answer was in, answer) each time the status changed."""
    changes: list[tuple[float, dict]] = []
    deadline = time.monotonic() + timeout
    while True:
        message = read()
        now = time.monotonic()
        if not changes or changes[-1][1]["status"] != message["status"]:
            changes.append((now, message))
        if message["status"] == last or now >= deadline:
            return changes
        time.sleep(interval)


def text_message(to: str = TO, text: str = "Hello", **extra) -> dict:
    return {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": to}]},
        "body": {"type": "text", "text": {"text": text}},
        **extra,
    }


def test_sandbox_process_shows_the_same_lifecycle():
    delays = {"processing": 0.3, "sent": 0.6, "delivered": 0.9}
    with SandboxProcess(status_delays=delays) as sandbox, requests.Session() as http:
        http.headers.update(AUTH)
        assert sandbox.control("GET", "config")["status_delays"] == delays
        url = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/messages"
        before = time.monotonic()
        plain = http.post(url, json=text_message()).json()
        failing = http.post(url, json=text_message(DELIVERY_FAILS_US)).json()
        assert (plain["status"], failing["status"]) == ("accepted", "accepted")

        def read(message_id: str = plain["id"]) -> dict:
            return {m["id"]: m for m in sandbox.messages()}[message_id]

        # Wall time here: a busy machine may read too late to see a status (the in-process
        # tests step a clock through each one); those it sees come in order, none early.
        changes = watch(read, "delivered")
        statuses = [m["status"] for _, m in changes]
        assert (
            statuses == sorted(set(statuses), key=LIFECYCLE.index) and statuses[-1] == "delivered"
        )
        for seen_at, message in changes:
            status = message["status"]
            if status == "accepted":
                continue
            assert seen_at - before >= delays[status] - 0.001, status
            changed_after = seconds_between(message["createdAt"], message["lastStatusAt"])
            assert changed_after == pytest.approx(delays[status], abs=0.0015), status
        watch(lambda: read(failing["id"]), "delivery_failed")
        got = http.get(f"{url}/{failing['id']}").json()
        assert ending(got) == DELIVERY_FAILURE
        listed = http.get(url).json()["results"]
        assert [m["status"] for m in listed] == ["delivery_failed", "delivered"]

        # Turned off through the control API; reset() brings the constructor's delays back.
        assert sandbox.configure(status_delays=None)["status_delays"] is None
        frozen = http.post(url, json=text_message(SENDING_FAILS_NL)).json()
        time.sleep(1.0)
        assert http.get(f"{url}/{frozen['id']}").json() == frozen
        sandbox.reset()
        assert sandbox.control("GET", "config")["status_delays"] == delays


def test_sandbox_process_without_progression():
    with SandboxProcess(status_delays=None) as sandbox, requests.Session() as http:
        http.headers.update(AUTH)
        assert sandbox.control("GET", "config")["status_delays"] is None
        url = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/messages"
        answer = http.post(url, json=text_message(DELIVERY_FAILS_NL)).json()
        time.sleep(DEFAULT_STATUS_DELAYS["delivered"] + 0.1)
        assert sandbox.messages() == [answer]


def test_upload_from_the_command_line_and_sandbox_process():
    with SandboxProcess(upload={"media_host": "other"}) as sandbox:
        assert sandbox.control("GET", "config")["upload"]["media_host"] == "other"
    run = subprocess.run(
        [sys.executable, "-m", "bird_sandbox", "--upload", '{"upload_status": 1}'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2, run.stderr


def test_listing_from_the_command_line_and_sandbox_process():
    with SandboxProcess(listing={"page_token_field": None}) as sandbox:
        assert sandbox.control("GET", "config")["listing"]["page_token_field"] is None
        url = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/messages"
        listed = requests.get(url, headers={"Authorization": f"AccessKey {ACCESS_KEY}"}, timeout=5)
        assert listed.json() == {"results": []}
    for bad in ("oldest", '{"order": "sideways"}'):
        run = subprocess.run(
            [sys.executable, "-m", "bird_sandbox", "--listing", bad],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 2, (bad, run.stderr)
