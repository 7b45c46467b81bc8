"""The control API over HTTP (sandbox/control.py, routes.CONTROL_ROUTES): inspection,
configuration, faults, reset."""

from __future__ import annotations

import requests
from sandbox_support import send, text_message

from airflow_provider_sms.sandbox import (
    ACCESS_KEY,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"


def test_control_api(sandbox, http):
    control = f"{sandbox.base_url}/_sandbox"
    config = requests.post(
        f"{control}/config", json={"reject_recipients": [TO], "max_posts_per_second": 100}
    ).json()
    assert config["reject_recipients"] == [TO] and config["max_posts_per_second"] == 100
    assert send(sandbox, http, text_message()).status_code == 422

    fault = requests.post(f"{control}/faults", json={"kind": "status", "status": 500})
    assert fault.status_code == 200
    assert send(sandbox, http, text_message(to="+15550000009")).status_code == 500
    assert send(sandbox, http, text_message(to="+15550000009")).status_code == 202
    assert requests.post(f"{control}/faults", json={"kind": "explode"}).status_code == 400

    messages = requests.get(f"{control}/messages").json()["results"]
    assert [m["receiver"]["contacts"][0]["identifierValue"] for m in messages] == ["+15550000009"]
    recorded = requests.get(f"{control}/requests").json()["results"]
    assert [r["status"] for r in recorded] == [422, 500, 202]
    assert recorded[0]["headers"]["Authorization"] == f"AccessKey {ACCESS_KEY}"

    assert requests.post(f"{control}/reset").status_code == 200
    assert requests.get(f"{control}/messages").json() == {"results": []}
    assert sandbox.requests == [] and sandbox.reject_recipients == set()
    assert sandbox.max_posts_per_second is None


def test_reset_clears_state_and_pending_faults(sandbox, http):
    send(sandbox, http, text_message())
    sandbox.inject("status", count=5, status=502)
    sandbox.latency = 0.5
    sandbox.reset()
    assert sandbox.messages == [] and sandbox.requests == [] and sandbox.latency == 0.0
    assert send(sandbox, http, text_message()).status_code == 202
