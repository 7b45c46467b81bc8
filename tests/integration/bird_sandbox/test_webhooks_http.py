"""The sandbox plays Bird's side of webhooks (bird_sandbox/webhooks.py, deliveries.py), over
real HTTP: Bird's subscription routes, and deliveries to a receiver on this machine, checked
with a signature computed here, independently of the sandbox's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from sandbox_support import AUTH, channel_url, send, text_message

from bird_sandbox import (
    DELIVERY_FAILS_US,
    MMS_CHANNEL_ID,
    REPLIES_YES_US,
    SMS_CHANNEL_ID,
    WORKSPACE_ID,
    BirdSandbox,
)
from bird_sandbox.process import SandboxProcess

KEY = "whsec-test-key"
PERSON = "+12025550199"
# Fast statuses and retries: a test sees a message's whole life, and a few retries, in a
# fraction of a second.
FAST = {"processing": 0.05, "sent": 0.1, "delivered": 0.15}
RETRIES = [0.1, 0.2, 0.4]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float

    @property
    def json(self):
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint on a loopback port: records every request, and answers each with
    the next status queued in `answers` (204 when none is), after the next delay queued in
    `delays` (else `delay` seconds)."""

    def __init__(self, port: int = 0):
        self.requests: list[Received] = []
        self.answers: deque[int] = deque()
        self.delays: deque[float] = deque()
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the sandbox's connections are

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append(Received(self.path, headers, body, time.time()))
                    status = receiver.answers.popleft() if receiver.answers else 204
                    delay = receiver.delays.popleft() if receiver.delays else receiver.delay
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the sandbox opens a few connections at once

        self.server = Server(("127.0.0.1", port), Handler)
        serve = self.server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str = "/bird") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def sandbox():
    with BirdSandbox(
        status_delays=FAST, webhook_retry_delays=RETRIES, webhook_timeout=1.0, reply_delay=0.05
    ) as running:
        yield running


def subscriptions_url(sb, suffix: str = "", workspace_id: str = WORKSPACE_ID) -> str:
    return f"{sb.base_url}/workspaces/{workspace_id}/webhook-subscriptions{suffix}"


