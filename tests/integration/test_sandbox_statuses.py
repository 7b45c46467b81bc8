"""The sandbox's status lifecycle: messages move through Bird's statuses as time passes
(accepted, processing, sent, delivered), the magic recipients end otherwise, and all of it is
worked out when a message is read. Through the backend with a stepped clock, over real HTTP,
and with the sandbox in a process of its own."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests

from airflow_provider_sms.bird import schema as bird_schema
from airflow_provider_sms.bird.status import Tally, poll
from airflow_provider_sms.model import normalize_recipients
from airflow_provider_sms.sandbox import (
    ACCESS_KEY,
    DEFAULT_STATUS_DELAYS,
    DELIVERY_FAILS_NL,
    DELIVERY_FAILS_US,
    MAGIC_RECIPIENTS,
    MMS_CHANNEL_ID,
    SENDING_FAILS_NL,
    SENDING_FAILS_US,
    SMS_CHANNEL_ID,
    STAYS_SENT_NL,
    STAYS_SENT_US,
    WORKSPACE_ID,
    BirdSandbox,
    SandboxBackend,
)
from airflow_provider_sms.sandbox.process import SandboxProcess

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"
LIFECYCLE = ["accepted", "processing", "sent", "delivered"]
DELAYS = {"processing": 0.2, "sent": 0.5, "delivered": 1.0}

# What each magic recipient's message ends with, as documented in BirdSandbox's docstring.
DELIVERY_FAILURE = {
    "status": "delivery_failed",
    "reason": "details: absent subscriber; reason: absent_subscriber; code: 27",
    "details": "absent_subscriber",
    "failure": {
        "code": 15006,
        "description": "The carrier could not reach the handset (switched off or out of "
        "coverage): absent subscriber",
        "source": {"name": "sms-messagebird", "code": "27"},
    },
}
SENDING_FAILURE = {
    "status": "sending_failed",
    "reason": "details: no route to the recipient's network; reason: no_route",
    "details": "no_route",
    "failure": {
        "code": 15002,
        "description": "The SMS platform has no route to the recipient's network",
        "source": {"name": "sms-messagebird", "code": "no_route"},
    },
}
FAILURE_KEYS = ("reason", "details", "failure")


def text_message(to: str = TO, text: str = "Hello", **extra) -> dict:
    return {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": to}]},
        "body": {"type": "text", "text": {"text": text}},
        **extra,
    }


def receiver(message: dict) -> str:
    return message["receiver"]["contacts"][0]["identifierValue"]


def parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")


def stamp(moment: float) -> str:
    at = datetime.fromtimestamp(moment, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


def seconds_between(earlier: str, later: str) -> float:
    return (parse(later) - parse(earlier)).total_seconds()


def ending(message: dict) -> dict:
    """A message's status and failure fields (absent ones left out)."""
    return {key: message[key] for key in ("status", *FAILURE_KEYS) if key in message}


