"""Following sent messages: what the sensor accepts, how it concludes, what the trigger keeps."""

import inspect
import logging

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.bird.status import Tally
from airflow_provider_sms.inbound.status import conclude
from airflow_provider_sms.outbound.result import SendResult
from airflow_provider_sms.triggers.message_status import MessageStatusTrigger

LOG = logging.getLogger("test")


def message_targets(value):
    return SendResult.read(value, "message_ids").targets()


def unsent_of(value):
    return SendResult.read(value, "message_ids").unsent()


M1, M2 = "8e00c009-feea-4c29-af72-c179870776ea", "0b0c2f4e-53a5-4d3b-9b8e-1c1e1b0f6a11"
B1, B2 = "5f7a3c1d-2b4e-4f60-8a9b-0c1d2e3f4a5b", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def test_targets_come_from_ids_or_from_what_a_send_returned():
    assert message_targets(f"{M1}, {M2}") == ([M1, M2], [])
    per_recipient = [
        {"recipient": "+1", "message_id": M1, "status": "accepted"},
        {"recipient": "+2", "message_id": M1, "status": "already_sent"},
        {"recipient": "+3", "message_id": None, "status": "submitted", "batch_id": B1},
        {"recipient": "+4", "message_id": None, "status": "failed", "error": "422"},
    ]
    assert message_targets(per_recipient) == ([M1], [B1])
    assert unsent_of(per_recipient) == (
        1,
        [{"recipient": "+*", "status": "not_sent", "reason": "422", "code": None}],
    )
    assert message_targets({"total": 100000, "batch_ids": [B1, B2]}) == ([], [B1, B2])
    with pytest.raises(
        InvalidMessageError, match="summary .* names no message; send with use_batch_api=True"
    ):
        message_targets({"total": 100000, "batch_ids": []})
    with pytest.raises(InvalidMessageError, match=r"message_ids\[0\]"):
        message_targets([{"recipient": "+1"}])


def message(id_, status, recipient="+31612345678", **extra):
    receiver = {"contacts": [{"identifierValue": recipient}]}
    return {"id": id_, "status": status, "receiver": receiver, **extra}


def test_a_tally_stays_small_and_masks_recipients_and_reasons():
    tally = Tally(frozenset({"delivered"}), frozenset({"delivery_failed"}))
    for i in range(100_000):
        tally.take(message(f"m{i}", "delivered"))
    tally.take(
        message(
            "bad",
            "delivery_failed",
            reason="Handset +31612345678 unreachable",
            failure={"code": 21, "description": "x"},
        )
    )
    summary = tally.summary()
    assert summary["counts"] == {"delivered": 100_000, "delivery_failed": 1}
    assert len(str(summary)) < 10_000
    [failure] = summary["failures"]
    assert failure["recipient"] == "+316******78" and failure["code"] == 21
    assert "+31612345678" not in str(summary)
    assert tally.pending(["m1", "unseen"]) == ["unseen"]


def test_conclusions():
    base = {"total": 2, "counts": {"delivered": 2}, "failed": 0, "failures": [], "pending": {}}
    assert conclude({"status": "success", **base}, LOG) == base
    failed = {
        **base,
        "counts": {"delivered": 1, "delivery_failed": 1},
        "failed": 1,
        "failures": [
            {
                "message_id": "m2",
                "recipient": "+316******78",
                "status": "delivery_failed",
                "reason": "handset unreachable",
                "code": 21,
            }
        ],
    }
    with pytest.raises(AirflowFailException) as e:
        conclude({"status": "failure", **failed}, LOG)
    assert "m2 to +316******78: delivery_failed: handset unreachable (failure code 21)" in str(
        e.value
    )
    pending = {**base, "counts": {"delivered": 1, "sent": 1}, "pending": {"sent": 1}}
    with pytest.raises(AirflowSensorTimeout, match=r"1 message\(s\) still pending: \{'sent': 1\}"):
        conclude({"status": "timeout", **pending}, LOG)