def subscribe(sb, http, url: str, event: str = "sms.inbound", **fields) -> dict:
    body = {"service": "channels", "event": event, "url": url, "signingKey": KEY, **fields}
    response = http.post(subscriptions_url(sb), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def expected_signature(key: str, stamp: str, url: str, body: bytes) -> str:
    """Bird's signature, as its "Verifying a webhook" page spells it."""
    signed = stamp.encode() + b"\n" + url.encode() + b"\n" + hashlib.sha256(body).digest()
    return base64.b64encode(hmac.new(key.encode(), signed, hashlib.sha256).digest()).decode()


def verifies(request: Received, url: str, key: str = KEY) -> bool:
    stamp = request.headers["messagebird-request-timestamp"]
    expected = expected_signature(key, stamp, url, request.body)
    return hmac.compare_digest(expected, request.headers["messagebird-signature"])


def fresh(request: Received) -> bool:
    """Signed within a second or so of when it arrived."""
    return abs(int(request.headers["messagebird-request-timestamp"]) - request.at) < 2


def payloads(requests_: list[Received]) -> list[dict]:
    return [r.json["payload"] for r in requests_]


# subscriptions --------------------------------------------------------------------------


def test_subscriptions_are_created_listed_read_and_deleted(sandbox, http, receiver):
    created = [
        subscribe(sandbox, http, receiver.url(f"/{n}"), "sms.outbound", eventFilters=filters)
        for n, filters in enumerate([[{"key": "channelId", "value": MMS_CHANNEL_ID}], [], None])
    ]
    first = created[0]
    assert set(first) == {
        "id",
        "service",
        "event",
        "url",
        "eventFilters",
        "status",
        "createdAt",
        "updatedAt",
    }
    assert first["eventFilters"] == [{"key": "channelId", "value": MMS_CHANNEL_ID}]
    assert (first["service"], first["event"], first["status"]) == (
        "channels",
        "sms.outbound",
        "active",
    )
    assert created[2]["eventFilters"] == []

    listed = http.get(subscriptions_url(sandbox)).json()
    assert listed == {"results": created}
    page = http.get(subscriptions_url(sandbox), params={"limit": 2}).json()
    assert page["results"] == created[:2]
    rest = http.get(
        subscriptions_url(sandbox), params={"limit": 2, "pageToken": page["nextPageToken"]}
    ).json()
    assert rest == {"results": created[2:]}
    assert http.get(subscriptions_url(sandbox), params={"limit": 0}).status_code == 422

    assert http.get(subscriptions_url(sandbox, f"/{first['id']}")).json() == first
    assert sandbox.webhook_subscriptions() == created
    control = requests.get(f"{sandbox.base_url}/_sandbox/webhooks/subscriptions", timeout=10)
    assert control.json() == {"results": created}
    assert KEY not in json.dumps(control.json())

    deleted = http.delete(subscriptions_url(sandbox, f"/{first['id']}"))
    assert deleted.status_code == 204 and deleted.content == b""
    for answer in (
        http.get(subscriptions_url(sandbox, f"/{first['id']}")),
        http.delete(subscriptions_url(sandbox, f"/{first['id']}")),
    ):
        assert answer.status_code == 404 and answer.json()["code"] == "NotFound"
    assert [s["id"] for s in sandbox.webhook_subscriptions()] == [c["id"] for c in created[1:]]


GOOD = {"service": "channels", "event": "sms.inbound", "url": "https://example.com/bird"}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"service": "payments"}, "service"),
        ({"service": None}, "service"),
        ({"event": "sms.delivered"}, "event"),
        ({"url": "/bird"}, "url"),
        ({"url": "ftp://example.com/bird"}, "url"),
        ({"url": "http://example.com:99999/"}, "url"),
        ({"signingKey": ""}, "signingKey"),
        ({"eventFilters": {"key": "channelId"}}, "eventFilters"),
        ({"eventFilters": [{"key": "colour", "value": "red"}]}, "eventFilters.0"),
        ({"eventFilters": [{"key": "messageStatus", "value": "lost"}]}, "eventFilters.0"),
        ({"eventFilters": [{"key": "interactionType", "value": "opened"}]}, "eventFilters.0"),
        ({"eventFilters": [{"key": "channelId", "value": ""}]}, "eventFilters.0"),
        (
            {
                "eventFilters": [
                    {"key": "channelId", "value": MMS_CHANNEL_ID},
                    {"key": "channelId", "value": SMS_CHANNEL_ID},
                ]
            },
            "eventFilters",
        ),
        ({"callbackUrl": "https://example.com"}, "callbackUrl"),
    ],
)
def test_a_subscription_that_does_not_validate_is_a_422_naming_the_field(
    sandbox, http, change, field
):
    response = http.post(subscriptions_url(sandbox), json={**GOOD, **change})
    assert response.status_code == 422
    assert response.json()["code"] == "InvalidPayload"
    assert field in response.json()["details"]
    assert sandbox.webhook_subscriptions() == []


def test_other_requests_are_refused_as_elsewhere_in_the_sandbox(sandbox, http):
    assert http.post(subscriptions_url(sandbox), json=[GOOD]).status_code == 422
    assert http.post(subscriptions_url(sandbox), data="{").status_code == 400
    assert requests.post(subscriptions_url(sandbox), json=GOOD, timeout=10).status_code == 401
    other = subscriptions_url(sandbox, workspace_id="00000000-0000-4000-8000-000000000000")
    assert http.post(other, json=GOOD).status_code == 404
    assert http.put(subscriptions_url(sandbox), json=GOOD).status_code == 405


def test_a_subscription_without_a_signing_key_gets_deliveries_unsigned(sandbox, http, receiver):
    # Bird's signingKey is optional: without one, there is nothing to sign with.
    body = {**GOOD, "url": receiver.url()}
    assert http.post(subscriptions_url(sandbox), json=body).status_code == 201
    sandbox.receive(PERSON, "Hi")
    [request] = receiver.wait_for(1)
    assert "messagebird-signature" not in request.headers and fresh(request)


