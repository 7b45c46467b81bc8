"""Following delivery against the sandbox when Bird's answers are odd: statuses missing,
unknown or in another case, outages, unknown messages and batches, sends that sent nothing."""

import asyncio
import json
import time
import uuid

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, PokeReturnValue

from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.message_status import MessageStatusSensor
from airflow_provider_sms.triggers.message_status import MessageStatusTrigger
from bird_sandbox import (
    CARRIER_CAPS,
    DELETED_US,
    DELIVERED_UPPER_US,
    SKIPPED_US,
    STATUS_ABSENT_US,
    STATUS_NULL_US,
    STATUS_NUMBER_US,
    THROUGHPUT_CAPPED_US,
    UNDELIVERABLE_US,
    VOLUME_CAPPED_NAMED_US,
    VOLUME_CAPPED_US,
)

GOOD = ["+12025550150", "+12025550151"]


def send(*recipients, **options):
    return SendSmsOperator(
        task_id="send", recipients=list(recipients), text="x", **options
    ).execute({})


def ids(sent):
    return [entry["message_id"] for entry in sent]


def first_event(trigger):
    async def first():
        return await anext(trigger.run())

    return asyncio.run(first()).payload


def trigger(sandbox, message_ids=(), batch_ids=(), seconds=10.0, **options):
    return MessageStatusTrigger(
        channel_id=sandbox.mms_channel_id,
        message_ids=message_ids,
        batch_ids=batch_ids,
        poll_interval=0.2,
        end_time=time.time() + seconds,
        **options,
    )


@pytest.fixture
def quick_retries(stepped_sandbox, monkeypatch):
    """The connection with one client retry, 10 ms apart: an outage outlasts them at once."""
    connection = stepped_sandbox.connection()
    connection["extra"].update(max_retries=1, retry_backoff=0.01)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(connection))
    return stepped_sandbox


def test_missing_null_and_unknown_statuses_are_counted_and_named_never_a_crash(
    checked_sandbox, capsys
):
    sent = send(*GOOD, STATUS_ABSENT_US, STATUS_NULL_US, STATUS_NUMBER_US, UNDELIVERABLE_US)
    event = first_event(trigger(checked_sandbox, ids(sent), seconds=2.5))
    assert event["status"] == "timeout"
    assert event["counts"] == {
        "(no status)": 2,
        "(not a string: int)": 1,
        "delivered": 2,
        "undeliverable": 1,
    }
    assert event["pending"] == {"(no status)": 2, "(not a string: int)": 1, "undeliverable": 1}
    named = [line for line in capsys.readouterr().out.splitlines() if "does not know" in line]
    assert len([m for m in named if "'undeliverable'" in m]) == 1, named  # once, by name
    assert any("'(no status)'" in m for m in named)


def test_statuses_compare_case_insensitively_and_skipped_or_deleted_end_as_failures(
    checked_sandbox,
):
    sent = send(DELIVERED_UPPER_US, SKIPPED_US, DELETED_US)
    started = time.monotonic()
    event = first_event(trigger(checked_sandbox, ids(sent), seconds=20))
    assert time.monotonic() - started < 10, "waited for the timeout"
    assert event["status"] == "failure"
    assert event["counts"] == {"deleted": 1, "delivered": 1, "skipped": 1}
    assert sorted(f["status"] for f in event["failures"]) == ["deleted", "skipped"]


def test_an_outage_beyond_the_client_retries_does_not_end_the_wait(quick_retries, sandbox_clock):
    sent = send(*GOOD)
    sandbox_clock.now += 1.2  # delivered by the time the outage ends
    # Ten reads in a row fail: five polls' worth with one client retry each.
    quick_retries.inject("status", count=10, status=503, method="GET")
    event = first_event(trigger(quick_retries, ids(sent), seconds=60))
    assert event["status"] == "success" and event["counts"] == {"delivered": 2}


def test_a_retry_after_never_pushes_the_wait_past_its_deadline(quick_retries):
    sent = send(*GOOD)
    quick_retries.inject("status", count=1000, status=429, retry_after="30", method="GET")
    started = time.monotonic()
    event = first_event(trigger(quick_retries, ids(sent), seconds=1.5))
    assert time.monotonic() - started < 5
    assert event["status"] == "timeout"
    assert "429" in event["last_error"]


def test_an_unknown_message_fails_alone(checked_sandbox):
    sent = send(*GOOD)
    unknown = str(uuid.uuid4())
    event = first_event(trigger(checked_sandbox, [*ids(sent), unknown]))
    assert event["status"] == "failure"
    assert event["counts"] == {"delivered": 2, "not_found": 1}
    [failure] = event["failures"]
    assert failure["message_id"] == unknown and "404" in failure["reason"]


def test_a_batch_that_lists_nothing_fails_as_such(checked_sandbox):
    unknown = str(uuid.uuid4())
    started = time.monotonic()
    event = first_event(
        trigger(checked_sandbox, batch_ids=[unknown], seconds=30, empty_batch_timeout=1.0)
    )
    assert time.monotonic() - started < 10
    assert event["status"] == "failure"
    [failure] = event["failures"]
    assert failure["batch_id"] == unknown and failure["status"] == "batch_lists_no_message"


