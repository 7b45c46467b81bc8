"""Injected faults over HTTP (bird_sandbox/faults.py), latency and the POST rate limit
(bird_sandbox/gateway.py)."""

from __future__ import annotations

import time

import pytest
import requests
from sandbox_support import channel_url, send, text_message

from bird_sandbox import (
    ACCESS_KEY,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"


def test_status_fault_with_retry_after_then_recovers(sandbox, http):
    sandbox.inject("status", status=429, retry_after="1")
    sandbox.inject("status", count=2, status=503)

    first = send(sandbox, http, text_message())
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    assert set(first.json()) == {"code", "message"}
    assert [send(sandbox, http, text_message()).status_code for _ in range(3)] == [503, 503, 202]
    assert "Retry-After" not in send(sandbox, http, text_message()).headers
    assert len(sandbox.messages) == 2
    assert [r.status for r in sandbox.requests] == [429, 503, 503, 202, 202]


def test_drop_fault_gives_connection_error_without_processing(sandbox, http):
    sandbox.inject("drop")
    with pytest.raises(requests.ConnectionError):
        send(sandbox, http, text_message(), timeout=5)
    assert sandbox.messages == []
    assert sandbox.requests[0].status == 0 and sandbox.requests[0].fault == "drop"
    assert send(sandbox, http, text_message(), timeout=5).status_code == 202


def test_hang_fault_makes_the_client_time_out(sandbox, http):
    sandbox.inject("hang", seconds=1.0)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        send(sandbox, http, text_message(), timeout=(2, 0.3))
    assert time.monotonic() - started < 1.0
    assert sandbox.messages == [] and sandbox.requests[0].status == 0
    assert send(sandbox, http, text_message(), timeout=5).status_code == 202


def test_latency_delays_answers(sandbox, http):
    sandbox.latency = 0.2
    started = time.monotonic()
    assert send(sandbox, http, text_message()).status_code == 202
    assert time.monotonic() - started >= 0.2


def test_rate_limit_answers_429_without_retry_after(sandbox, http):
    sandbox.max_posts_per_second = 5
    responses = [send(sandbox, http, text_message()) for _ in range(8)]
    statuses = [r.status_code for r in responses]
    assert statuses.count(202) == 5 and statuses.count(429) == 3, statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["code"] == "TooManyRequests"
    assert "Retry-After" not in limited.headers
    assert len(sandbox.messages) == 5
    assert [r.status for r in sandbox.requests].count(429) == 3
    # GETs are not counted against the POST limit.
    assert http.get(channel_url(sandbox)).status_code == 200
    time.sleep(1.05)
    assert send(sandbox, http, text_message()).status_code == 202


def test_rejected_recipient_single_send_is_422(sandbox, http):
    sandbox.reject_recipients = {"+15550000002"}
    response = send(sandbox, http, text_message(to="+15550000002"))
    assert response.status_code == 422
    assert "receiver.contacts.0.identifierValue" in response.json()["details"]