def test_a_sixth_subscription_with_the_same_event_and_filters_is_a_conflict(sandbox, http):
    filters = [{"key": "channelId", "value": MMS_CHANNEL_ID}]
    for n in range(5):
        subscribe(sandbox, http, f"https://example.com/{n}", eventFilters=filters)
    response = http.post(
        subscriptions_url(sandbox),
        json={**GOOD, "url": "https://example.com/5", "eventFilters": filters},
    )
    assert response.status_code == 409 and response.json()["code"] == "ConflictingConditions"
    # Another event, or other filters, are other combinations.
    subscribe(sandbox, http, "https://example.com/5", "sms.outbound", eventFilters=filters)
    subscribe(sandbox, http, "https://example.com/5", eventFilters=[])


# what is delivered ----------------------------------------------------------------------


def test_each_inbound_message_is_delivered_signed_as_bird_signs(sandbox, http, receiver):
    url = receiver.url()
    subscription = subscribe(sandbox, http, url)
    started = time.monotonic()
    sandbox.receive(PERSON, "Hi")
    assert time.monotonic() - started < 0.5  # no wait for the delivery
    control = requests.post(
        f"{sandbox.base_url}/_sandbox/inbound", json={"from": PERSON, "text": "Again"}, timeout=10
    )
    assert control.status_code == 200
    send(sandbox, http, text_message(to=REPLIES_YES_US))  # answers YES after reply_delay
    received = receiver.wait_for(3)
    assert sandbox.wait_webhooks_idle(10)

    # Deliveries of different messages go side by side: in any order.
    texts = sorted(r.json["payload"]["body"]["text"]["text"] for r in received)
    assert texts == ["Again", "Hi", "YES"]
    listed = http.get(channel_url(sandbox, suffix="/messages"), params={"limit": 100}).json()
    by_id = {m["id"]: m for m in listed["results"]}
    for request in received:
        assert request.path == "/bird"
        assert request.headers["content-type"] == "application/json"
        assert verifies(request, url) and fresh(request)
        assert request.json["service"] == "channels" and request.json["event"] == "sms.inbound"
        assert request.json["payload"] == by_id[request.json["payload"]["id"]]
    attempts = sandbox.webhook_attempts()
    assert [a["status"] for a in attempts] == [204] * 3
    assert {a["subscription_id"] for a in attempts} == {subscription["id"]}
    assert sorted((a["message_id"], a["body_sha256"]) for a in attempts) == sorted(
        (r.json["payload"]["id"], hashlib.sha256(r.body).hexdigest()) for r in received
    )
    for attempt in attempts:
        assert attempt["queued_at"] <= attempt["sent_at"] <= attempt["answered_at"]
        assert (attempt["attempt"], attempt["error"], attempt["retry_at"]) == (1, None, None)


def test_each_status_a_message_enters_is_delivered_in_order(sandbox, http, receiver):
    subscribe(sandbox, http, receiver.url(), "sms.outbound")
    delivered = send(sandbox, http, text_message()).json()
    failed = send(sandbox, http, text_message(to=DELIVERY_FAILS_US)).json()
    receiver.wait_for(8)
    assert sandbox.wait_webhooks_idle(10)

    by_message: dict[str, list[dict]] = {}
    for payload in payloads(receiver.requests):
        by_message.setdefault(payload["id"], []).append(payload)
    statuses = {key: [p["status"] for p in value] for key, value in by_message.items()}
    assert statuses == {
        delivered["id"]: ["accepted", "processing", "sent", "delivered"],
        failed["id"]: ["accepted", "processing", "sent", "delivery_failed"],
    }
    # Each as getting the message shows it: the first as the POST answered, the last as now.
    for message in (delivered, failed):
        shown = by_message[message["id"]]
        assert shown[0] == message
        assert (
            shown[-1] == http.get(channel_url(sandbox, suffix=f"/messages/{message['id']}")).json()
        )
    assert by_message[failed["id"]][-1]["failure"]["code"] == 15006