def test_the_trigger_serialises_what_it_needs_and_nothing_more():
    trigger = MessageStatusTrigger(
        channel_id="c", message_ids=["m1"], batch_ids=["b1"], poll_interval=2, end_time=5.0
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_sms.triggers.message_status.MessageStatusTrigger"
    again = MessageStatusTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    # Every argument, so that the triggerer rebuilds it as it was (the golden test has them).
    assert set(kwargs) == set(inspect.signature(MessageStatusTrigger).parameters)


def test_a_status_missing_null_or_not_a_string_is_counted_as_such():
    tally = Tally(frozenset({"delivered"}), frozenset({"delivery_failed"}))
    tally.take(message("a", None))
    tally.take({"id": "b", "receiver": {"contacts": []}})
    tally.take(message("c", 7))
    tally.take(message("d", ["delivered"]))
    tally.take(message("e", "delivered"))
    summary = tally.summary()
    assert summary["counts"] == {
        "(no status)": 2,
        "(not a string: int)": 1,
        "(not a string: list)": 1,
        "delivered": 1,
    }
    assert sorted(tally.pending()) == ["a", "b", "c", "d"]
    assert tally.newly_unknown() == {
        "(no status)": 2,
        "(not a string: int)": 1,
        "(not a string: list)": 1,
    }
    assert tally.newly_unknown() == {}  # named once


def test_statuses_compare_case_insensitively_and_unknown_ones_stay_pending_named_once():
    tally = Tally(frozenset({"Delivered"}), frozenset({"delivery_failed"}))
    tally.take(message("a", "DELIVERED"))
    tally.take(message("b", "undeliverable"))
    tally.take(message("c", "scheduled"))
    tally.take(message("d", "Delivery_Failed"))
    assert tally.summary()["counts"] == {
        "delivered": 1,
        "delivery_failed": 1,
        "scheduled": 1,
        "undeliverable": 1,
    }
    assert tally.pending() == ["b", "c"]  # unknown and scheduled wait on
    assert tally.newly_unknown() == {"undeliverable": 1}  # scheduled is Bird's own
    tally.take(message("e", "undeliverable"))
    assert tally.newly_unknown() == {}


def test_skipped_and_deleted_end_as_failures_whatever_the_failure_statuses():
    tally = Tally(frozenset({"delivered"}), frozenset({"delivery_failed"}))
    tally.take(message("a", "skipped"))
    tally.take(message("b", "deleted"))
    outcome = tally.outcome(["a", "b"], [])
    assert outcome["status"] == "failure" and outcome["failed"] == 2


def test_a_wait_on_nothing_fails():
    tally = Tally(frozenset({"delivered"}), frozenset({"delivery_failed"}))
    outcome = tally.outcome([], [])
    assert outcome["status"] == "failure"
    with pytest.raises(AirflowFailException, match="Nothing to wait for"):
        conclude(outcome, LOG)


def test_a_batch_listing_nothing_is_pending_then_failed_once_given_up():
    tally = Tally(frozenset({"delivered"}), frozenset({"delivery_failed"}))
    tally.listed[B1] = 0
    assert tally.outcome([], [B1]) is None
    assert tally.summary([], [B1])["pending"] == {"batch not listed yet": 1}
    with pytest.raises(AirflowSensorTimeout, match=f"listed no message: {B1}"):
        conclude({"status": "timeout", **tally.summary([], [B1])}, LOG)
    tally.give_up([B1])
    outcome = tally.outcome([], [B1])
    assert outcome["status"] == "failure"
    with pytest.raises(AirflowFailException, match=f"batch {B1}: batch_lists_no_message"):
        conclude(outcome, LOG)


def test_unsent_recipients_turn_a_success_into_a_failure_that_names_them():
    base = {"total": 1, "counts": {"delivered": 1}, "failed": 0, "failures": [], "pending": {}}
    unsent = unsent_of(
        [
            {"recipient": "+31612345678", "message_id": M1, "status": "accepted"},
            {"recipient": "+31612345679", "message_id": None, "status": "failed", "error": "x"},
        ]
    )
    with pytest.raises(AirflowFailException) as failed:
        conclude({"status": "success", **base}, LOG, unsent)
    text = str(failed.value)
    assert "1 of 2 message(s) failed" in text and "'not_sent': 1" in text
    assert "to +316******79: not_sent: x" in text and "+31612345679" not in text
    summary = {"total": 300, "accepted": 0, "failed": 300, "failures": [], "batch_ids": []}
    with pytest.raises(InvalidMessageError, match="sent nothing: all 300 failed"):
        message_targets(summary)


def test_the_sensor_takes_airflows_poke_interval():
    from datetime import timedelta

    from airflow_provider_sms.sensors.message_status import MessageStatusSensor

    sensor = MessageStatusSensor(task_id="w", message_ids=[M1], poke_interval=3)
    assert sensor.poke_interval == 3 and sensor.poll_interval == 3
    sensor = MessageStatusSensor(task_id="w", message_ids=[M1], poke_interval=timedelta(seconds=4))
    assert sensor.poll_interval == 4
    assert MessageStatusSensor(task_id="w", message_ids=[M1]).poll_interval == 10
    assert MessageStatusSensor(task_id="w", message_ids=[M1], poll_interval=2).poke_interval == 2
    with pytest.raises(ValueError, match="give one"):
        MessageStatusSensor(task_id="w", message_ids=[M1], poll_interval=2, poke_interval=5)


def test_a_timeout_before_the_due_time_says_when_messages_are_due():
    tally = Tally(frozenset({"delivered"}), frozenset())
    for number, (status, due) in enumerate(
        [
            ("scheduled", "2026-12-03T08:00:00.000Z"),
            ("scheduled", "2026-12-03T17:00:00.000Z"),
            ("delivered", "2026-12-02T07:00:00.000Z"),
        ]
    ):
        tally.take({"id": f"m{number}", "status": status, "scheduledFor": due})
    summary = tally.summary()
    assert summary["pending"] == {"scheduled": 2}
    assert summary["scheduled"] == {
        "count": 2,
        "first_due": "2026-12-03T08:00:00.000Z",
        "last_due": "2026-12-03T17:00:00.000Z",
    }
    with pytest.raises(AirflowSensorTimeout) as info:
        conclude({"status": "timeout", **summary}, logging.getLogger("test"))
    assert (
        "2 still scheduled (not sent yet), due from 2026-12-03T08:00:00.000Z to "
        "2026-12-03T17:00:00.000Z"
    ) in str(info.value)
