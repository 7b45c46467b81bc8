"""Following sent messages: what the sensor accepts, how it concludes, what the trigger keeps."""

import logging

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.bird.status import Tally
from airflow_provider_sms.triggers.message_status import (
    MessageStatusTrigger,
    conclude,
    message_targets,
)

LOG = logging.getLogger("test")


def test_targets_come_from_ids_or_from_what_a_send_returned():
    assert message_targets("m1, m2") == (["m1", "m2"], [])
    per_recipient = [
        {"recipient": "+1", "message_id": "m1", "status": "accepted"},
        {"recipient": "+2", "message_id": "m1", "status": "already_sent"},
        {"recipient": "+3", "message_id": None, "status": "submitted", "batch_id": "b1"},
        {"recipient": "+4", "message_id": None, "status": "failed", "error": "422"},
    ]
    assert message_targets(per_recipient) == (["m1"], ["b1"])
    assert message_targets({"total": 100000, "batch_ids": ["b1", "b2"]}) == ([], ["b1", "b2"])
    with pytest.raises(InvalidMessageError, match="without batch_ids"):
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
    assert set(kwargs) == {
        "channel_id",
        "message_ids",
        "batch_ids",
        "bird_conn_id",
        "success_statuses",
        "failure_statuses",
        "poll_interval",
        "end_time",
    }