def test_a_thousand_messages_are_each_delivered_in_every_status_promptly(sandbox, http, receiver):
    subscribe(sandbox, http, receiver.url(), "sms.outbound")
    batch = channel_url(sandbox, suffix="/batch/messages")
    started = time.monotonic()
    for part in range(10):
        items = [text_message(to=f"+3161{part:03d}{n:04d}") for n in range(100)]
        assert http.post(batch, json={"messageRequests": items}).status_code == 202
    sent = time.monotonic() - started
    assert sandbox.wait_idle(30)  # every batch item is stored
    stored = time.monotonic()
    received = receiver.wait_for(4000, timeout=40)
    assert sandbox.wait_webhooks_idle(20)
    # Measured from when the last message was stored: its last status comes 0.15 s later.
    took = time.monotonic() - stored
    print(f"\n1,000 messages: sent in {sent:.2f} s, 4,000 deliveries done {took:.2f} s later")

    failed = [a for a in sandbox.webhook_attempts() if a["status"] != 204]
    assert failed == [], [(a["error"], a["status"]) for a in failed]
    assert len(received) == 4000
    statuses: dict[str, list[str]] = {}
    for payload in payloads(received):
        statuses.setdefault(payload["id"], []).append(payload["status"])
    assert len(statuses) == 1000
    assert {tuple(s) for s in statuses.values()} == {
        ("accepted", "processing", "sent", "delivered")
    }
    assert took < 20


def test_each_interaction_is_delivered_as_its_message_lists_it(sandbox, http, receiver):
    url = receiver.url()
    subscribe(sandbox, http, url, "sms.interaction")
    clicks = subscribe(
        sandbox,
        http,
        receiver.url("/clicks"),
        "sms.interaction",
        eventFilters=[{"key": "interactionType", "value": "clicked"}],
    )
    message = send(sandbox, http, text_message(text="See https://example.com/a")).json()
    sandbox.interact(message["id"], "clicked")
    sandbox.receive(message["receiver"]["contacts"][0]["identifierValue"], "STOP")
    received = receiver.wait_for(3)
    assert sandbox.wait_webhooks_idle(10)

    listed = http.get(
        channel_url(sandbox, suffix=f"/messages/{message['id']}/interactions")
    ).json()["results"][::-1]
    assert [i["type"] for i in listed] == ["clicked", "unsubscribe-request"]
    everything = [r for r in received if r.path == "/bird"]
    by_id = {i["id"]: i for i in listed}
    assert sorted(r.json["payload"]["id"] for r in everything) == sorted(by_id)
    assert all(r.json["payload"] == by_id[r.json["payload"]["id"]] for r in everything)
    assert {r.json["event"] for r in everything} == {"sms.interaction"}
    [click] = [r for r in received if r.path == "/clicks"]
    assert click.json["payload"] == listed[0] and verifies(click, receiver.url("/clicks"))
    [attempt] = [a for a in sandbox.webhook_attempts() if a["subscription_id"] == clicks["id"]]
    assert attempt["interaction_id"] == listed[0]["id"] and "message_id" not in attempt


def test_filters_choose_the_channel_the_status_and_the_platform(sandbox, http, receiver):
    def on(path: str, event: str, **filters) -> None:
        chosen = [{"key": key, "value": value} for key, value in filters.items()]
        subscribe(sandbox, http, receiver.url(path), event, eventFilters=chosen)

    on("/mms", "sms.outbound", channelId=MMS_CHANNEL_ID)
    on("/delivered", "sms.outbound", messageStatus="delivered")
    on("/platform", "sms.inbound", platformId="sms-messagebird")
    on("/elsewhere", "sms.inbound", platformId="whatsapp")
    mms = send(sandbox, http, text_message()).json()
    sms = send(sandbox, http, text_message(), channel_id=SMS_CHANNEL_ID).json()
    sandbox.receive(PERSON, "Hi")
    receiver.wait_for(7)
    assert sandbox.wait_webhooks_idle(10)

    def seen(path: str) -> list[tuple[str, str]]:
        return [
            (p["id"], p["status"])
            for p in payloads([r for r in receiver.requests if r.path == path])
        ]

    assert seen("/mms") == [
        (mms["id"], status) for status in ("accepted", "processing", "sent", "delivered")
    ]
    assert sorted(seen("/delivered")) == sorted(
        [(mms["id"], "delivered"), (sms["id"], "delivered")]
    )
    assert [status for _, status in seen("/platform")] == ["delivered"]  # the inbound one
    assert seen("/elsewhere") == []


