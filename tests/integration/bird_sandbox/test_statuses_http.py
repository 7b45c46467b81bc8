"""Status progression over HTTP (bird_sandbox/statuses.py): each status in order, magic recipients,
batches, scheduled messages, the status_delays setting."""

from __future__ import annotations

import itertools
import time

import pytest
import requests
from sandbox_support import (
    DELIVERY_FAILURE,
    FAILURE_KEYS,
    SENDING_FAILURE,
    ending,
    parse,
    receiver,
    rfc3339,
    seconds_between,
)

from airflow_provider_sms.bird.status import Tally, poll
from bird_sandbox import (
    ACCESS_KEY,
    DEFAULT_STATUS_DELAYS,
    DELIVERY_FAILS_NL,
    DELIVERY_FAILS_US,
    MAGIC_RECIPIENTS,
    MMS_CHANNEL_ID,
    SENDING_FAILS_NL,
    SENDING_FAILS_US,
    STAYS_SENT_NL,
    STAYS_SENT_US,
    WORKSPACE_ID,
)
from bird_sandbox import schema as bird_schema

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"
LIFECYCLE = ["accepted", "processing", "sent", "delivered"]


def text_message(to: str = TO, text: str = "Hello", **extra) -> dict:
    return {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": to}]},
        "body": {"type": "text", "text": {"text": text}},
        **extra,
    }


def messages_url(sandbox, suffix: str = "", channel_id: str = MMS_CHANNEL_ID) -> str:
    return f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels/{channel_id}/messages{suffix}"


def test_http_message_goes_through_each_status_in_order(stepped_sandbox, sandbox_clock, http):
    # Bird's side on a clock stepped by the test: each status is read just before and at its
    # time, however busy the machine.
    delays = {"processing": 0.4, "sent": 0.8, "delivered": 1.2}
    sandbox, clock = stepped_sandbox, sandbox_clock
    sandbox.status_delays = delays
    accepted_at = clock.now
    answer = http.post(messages_url(sandbox), json=text_message())
    assert answer.status_code == 202 and answer.json()["status"] == "accepted"
    url = messages_url(sandbox, f"/{answer.json()['id']}")

    def read_at(seconds: float) -> dict:
        clock.now = accepted_at + seconds
        response = http.get(url)
        assert response.status_code == 200
        return response.json()

    assert read_at(delays["processing"] - 0.001) == answer.json()
    for before, status in itertools.pairwise(LIFECYCLE):
        assert read_at(delays[status] - 0.001)["status"] == before, status
        message = read_at(delays[status])
        assert message["status"] == status
        assert message["updatedAt"] == message["lastStatusAt"]
        changed_after = seconds_between(message["createdAt"], message["lastStatusAt"])
        assert changed_after == pytest.approx(delays[status], abs=0.0015), status
    delivered = read_at(60)
    assert delivered["status"] == "delivered" and not set(FAILURE_KEYS) & set(delivered)


