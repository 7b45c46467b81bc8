"""Status timelines in the backend with a clock that moves when told (bird_sandbox/statuses.py)."""

from __future__ import annotations

import pytest
from sandbox_support import (
    DELAYS,
    DELIVERY_FAILURE,
    FAILURE_KEYS,
    SENDING_FAILURE,
    ending,
    rfc3339,
    stamp,
)

from bird_sandbox import (
    DELIVERY_FAILS_NL,
    DELIVERY_FAILS_US,
    MMS_CHANNEL_ID,
    SENDING_FAILS_NL,
    SENDING_FAILS_US,
    SMS_CHANNEL_ID,
    STAYS_SENT_NL,
    STAYS_SENT_US,
    WORKSPACE_ID,
    SandboxBackend,
)

TO = "+31612345678"
LIFECYCLE = ["accepted", "processing", "sent", "delivered"]


def text_message(to: str = TO, text: str = "Hello", **extra) -> dict:
    return {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": to}]},
        "body": {"type": "text", "text": {"text": text}},
        **extra,
    }


def get(backend: SandboxBackend, message_id: str, channel_id: str = MMS_CHANNEL_ID) -> dict:
    return backend.get_message(WORKSPACE_ID, channel_id, message_id)


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