def test_a_subscription_gets_only_what_happens_while_it_exists(sandbox, http, receiver):
    sandbox.receive(PERSON, "Before")
    subscription = subscribe(sandbox, http, receiver.url())
    sandbox.receive(PERSON, "During")
    receiver.wait_for(1)
    assert sandbox.wait_webhooks_idle(10)
    http.delete(subscriptions_url(sandbox, f"/{subscription['id']}"))
    sandbox.receive(PERSON, "After")
    time.sleep(0.1)
    assert sandbox.wait_webhooks_idle(10)
    assert [p["body"]["text"]["text"] for p in payloads(receiver.requests)] == ["During"]


@pytest.mark.parametrize("envelope", ["envelope", "bare", "extended"])
def test_the_envelope_setting_shapes_the_body(sandbox, http, receiver, envelope):
    configured = requests.post(
        f"{sandbox.base_url}/_sandbox/config", json={"webhook_envelope": envelope}, timeout=10
    )
    assert configured.json()["webhook_envelope"] == envelope == sandbox.webhook_envelope
    subscription = subscribe(sandbox, http, receiver.url())
    message = sandbox.receive(PERSON, "Hi")
    [request] = receiver.wait_for(1)
    body = request.json
    assert verifies(request, receiver.url())
    if envelope == "bare":
        assert body == message
        return
    assert {key: body[key] for key in ("service", "event", "payload")} == {
        "service": "channels",
        "event": "sms.inbound",
        "payload": message,
    }
    unknown = set(body) - {"service", "event", "payload"}
    if envelope == "envelope":
        assert unknown == set()
    else:
        assert unknown == {"version", "deliveryAttempt", "meta"}
        assert body["deliveryAttempt"] == 1 and body["meta"]["subscriptionId"] == subscription["id"]


# retries, faults, pauses ------------------------------------------------------------------


def test_a_delivery_answered_500_is_retried_signed_anew_until_it_is_answered_2xx(
    sandbox, http, receiver
):
    url = receiver.url()
    sandbox.webhook_retry_delays = [1.05, 0.1]  # a second apart: timestamps that differ
    receiver.answers.extend([500, 503])
    subscribe(sandbox, http, url)
    sandbox.receive(PERSON, "Hi")
    received = receiver.wait_for(3)
    assert sandbox.wait_webhooks_idle(10)

    assert len(received) == 3 and len({r.body for r in received}) == 1
    assert all(verifies(r, url) and fresh(r) for r in received)
    stamps = [int(r.headers["messagebird-request-timestamp"]) for r in received]
    assert stamps[1] > stamps[0]
    assert received[1].at - received[0].at >= 1.05 and received[2].at - received[1].at >= 0.1
    attempts = sandbox.webhook_attempts()
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, 500), (2, 503), (3, 204)]
    assert [a["retry_at"] is None for a in attempts] == [False, False, True]
    assert attempts[1]["sent_at"] >= attempts[0]["retry_at"] - 0.05
    assert len({a["body_sha256"] for a in attempts}) == 1


def test_a_closed_port_and_a_timeout_are_retried_until_the_endpoint_answers(sandbox, http):
    with socket.socket() as probe:  # a port nobody listens on, until the receiver does
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/bird"
    sandbox.webhook_retry_delays = [0.2, 0.4, 0.4, 0.4, 0.4]
    sandbox.webhook_timeout = 0.3
    subscribe(sandbox, http, url)
    sandbox.receive(PERSON, "Hi")
    deadline = time.monotonic() + 10
    while not sandbox.webhook_attempts() and time.monotonic() < deadline:
        time.sleep(0.01)
    receiver = Receiver(port)
    try:
        receiver.delays.append(0.6)  # beyond the timeout, once
        received = receiver.wait_for(2)
        assert sandbox.wait_webhooks_idle(10)
    finally:
        receiver.close()

    attempts = sandbox.webhook_attempts()
    refused, timed_out, answered = attempts[0], attempts[-2], attempts[-1]
    assert refused["status"] is None and "ConnectionRefused" in refused["error"]
    assert timed_out["status"] is None and "timed out" in timed_out["error"]
    assert answered["status"] == 204 and answered["attempt"] == len(attempts) >= 3
    assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))
    assert len(received) == 2 and received[0].body == received[1].body
    assert all(verifies(r, url) for r in received)


