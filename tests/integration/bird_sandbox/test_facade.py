"""BirdSandbox (bird_sandbox/facade.py): loopback only, the connection it hands out, settings from
the constructor."""

from __future__ import annotations

import json
import time

import pytest
import requests

from bird_sandbox import (
    ACCESS_KEY,
    DEFAULT_STATUS_DELAYS,
    MMS_CHANNEL_ID,
    SMS_CHANNEL_ID,
    WORKSPACE_ID,
    BirdSandbox,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}


def messages_url(sandbox, suffix: str = "", channel_id: str = MMS_CHANNEL_ID) -> str:
    return f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels/{channel_id}/messages{suffix}"


def test_connection_and_env(sandbox):
    connection = sandbox.connection()
    assert connection == {
        "conn_type": "bird",
        "host": sandbox.base_url,
        "password": ACCESS_KEY,
        "extra": {"workspace_id": WORKSPACE_ID, "channel_id": MMS_CHANNEL_ID},
    }
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    name, value = sandbox.connection_env("bird_sms", channel_id=SMS_CHANNEL_ID)
    assert name == "AIRFLOW_CONN_BIRD_SMS"
    assert json.loads(value)["extra"]["channel_id"] == SMS_CHANNEL_ID


AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"


def text_message(to: str = TO, text: str = "Hello", **extra) -> dict:
    return {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": to}]},
        "body": {"type": "text", "text": {"text": text}},
        **extra,
    }


def test_sandbox_constructed_without_progression():
    with BirdSandbox(status_delays=None) as sandbox, requests.Session() as http:
        http.headers.update(AUTH)
        answer = http.post(messages_url(sandbox), json=text_message()).json()
        time.sleep(DEFAULT_STATUS_DELAYS["delivered"] + 0.1)
        assert sandbox.messages == [answer]
        sandbox.reset()
        assert sandbox.status_delays is None


# Listening address ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.10", "sandbox.example.com"])
def test_a_non_loopback_host_is_refused(host):
    # The sandbox publishes its access key and serves an unauthenticated control API.
    with pytest.raises(ValueError, match="non-loopback"):
        BirdSandbox(host=host)


def test_a_non_loopback_host_is_refused_before_anything_listens(monkeypatch):
    from bird_sandbox import server

    bound = []
    monkeypatch.setattr(server.SandboxHTTPServer, "server_bind", lambda self: bound.append(1))
    with pytest.raises(ValueError):
        BirdSandbox(host="0.0.0.0").start()
    assert bound == []


def test_a_non_loopback_host_is_accepted_when_explicitly_allowed():
    # Constructed only: nothing in the test suite listens beyond loopback.
    sandbox = BirdSandbox(host="0.0.0.0", allow_non_loopback=True)
    assert sandbox._address == ("0.0.0.0", 0)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_hosts_are_accepted(host):
    assert BirdSandbox(host=host)._address == (host, 0)


def test_a_sandbox_on_the_ipv6_loopback_serves_at_its_base_url():
    with BirdSandbox(host="::1") as sandbox:
        assert sandbox.base_url == f"http://[::1]:{sandbox.port}"
        assert sandbox.connection()["host"] == sandbox.base_url
        channel = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}"
        auth = {"Authorization": f"AccessKey {ACCESS_KEY}"}
        assert requests.get(channel, headers=auth, timeout=5).status_code == 200
        inbound = {"from": "+12025550199", "text": "hi"}
        control = f"{sandbox.base_url}/_sandbox/inbound"
        assert requests.post(control, json=inbound, timeout=5).status_code == 200


def test_the_default_sandbox_listens_on_loopback_only():
    with BirdSandbox() as sandbox:
        assert sandbox._server.server_address[0] == "127.0.0.1"