@pytest.mark.parametrize(
    ("value", "field", "problem"),
    [
        ({"total": 200, "batch_ids": [None]}, "batch_ids[0]", "expected a UUID, got NoneType"),
        ({"total": 200, "batch_ids": ["nope"]}, "batch_ids[0]", "expected a UUID, got 'nope'"),
        (
            [{"recipient": "+1", "message_id": None, "status": "submitted", "batch_id": "b1"}],
            "message_ids[0].batch_id",
            "expected a UUID, got 'b1'",
        ),
        ("not-an-id", "message_ids[0]", "expected a UUID, got 'not-an-id'"),
    ],
)
def test_malformed_ids_are_refused_before_polling(checked_sandbox, value, field, problem):
    sensor = MessageStatusSensor(task_id="wait", deferrable=True, message_ids=value, timeout=30)
    with pytest.raises(AirflowFailException, match=rf"{__import__('re').escape(field)}: "):
        sensor.execute({})
    with pytest.raises(AirflowFailException) as refused:
        sensor.poke({})
    assert problem in str(refused.value)
    assert not any(r.method == "GET" for r in checked_sandbox.requests)


def test_a_send_that_sent_nothing_fails_the_wait_at_once(checked_sandbox):
    checked_sandbox.reject_recipients = set(GOOD)
    sent = send(*GOOD, fail_on_partial_failure=False)
    assert {entry["status"] for entry in sent} == {"failed"}
    for deferrable in (True, False):
        sensor = MessageStatusSensor(task_id="wait", message_ids=sent, deferrable=deferrable)
        with pytest.raises(AirflowFailException, match=r"sent nothing: all 2 recipient"):
            sensor.execute({})


def test_recipients_never_sent_count_as_failed(stepped_sandbox, sandbox_clock):
    checked_sandbox = stepped_sandbox
    checked_sandbox.reject_recipients = {GOOD[1]}
    sent = send(*GOOD, fail_on_partial_failure=False)
    sensor = MessageStatusSensor(task_id="wait", message_ids=sent, deferrable=False)
    sandbox_clock.now += 1.2
    with pytest.raises(AirflowFailException) as failed:
        sensor.poke({})
    text = str(failed.value)
    assert "1 of 2 message(s) failed" in text and "'not_sent': 1" in text
    assert "to +120******51: not_sent: " in text  # the recipient never sent, masked
    assert GOOD[1] not in text
    # Deferred, the same conclusion when the trigger reports the rest delivered.
    event = first_event(trigger(checked_sandbox, [e["message_id"] for e in sent[:1]]))
    with pytest.raises(AirflowFailException, match=r"'not_sent': 1"):
        sensor.execute_complete({}, event)


def test_a_poke_during_an_outage_is_not_done_and_does_not_fail(quick_retries, sandbox_clock):
    sent = send(*GOOD)
    quick_retries.inject("status", count=2, status=503, method="GET")
    sensor = MessageStatusSensor(task_id="wait", message_ids=sent, deferrable=False)
    assert sensor.poke({}) is False
    sandbox_clock.now += 1.2
    outcome = sensor.poke({})
    assert isinstance(outcome, PokeReturnValue) and outcome.is_done


@pytest.mark.parametrize("recipient, status", [(SKIPPED_US, "skipped"), (DELETED_US, "deleted")])
def test_the_sensor_fails_on_skipped_and_deleted_naming_birds_status(
    checked_sandbox, recipient, status
):
    sent = send(recipient)
    sensor = MessageStatusSensor(task_id="wait", deferrable=True, message_ids=sent, timeout=20)
    event = first_event(trigger(checked_sandbox, ids(sent), seconds=20))
    with pytest.raises(AirflowFailException) as failed:
        sensor.execute_complete({}, event)
    assert f": {status}" in str(failed.value) and "1 of 1 message(s) failed" in str(failed.value)


def test_the_sensor_names_an_unknown_status_at_its_timeout(checked_sandbox):
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout

    sent = send(UNDELIVERABLE_US)
    sensor = MessageStatusSensor(task_id="wait", deferrable=True, message_ids=sent, timeout=2)
    event = first_event(trigger(checked_sandbox, ids(sent), seconds=2))
    with pytest.raises(AirflowSensorTimeout) as timed_out:
        sensor.execute_complete({}, event)
    assert "still pending: {'undeliverable': 1}" in str(timed_out.value)


def test_a_wait_ending_on_carrier_caps_names_them_wherever_bird_puts_the_code(checked_sandbox):
    # Each capped number names its cap in one place only: the failure's source code (106),
    # the failure code (107), the reason's text (EC_CAMPAIGN_VOLUME_EXCEEDED).
    assert set(CARRIER_CAPS) == {VOLUME_CAPPED_US, THROUGHPUT_CAPPED_US, VOLUME_CAPPED_NAMED_US}
    sent = send(VOLUME_CAPPED_US, THROUGHPUT_CAPPED_US, VOLUME_CAPPED_NAMED_US, GOOD[0])
    sensor = MessageStatusSensor(task_id="wait", message_ids=sent, timeout=20)
    event = first_event(trigger(checked_sandbox, ids(sent), seconds=20))
    assert event["carrier_caps"] == {"106": 2, "107": 1}
    with pytest.raises(AirflowFailException) as failed:
        sensor.execute_complete({}, event)
    text = str(failed.value)
    assert text.startswith("3 of 4 message(s) failed")
    assert (
        "3 failed on US carriers' caps, which Bird still charges for: "
        "106 EC_CAMPAIGN_VOLUME_EXCEEDED (T-Mobile's daily cap of messages per brand): 2; "
        "107 EC_CAMPAIGN_THROUGHPUT_EXCEEDED (AT&T's cap on a campaign's throughput): 1"
    ) in text
    assert text.count("[carrier cap 106]") == 2 and text.count("[carrier cap 107]") == 1