def test_a_delivery_is_given_up_when_the_retry_delays_are_used_up(sandbox, http, receiver):
    sandbox.webhook_retry_delays = [0.05, 0.05]
    receiver.answers.extend([500] * 10)
    subscribe(sandbox, http, receiver.url())
    sandbox.receive(PERSON, "Hi")
    assert sandbox.wait_webhooks_idle(10)
    time.sleep(0.2)
    assert len(receiver.requests) == 3
    attempts = sandbox.webhook_attempts()
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, 500), (2, 500), (3, 500)]
    assert attempts[-1]["retry_at"] is None


def test_a_slow_endpoint_holds_up_neither_requests_nor_other_endpoints(sandbox, http, receiver):
    slow = Receiver()
    try:
        slow.delay = 2.0
        sandbox.webhook_timeout = 3.0
        subscribe(sandbox, http, slow.url())
        subscribe(sandbox, http, receiver.url())
        started = time.monotonic()
        for n in range(3):
            sandbox.receive(PERSON, f"Hi {n}")
        assert time.monotonic() - started < 0.5
        # All three, before the slow endpoint has answered any.
        assert len(receiver.wait_for(3, timeout=1.8)) == 3
        assert time.monotonic() - started < 2.0 and len(slow.requests) <= 3
        assert sandbox.wait_webhooks_idle(10)
        assert len(slow.requests) == 3
    finally:
        slow.close()


def test_a_bad_signature_fault_spoils_the_next_deliveries_only(sandbox, http, receiver):
    url = receiver.url()
    subscribe(sandbox, http, url)
    sandbox.inject("webhook_bad_signature", count=2)
    for text in ("one", "two", "three"):
        sandbox.receive(PERSON, text)
    received = receiver.wait_for(3)
    assert sandbox.wait_webhooks_idle(10)
    fault_of = {a["body_sha256"]: a["fault"] for a in sandbox.webhook_attempts()}
    assert sorted(fault_of.values(), key=str) == [None, *["webhook_bad_signature"] * 2]
    for request in received:
        assert verifies(request, url) == (
            fault_of[hashlib.sha256(request.body).hexdigest()] is None
        )
    assert [r.fault for r in sandbox.requests] == [None]  # a webhook fault is no request's


def test_a_stale_timestamp_fault_signs_correctly_ten_minutes_ago(sandbox, http, receiver):
    url = receiver.url()
    subscribe(sandbox, http, url)
    answer = requests.post(
        f"{sandbox.base_url}/_sandbox/faults", json={"kind": "webhook_stale_timestamp"}, timeout=10
    )
    assert answer.status_code == 200
    sandbox.receive(PERSON, "one")
    sandbox.receive(PERSON, "two")
    stale, current = sorted(
        receiver.wait_for(2), key=lambda r: int(r.headers["messagebird-request-timestamp"])
    )
    assert verifies(stale, url) and verifies(current, url)
    age = stale.at - int(stale.headers["messagebird-request-timestamp"])
    assert 598 <= age <= 602 and fresh(current)


def test_a_duplicate_fault_sends_a_delivery_three_times_each_signed_anew(sandbox, http, receiver):
    url = receiver.url()
    subscribe(sandbox, http, url)
    sandbox.inject("webhook_duplicate")
    sandbox.receive(PERSON, "one")
    sandbox.receive(PERSON, "two")
    received = receiver.wait_for(4)
    assert sandbox.wait_webhooks_idle(10)
    # The two go side by side: the first attempt to start takes the fault.
    by_body: dict[bytes, list[Received]] = {}
    for request in received:
        by_body.setdefault(request.body, []).append(request)
    assert sorted(len(copies) for copies in by_body.values()) == [1, 3]
    assert all(verifies(r, url) for r in received)
    faults = sorted((a["attempt"], str(a["fault"])) for a in sandbox.webhook_attempts())
    assert faults == [(1, "None")] + [(1, "webhook_duplicate")] * 3