def wait_for(read, done, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


FAST = {"processing": 0.05, "sent": 0.1, "delivered": 0.15}
FINAL = {"delivered", "delivery_failed", "sending_failed", "rejected"}


def test_http_magic_numbers_end_as_documented(bird_sandbox, http):
    bird_sandbox.status_delays = FAST
    targets = [TO, *MAGIC_RECIPIENTS]
    ids = {}
    for to in targets:
        answer = http.post(messages_url(bird_sandbox), json=text_message(to))
        assert answer.status_code == 202 and answer.json()["status"] == "accepted"
        ids[to] = answer.json()["id"]

    def read_all() -> dict[str, dict]:
        return {to: http.get(messages_url(bird_sandbox, f"/{ids[to]}")).json() for to in targets}

    final = wait_for(
        read_all,
        lambda got: all(
            m["status"] in FINAL or (m["status"] == "sent" and MAGIC_RECIPIENTS.get(to) == "sent")
            for to, m in got.items()
        ),
    )
    time.sleep(0.3)  # twice the "delivered" delay: nothing moves any more
    assert read_all() == final
    expected = {
        "delivery_failed": DELIVERY_FAILURE,
        "sending_failed": SENDING_FAILURE,
        "sent": {"status": "sent"},
    }
    assert ending(final[TO]) == {"status": "delivered"}
    for to, outcome in MAGIC_RECIPIENTS.items():
        assert ending(final[to]) == expected[outcome], to
    validator = bird_schema.validator(bird_schema.ref("Message"))
    for message in final.values():
        assert [e.message for e in validator.iter_errors(message)] == [], message
    # The listing and the control API say the same.
    listed = http.get(messages_url(bird_sandbox), params={"limit": 100}).json()["results"]
    assert {m["id"]: m for m in listed} == {m["id"]: m for m in final.values()}
    control = requests.get(f"{bird_sandbox.base_url}/_sandbox/messages").json()["results"]
    assert {m["id"]: m for m in control} == {m["id"]: m for m in final.values()}
    assert {m["id"]: m for m in bird_sandbox.messages} == {m["id"]: m for m in final.values()}


def test_http_provider_reads_the_failure_reason_and_code(bird_sandbox, make_client):
    bird_sandbox.status_delays = {"processing": 0, "sent": 0, "delivered": 0}
    client = make_client()
    ids = [
        client.send_message(MMS_CHANNEL_ID, text_message(to))["id"]
        for to in (TO, DELIVERY_FAILS_US, SENDING_FAILS_NL)
    ]
    tally = Tally(frozenset({"delivered"}), frozenset({"delivery_failed", "sending_failed"}))
    tally.absorb(poll(client, MMS_CHANNEL_ID, message_ids=ids))
    assert tally.pending(ids) == []
    seen = [tally.latest[i] for i in ids]
    assert [(s["status"], s["code"]) for s in seen] == [
        ("delivered", None),
        ("delivery_failed", 15006),
        ("sending_failed", 15002),
    ]
    assert seen[1]["reason"] == DELIVERY_FAILURE["reason"]


def test_http_post_answer_is_accepted_even_with_no_delay(bird_sandbox, http):
    bird_sandbox.status_delays = {"processing": 0, "sent": 0, "delivered": 0}
    answer = http.post(messages_url(bird_sandbox), json=text_message(DELIVERY_FAILS_NL)).json()
    assert answer["status"] == "accepted" and "failure" not in answer
    got = http.get(messages_url(bird_sandbox, f"/{answer['id']}")).json()
    assert ending(got) == DELIVERY_FAILURE
    assert got["lastStatusAt"] == got["createdAt"] == answer["createdAt"]


def test_http_batch_messages_progress(stepped_sandbox, sandbox_clock, http):
    delays = {"processing": 0.3, "sent": 0.6, "delivered": 0.9}
    items = [
        text_message("+31620000001"),
        text_message("+31620000002"),
        text_message(SENDING_FAILS_US),
        text_message(STAYS_SENT_US),
    ]
    sandbox, clock = stepped_sandbox, sandbox_clock
    sandbox.status_delays = delays
    sandbox.reject_recipients = {"+31620000002"}
    accepted_at = clock.now
    batch_url = messages_url(sandbox).replace("/messages", "/batch/messages")
    answer = http.post(batch_url, json={"messageRequests": items})
    assert answer.status_code == 202
    batch_id = answer.json()["batchId"]

    def listed() -> list[dict]:
        """The batch, two a page, in the order sent."""
        results, params = [], {"batchId": batch_id, "limit": 2}
        while True:
            page = http.get(messages_url(sandbox), params=params).json()
            results += page["results"]
            if not page.get("nextPageToken"):
                return results[::-1]
            params["pageToken"] = page["nextPageToken"]

    # Read every 50 ms of Bird's time for 1.3 s.
    seen: list[list[str]] = [[], [], [], []]
    for step in range(27):
        clock.now = accepted_at + step * 0.05
        for statuses, message in zip(seen, listed(), strict=True):
            if not statuses or statuses[-1] != message["status"]:
                statuses.append(message["status"])
    assert seen == [
        LIFECYCLE,
        ["rejected"],
        ["accepted", "processing", "sending_failed"],
        ["accepted", "processing", "sent"],
    ]
    final = listed()
    assert [receiver(m) for m in final] == [receiver(i) for i in items]
    assert final[1]["failure"]["source"]["name"] == "pre-processing"
    assert 11000 <= final[1]["failure"]["code"] < 12000
    assert ending(final[2]) == SENDING_FAILURE
    assert ending(final[3]) == {"status": "sent"}


def test_http_scheduled_message_waits_for_its_time(bird_sandbox, http):
    bird_sandbox.status_delays = FAST
    # The time as sent: Bird's timestamps carry milliseconds, and the rest is cut off.
    due = parse(rfc3339(time.time() + 0.6)).timestamp()
    answer = http.post(messages_url(bird_sandbox), json=text_message(scheduledFor=rfc3339(due)))
    assert answer.status_code == 202 and answer.json()["status"] == "scheduled"
    url = messages_url(bird_sandbox, f"/{answer.json()['id']}")

    def read() -> dict:
        return http.get(url).json()

    reads = 0
    while time.time() < due - 0.1:
        status = read()["status"]
        # On a busy machine a read may reach the server after the due time: judge only those
        # answered before it.
        if time.time() < due:
            assert status == "scheduled"
            reads += 1
        time.sleep(0.05)
    assert reads
    final = wait_for(read, lambda m: m["status"] == "delivered")
    assert final["status"] == "delivered"
    assert time.time() >= due + FAST["delivered"]
    assert parse(final["lastStatusAt"]).timestamp() == pytest.approx(
        due + FAST["delivered"], abs=0.002
    )


def test_http_config_sets_and_reports_the_delays(bird_sandbox, http):
    control = f"{bird_sandbox.base_url}/_sandbox/config"
    assert requests.get(control).json()["status_delays"] == dict(DEFAULT_STATUS_DELAYS)
    changed = requests.post(control, json={"status_delays": {"delivered": 5}})
    assert changed.status_code == 200
    assert changed.json()["status_delays"] == {"processing": 0.2, "sent": 0.5, "delivered": 5.0}
    for bad in ({"sent": -1}, {"processing": 3, "sent": 2}, {"queued": 1}, [1, 2, 3], "fast"):
        refused = requests.post(control, json={"status_delays": bad})
        assert refused.status_code == 400 and "status_delays" in refused.json()["message"]
    assert bird_sandbox.status_delays["delivered"] == 5.0

    off = requests.post(control, json={"status_delays": None}).json()
    assert off["status_delays"] is None and bird_sandbox.status_delays is None
    answer = http.post(messages_url(bird_sandbox), json=text_message(STAYS_SENT_NL)).json()
    time.sleep(0.3)
    assert http.get(messages_url(bird_sandbox, f"/{answer['id']}")).json() == answer

    assert requests.post(f"{bird_sandbox.base_url}/_sandbox/reset", json={}).status_code == 200
    assert bird_sandbox.status_delays == dict(DEFAULT_STATUS_DELAYS)
