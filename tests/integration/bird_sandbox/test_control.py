"""The control API over HTTP (bird_sandbox/control.py, routes.CONTROL_ROUTES): inspection,
configuration, faults, reset; and what keeps a web page in the developer's browser away from
every route (the Host a request names, JSON on control POSTs)."""

from __future__ import annotations

import socket

import pytest
import requests
from sandbox_support import channel_url, send, text_message

from bird_sandbox import ACCESS_KEY, MMS_CHANNEL_ID, WORKSPACE_ID

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

    assert requests.post(f"{control}/reset", json={}).status_code == 200
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


# Each kind of route the sandbox serves: its control API (reads and writes), Bird's API
# (reads, and a POST that stores a message), and the storage host behind presigned uploads.
ROUTES = {
    "control read": ("GET", "/_sandbox/messages", None),
    "control write": ("POST", "/_sandbox/inbound", {"from": "+12025550199", "text": "hi"}),
    "Bird read": ("GET", f"/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/messages", None),
    "Bird write": (
        "POST",
        f"/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/messages",
        text_message(),
    ),
    "storage": ("GET", "/_storage/media/0123456789abcdef", None),
}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize(
    "host",
    [
        "rebound.example:{port}",  # a web page's own name, pointed at 127.0.0.1
        "127.0.0.1.nip.io:{port}",
        "127.0.0.1:{other}",
        "localhost",
        "[::2]:{port}",
        "",
    ],
)
def test_a_request_naming_another_host_is_refused_on_every_route(sandbox, route, host):
    method, path, body = ROUTES[route]
    sandbox.inject("status", status=503, path="/")  # a refused request must not take it
    headers = {**AUTH, "Host": host.format(port=sandbox.port, other=sandbox.port + 1)}
    answer = requests.request(
        method, f"{sandbox.base_url}{path}", json=body, headers=headers, timeout=5
    )
    assert answer.status_code == 400, answer.text
    message = answer.json()["message"]
    assert "DNS rebinding" in message and f"127.0.0.1:{sandbox.port}" in message
    assert f"localhost:{sandbox.port}" in message and f"[::1]:{sandbox.port}" in message
    # Nothing was read, stored, recorded or changed.
    assert answer.json().keys() == {"code", "message"}
    assert sandbox.messages == [] and sandbox.requests == []
    assert send(sandbox, requests, text_message(), headers=AUTH).status_code == 503


def test_a_request_without_a_host_header_is_refused(sandbox):
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(b"GET /_sandbox/messages HTTP/1.0\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LocalHost", "[::1]"])
def test_each_loopback_name_with_the_port_is_answered(sandbox, name):
    host = {"Host": f"{name}:{sandbox.port}"}
    base = sandbox.base_url
    assert requests.get(f"{base}/_sandbox/health", headers=host, timeout=5).status_code == 200
    stored = requests.post(
        f"{base}/_sandbox/inbound",
        json={"from": "+12025550199", "text": "hi"},
        headers=host,
        timeout=5,
    )
    assert stored.status_code == 200
    assert send(sandbox, requests, text_message(), headers={**AUTH, **host}).status_code == 202
    # Presigned URLs name the sandbox as the request did.
    presign = channel_url(sandbox, suffix="/presigned-upload")
    answer = requests.post(presign, json={"contentType": "image/png"}, headers={**AUTH, **host})
    assert answer.json()["uploadUrl"].startswith(f"http://{name}:{sandbox.port}/_storage/")


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("text/plain", b'{"from": "+12025550199", "text": "hi"}'),  # what a web page sends
        ("application/x-www-form-urlencoded", b"from=%2B12025550199&text=hi"),
        ("multipart/form-data; boundary=x", b'--x\r\n\r\n{"from": "+12025550199"}\r\n--x--'),
        (None, b'{"from": "+12025550199", "text": "hi"}'),
        ("application/jsonx", b'{"from": "+12025550199", "text": "hi"}'),
    ],
)
def test_a_control_post_that_is_not_json_is_refused(sandbox, content_type, body):
    control = f"{sandbox.base_url}/_sandbox"
    headers = {} if content_type is None else {"Content-Type": content_type}
    for route in ("inbound", "config", "faults", "reset"):
        answer = requests.post(f"{control}/{route}", data=body, headers=headers, timeout=5)
        assert answer.status_code == 415, (route, answer.text)
        assert "application/json" in answer.json()["message"]
    inbound = {"from": "+12025550199", "text": "hi"}
    requests.post(f"{control}/inbound", json=inbound, timeout=5).raise_for_status()
    # A refused reset forgot nothing; a JSON one, with a charset, is taken.
    assert len(sandbox.messages) == 1
    json_utf8 = {"Content-Type": "Application/JSON; charset=utf-8"}
    assert requests.post(f"{control}/reset", data=b"{}", headers=json_utf8).status_code == 200
    assert sandbox.messages == []


def test_a_browser_preflight_is_never_approved(sandbox):
    # A web page may POST JSON cross-origin only after the sandbox approves an OPTIONS
    # preflight: it answers none, and names no origin.
    answer = requests.options(
        f"{sandbox.base_url}/_sandbox/inbound",
        headers={
            "Origin": "http://rebound.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )
    assert answer.status_code >= 400
    assert not any(name.lower().startswith("access-control-") for name in answer.headers)