def test_paused_deliveries_are_withheld_until_flushed_in_order(sandbox, http, receiver):
    sandbox.webhook_deliveries = "paused"
    subscribe(sandbox, http, receiver.url(), "sms.outbound")
    message = send(sandbox, http, text_message()).json()
    time.sleep(0.3)  # every status
    assert sandbox.wait_webhooks_idle(10)
    withheld = sandbox.webhook_attempts()
    assert len(withheld) == 4 and all(a["withheld"] and a["sent_at"] is None for a in withheld)
    assert receiver.requests == []

    configured = requests.post(
        f"{sandbox.base_url}/_sandbox/config", json={"webhook_deliveries": "on"}, timeout=10
    )
    assert configured.json()["webhook_deliveries"] == "on"
    time.sleep(0.1)
    assert receiver.requests == []
    flushed = requests.post(
        f"{sandbox.base_url}/_sandbox/webhooks/flush",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert flushed.json() == {"flushed": 4}
    received = receiver.wait_for(4)
    assert [p["status"] for p in payloads(received)] == [
        "accepted",
        "processing",
        "sent",
        "delivered",
    ]
    assert {p["id"] for p in payloads(received)} == {message["id"]}
    waited = requests.post(
        f"{sandbox.base_url}/_sandbox/webhooks/wait", json={"timeout": 10}, timeout=20
    )
    assert waited.json() == {"idle": True}
    listed = requests.get(f"{sandbox.base_url}/_sandbox/webhooks/deliveries", timeout=10).json()
    assert [a["status"] for a in listed["results"]] == [None] * 4 + [204] * 4


def test_reset_forgets_subscriptions_and_deliveries_and_stops_retries(sandbox, http, receiver):
    sandbox.webhook_retry_delays = [0.1] * 50
    receiver.answers.extend([500] * 100)
    subscribe(sandbox, http, receiver.url())
    sandbox.inject("webhook_duplicate", count=100)
    sandbox.receive(PERSON, "Hi")
    receiver.wait_for(4)
    sandbox.reset()
    assert sandbox.webhook_subscriptions() == [] and sandbox.webhook_attempts() == []
    assert sandbox.webhook_retry_delays == RETRIES  # the setting as given
    time.sleep(0.2)  # an attempt under way when reset() came
    count = len(receiver.requests)
    time.sleep(0.4)
    assert len(receiver.requests) == count
    assert sandbox.webhook_attempts() == [] and sandbox.wait_webhooks_idle(1)
    assert http.get(subscriptions_url(sandbox)).json() == {"results": []}


def test_a_sandbox_in_a_process_of_its_own_takes_the_settings_on_its_command_line(receiver):
    with SandboxProcess(webhook_envelope="bare", webhook_retry_delays=[0.1]) as sandbox:
        config = sandbox.control("GET", "config")
        assert config["webhook_envelope"] == "bare"
        assert config["webhook_retry_delays"] == [0.1]
        assert (config["webhook_timeout"], config["webhook_deliveries"]) == (5.0, "on")
        answer = requests.post(
            f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/webhook-subscriptions",
            json={**GOOD, "url": receiver.url(), "signingKey": KEY},
            headers=AUTH,
            timeout=10,
        )
        assert answer.status_code == 201
        receiver.answers.append(500)
        message = sandbox.receive(PERSON, "Hi")
        assert sandbox.wait_webhooks_idle(10)
        assert [a["status"] for a in sandbox.webhook_attempts()] == [500, 204]
    assert [r.json for r in receiver.requests] == [message, message]


def test_the_request_log_keeps_no_signing_key(sandbox, http):
    url = f"{sandbox.base_url}/workspaces/{sandbox.workspace_id}/webhook-subscriptions"
    body = {
        "service": "channels",
        "event": "sms.inbound",
        "url": "https://example.com/hook",
        "signingKey": "do-not-keep-me",
    }
    answer = http.post(url, json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    assert "do-not-keep-me" not in repr(sandbox.requests)