class Clock:
    """A UNIX clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))  # a whole second: stamps are exact

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def backend(clock):
    running = SandboxBackend(status_delays=DELAYS, clock=clock)
    yield running
    running.close()


def get(backend: SandboxBackend, message_id: str, channel_id: str = MMS_CHANNEL_ID) -> dict:
    return backend.get_message(WORKSPACE_ID, channel_id, message_id)


# --- the magic numbers themselves ----------------------------------------------------------


def test_magic_numbers_are_valid_numbers_the_provider_sends_to():
    magic = [
        DELIVERY_FAILS_NL,
        DELIVERY_FAILS_US,
        SENDING_FAILS_NL,
        SENDING_FAILS_US,
        STAYS_SENT_NL,
        STAYS_SENT_US,
    ]
    assert normalize_recipients(magic) == magic
    assert set(MAGIC_RECIPIENTS) == set(magic)
    assert [n[:3] for n in magic] == ["+31", "+12"] * 3
    # The US ones are in 555-0100..0199, the range reserved for fiction.
    assert all(n[5:9] == "5550" and n[9] == "1" for n in magic if n.startswith("+1"))
    assert BirdSandbox.delivery_fails_nl == DELIVERY_FAILS_NL
    assert BirdSandbox.stays_sent_us == STAYS_SENT_US


def test_default_delays_are_short():
    assert dict(DEFAULT_STATUS_DELAYS) == {"processing": 0.2, "sent": 0.5, "delivered": 1.0}
    assert SandboxBackend().status_delays == dict(DEFAULT_STATUS_DELAYS)
    assert BirdSandbox().status_delays == dict(DEFAULT_STATUS_DELAYS)


# --- the backend, with a clock that moves when told ----------------------------------------


def test_backend_message_goes_through_each_status_at_its_delay(backend, clock):
    accepted_at = clock.now
    sent = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message())
    assert sent["status"] == "accepted" and sent["createdAt"] == stamp(accepted_at)

    seen = []
    for offset, status, changed_at in [
        (0.0, "accepted", 0.0),
        (0.199, "accepted", 0.0),
        (0.2, "processing", 0.2),
        (0.499, "processing", 0.2),
        (0.5, "sent", 0.5),
        (0.999, "sent", 0.5),
        (1.0, "delivered", 1.0),
        (3600.0, "delivered", 1.0),
    ]:
        clock.now = accepted_at + offset
        message = get(backend, sent["id"])
        assert (offset, message["status"]) == (offset, status)
        assert message["lastStatusAt"] == message["updatedAt"] == stamp(accepted_at + changed_at)
        assert message["createdAt"] == sent["createdAt"]
        assert not set(FAILURE_KEYS) & set(message)
        seen.append(message["status"])
    assert list(dict.fromkeys(seen)) == LIFECYCLE
    # Everything but the status fields is as accepted.
    changed = {"status", "lastStatusAt", "updatedAt"}
    assert {k: v for k, v in message.items() if k not in changed} == {
        k: v for k, v in sent.items() if k not in changed
    }


def test_backend_answers_are_copies_of_the_current_status(backend, clock):
    sent = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message(DELIVERY_FAILS_NL))
    clock.now += 1.0
    failed = get(backend, sent["id"])
    failed["failure"]["code"] = 0
    failed["failure"]["source"]["name"] = "changed"
    again = get(backend, sent["id"])
    assert ending(again) == DELIVERY_FAILURE
    assert backend.messages()[0]["failure"] == DELIVERY_FAILURE["failure"]


@pytest.mark.parametrize(
    "to, timeline, end",
    [
        (DELIVERY_FAILS_NL, ["accepted", "processing", "sent", "delivery_failed"], 1.0),
        (DELIVERY_FAILS_US, ["accepted", "processing", "sent", "delivery_failed"], 1.0),
        (SENDING_FAILS_NL, ["accepted", "processing", "sending_failed"], 0.5),
        (SENDING_FAILS_US, ["accepted", "processing", "sending_failed"], 0.5),
        (STAYS_SENT_NL, ["accepted", "processing", "sent"], 0.5),
        (STAYS_SENT_US, ["accepted", "processing", "sent"], 0.5),
        (TO, LIFECYCLE, 1.0),
    ],
)
def test_backend_magic_numbers_end_as_documented(backend, clock, to, timeline, end):
    accepted_at = clock.now
    sent = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message(to))
    statuses = []
    for offset in (0.0, 0.2, 0.5, 1.0, 86400.0 * 3):
        clock.now = accepted_at + offset
        statuses.append(get(backend, sent["id"])["status"])
    assert list(dict.fromkeys(statuses)) == timeline
    final = get(backend, sent["id"])
    expected = {"delivery_failed": DELIVERY_FAILURE, "sending_failed": SENDING_FAILURE}
    assert ending(final) == expected.get(timeline[-1], {"status": timeline[-1]})
    assert final["lastStatusAt"] == stamp(accepted_at + end)
    # Failure fields appear with the failure, not before.
    clock.now = accepted_at + 0.2
    assert ending(get(backend, sent["id"])) == {"status": "processing"}


def test_backend_first_magic_recipient_decides(backend, clock):
    payload = text_message(TO)
    payload["receiver"]["contacts"] += [
        {"identifierValue": SENDING_FAILS_US},
        {"identifierValue": DELIVERY_FAILS_NL},
    ]
    sent = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, payload)
    clock.now += 5
    assert ending(get(backend, sent["id"])) == SENDING_FAILURE


def test_backend_listing_shows_current_statuses_newest_first_paged(backend, clock):
    start = clock.now
    ids = []
    for index in range(5):  # one message every 0.3 s
        clock.now = start + 0.3 * index
        ids.append(backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message())["id"])
    other = backend.create_message(WORKSPACE_ID, SMS_CHANNEL_ID, text_message())
    # Ages at 1.2 s: 1.2, 0.9, 0.6, 0.3, 0.0 (newest last).
    clock.now = start + 1.2
    first = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=2)
    rest = backend.list_messages(
        WORKSPACE_ID, MMS_CHANNEL_ID, limit=10, page_token=first["nextPageToken"]
    )
    listed = first["results"] + rest["results"]
    assert [m["id"] for m in listed] == ids[::-1]
    assert [m["status"] for m in listed] == [
        "accepted",
        "processing",
        "sent",
        "sent",
        "delivered",
    ]
    assert [m["status"] for m in backend.messages()] == [
        "delivered",
        "sent",
        "sent",
        "processing",
        "accepted",
        "accepted",
    ]
    assert get(backend, other["id"], SMS_CHANNEL_ID)["status"] == "accepted"
    # Later, the same pages show them all delivered.
    clock.now = start + 10
    again = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=2)
    assert [m["status"] for m in again["results"]] == ["delivered", "delivered"]


def test_backend_batch_items_progress_and_rejected_ones_stay_rejected(backend, clock):
    backend.reject_recipients = {"+31620000002"}
    items = [
        text_message("+31620000001"),
        text_message("+31620000002"),
        text_message(DELIVERY_FAILS_US),
        text_message(STAYS_SENT_NL),
    ]
    start = clock.now
    batch = backend.create_batch_messages(WORKSPACE_ID, MMS_CHANNEL_ID, {"messageRequests": items})[
        "batchId"
    ]
    assert backend.wait_idle(5)

    def statuses() -> list[str]:
        listed = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, batch_id=batch)
        return [m["status"] for m in listed["results"][::-1]]

    assert statuses() == ["accepted", "rejected", "accepted", "accepted"]
    clock.now = start + 0.2
    assert statuses() == ["processing", "rejected", "processing", "processing"]
    clock.now = start + 0.5
    assert statuses() == ["sent", "rejected", "sent", "sent"]
    clock.now = start + 60
    assert statuses() == ["delivered", "rejected", "delivery_failed", "sent"]
    listed = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, batch_id=batch)["results"]
    rejected = listed[2]
    assert rejected["failure"]["source"]["name"] == "pre-processing"
    assert 11000 <= rejected["failure"]["code"] < 12000
    assert ending(listed[1]) == DELIVERY_FAILURE


def test_backend_scheduled_message_waits_for_its_time(backend, clock):
    due = clock.now + 3600
    sent = backend.create_message(
        WORKSPACE_ID, MMS_CHANNEL_ID, text_message(scheduledFor=rfc3339(due))
    )
    assert sent["status"] == "scheduled"
    for offset, status in [(0, "scheduled"), (3599.9, "scheduled"), (3600.1, "scheduled")]:
        clock.now = due - 3600 + offset
        assert get(backend, sent["id"])["status"] == status, offset
    clock.now = due + 0.2
    processing = get(backend, sent["id"])
    assert processing["status"] == "processing"
    assert processing["lastStatusAt"] == stamp(due + 0.2)
    clock.now = due + 1.0
    delivered = get(backend, sent["id"])
    assert delivered["status"] == "delivered" and delivered["lastStatusAt"] == stamp(due + 1.0)
    assert delivered["createdAt"] == sent["createdAt"] == stamp(due - 3600)


def test_backend_scheduled_in_the_past_is_accepted_and_progresses(backend, clock):
    sent = backend.create_message(
        WORKSPACE_ID, MMS_CHANNEL_ID, text_message(scheduledFor=rfc3339(clock.now - 60))
    )
    assert sent["status"] == "accepted"
    clock.now += 1
    assert get(backend, sent["id"])["status"] == "delivered"


def test_backend_without_progression_keeps_messages_as_accepted(clock):
    backend = SandboxBackend(status_delays=None, clock=clock)
    try:
        plain = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message())
        magic = backend.create_message(
            WORKSPACE_ID, MMS_CHANNEL_ID, text_message(DELIVERY_FAILS_NL)
        )
        clock.now += 86400
        assert [get(backend, m["id"]) for m in (plain, magic)] == [plain, magic]
        assert backend.status_delays is None
        # Turned on, it applies to messages accepted from then on.
        backend.status_delays = {"processing": 1, "sent": 2, "delivered": 3}
        later = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message())
        clock.now += 3
        assert get(backend, later["id"])["status"] == "delivered"
        assert get(backend, plain["id"])["status"] == "accepted"
        # reset() restores the constructor's setting.
        backend.reset()
        assert backend.status_delays is None
    finally:
        backend.close()


def test_backend_timeline_is_fixed_at_acceptance(clock):
    backend = SandboxBackend(
        status_delays={"processing": 0.1, "sent": 0.3, "delivered": 0.6}, clock=clock
    )
    try:
        start = clock.now
        before = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message())
        backend.status_delays = {"delivered": 10}  # processing and sent are kept
        assert backend.status_delays == {"processing": 0.1, "sent": 0.3, "delivered": 10.0}
        after = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message())
        clock.now = start + 0.6
        assert get(backend, before["id"])["status"] == "delivered"
        assert get(backend, after["id"])["status"] == "sent"
        clock.now = start + 10
        assert get(backend, after["id"])["status"] == "delivered"
        backend.reset()
        assert backend.status_delays == {"processing": 0.1, "sent": 0.3, "delivered": 0.6}
    finally:
        backend.close()


@pytest.mark.parametrize(
    "value, problem",
    [
        ({"processing": -1}, "non-negative"),
        ({"sent": True}, "non-negative"),
        ({"sent": "1"}, "non-negative"),
        ({"sent": float("inf")}, "non-negative"),
        ({"processing": 2, "sent": 1}, "must not decrease"),
        ({"queued": 1}, "unknown status_delays"),
        ([0.1, 0.2, 0.3], "must map"),
    ],
)
def test_backend_refuses_bad_delays(backend, value, problem):
    with pytest.raises(ValueError, match=problem):
        backend.status_delays = value
    assert backend.status_delays == DELAYS
    with pytest.raises(ValueError, match=problem):
        SandboxBackend(status_delays=value)


# --- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def http():
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session


def messages_url(sandbox, suffix: str = "", channel_id: str = MMS_CHANNEL_ID) -> str:
    return f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels/{channel_id}/messages{suffix}"


def watch(read, until: float, interval: float = 0.01) -> list[tuple[float, dict]]:
    """``read()`` every `interval` seconds until the monotonic time `until`: (when the
    answer was in, answer) each time the status changed."""
    changes: list[tuple[float, dict]] = []
    while True:
        message = read()
        now = time.monotonic()
        if not changes or changes[-1][1]["status"] != message["status"]:
            changes.append((now, message))
        if now >= until:
            return changes
        time.sleep(interval)


def test_http_message_goes_through_each_status_in_order(bird_sandbox, http):
    delays = {"processing": 0.4, "sent": 0.8, "delivered": 1.2}
    bird_sandbox.status_delays = delays
    before = time.monotonic()
    answer = http.post(messages_url(bird_sandbox), json=text_message())
    assert answer.status_code == 202 and answer.json()["status"] == "accepted"
    message_id = answer.json()["id"]

    def read() -> dict:
        response = http.get(messages_url(bird_sandbox, f"/{message_id}"))
        assert response.status_code == 200
        return response.json()

    changes = watch(read, until=before + 1.6)
    assert [m["status"] for _, m in changes] == LIFECYCLE
    for (seen_at, message), status in zip(changes[1:], LIFECYCLE[1:], strict=True):
        # Never before its delay.
        assert seen_at - before >= delays[status] - 0.001, (status, seen_at - before)
        assert message["updatedAt"] == message["lastStatusAt"]
        changed_after = seconds_between(message["createdAt"], message["lastStatusAt"])
        assert changed_after == pytest.approx(delays[status], abs=0.0015), status
    assert changes[0][1] == answer.json()  # read before the first change: the same message
    delivered = read()
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


def test_http_batch_messages_progress(bird_sandbox, http):
    delays = {"processing": 0.3, "sent": 0.6, "delivered": 0.9}
    bird_sandbox.status_delays = delays
    bird_sandbox.reject_recipients = {"+31620000002"}
    items = [
        text_message("+31620000001"),
        text_message("+31620000002"),
        text_message(SENDING_FAILS_US),
        text_message(STAYS_SENT_US),
    ]
    before = time.monotonic()
    batch_url = messages_url(bird_sandbox).replace("/messages", "/batch/messages")
    answer = http.post(batch_url, json={"messageRequests": items})
    assert answer.status_code == 202
    batch_id = answer.json()["batchId"]

    def listed() -> list[dict]:
        """The batch, two a page, in the order sent."""
        results, params = [], {"batchId": batch_id, "limit": 2}
        while True:
            page = http.get(messages_url(bird_sandbox), params=params).json()
            results += page["results"]
            if not page.get("nextPageToken"):
                return results[::-1]
            params["pageToken"] = page["nextPageToken"]

    seen: list[list[str]] = [[], [], [], []]
    while time.monotonic() < before + 1.3:
        for statuses, message in zip(seen, listed(), strict=True):
            if not statuses or statuses[-1] != message["status"]:
                statuses.append(message["status"])
        time.sleep(0.01)
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
    due = time.time() + 0.6
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

    assert requests.post(f"{bird_sandbox.base_url}/_sandbox/reset").status_code == 200
    assert bird_sandbox.status_delays == dict(DEFAULT_STATUS_DELAYS)


def test_sandbox_constructed_without_progression():
    with BirdSandbox(status_delays=None) as sandbox, requests.Session() as http:
        http.headers.update(AUTH)
        answer = http.post(messages_url(sandbox), json=text_message()).json()
        time.sleep(DEFAULT_STATUS_DELAYS["delivered"] + 0.1)
        assert sandbox.messages == [answer]
        sandbox.reset()
        assert sandbox.status_delays is None


# --- the sandbox in a process of its own ---------------------------------------------------


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

        def read() -> dict:
            return {m["id"]: m for m in sandbox.messages()}[plain["id"]]

        changes = watch(read, until=before + 1.3)
        assert [m["status"] for _, m in changes] == LIFECYCLE
        for (seen_at, message), status in zip(changes[1:], LIFECYCLE[1:], strict=True):
            assert seen_at - before >= delays[status] - 0.001, status
            changed_after = seconds_between(message["createdAt"], message["lastStatusAt"])
            assert changed_after == pytest.approx(delays[status], abs=0.0015), status
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


def test_command_line_delays():
    import subprocess
    import sys

    from airflow_provider_sms.sandbox.__main__ import _status_delays

    assert _status_delays("0.1,0.2,0.3") == {"processing": 0.1, "sent": 0.2, "delivered": 0.3}
    assert _status_delays('{"sent": 2}') == {"sent": 2}
    assert _status_delays("off") is None
    for bad in ("fast", "1,2", "3,2,1", '{"queued": 1}'):
        run = subprocess.run(
            [sys.executable, "-m", "airflow_provider_sms.sandbox", "--status-delays", bad],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 2 and "status" in run.stderr.lower(), (bad, run.stderr)
