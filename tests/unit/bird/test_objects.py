"""Reading Bird's message objects defensively: a field missing or of another type is absent."""

import pytest

from airflow_provider_sms.bird.objects import MessageStatus, message_status

RECEIVER = {"contacts": [{"identifierValue": "+12025550111"}]}


def test_a_failed_message_reads_as_its_status_recipient_reason_and_code():
    failed = {
        "id": "m1",
        "status": "delivery_failed",
        "receiver": RECEIVER,
        "failure": {"code": 15005, "description": "unknown subscriber"},
    }
    assert message_status(failed) == MessageStatus(
        "m1", "delivery_failed", "+12025550111", "unknown subscriber", 15005, None
    )
    assert message_status({**failed, "reason": "details: x"}).reason == "details: x"


def test_a_scheduled_message_reads_as_due_and_odd_fields_as_absent():
    due = "2030-01-01T09:00:00Z"
    read = message_status({"id": "m2", "status": "scheduled", "scheduledFor": due})
    assert (read.due, read.recipient, read.reason, read.code) == (due, None, None, None)
    odd = {"id": "m3", "status": 7, "failure": "broken", "scheduledFor": "", "receiver": []}
    assert message_status(odd) == MessageStatus("m3", 7, None, None, None, None)


@pytest.mark.parametrize("message", [None, [], {"status": "sent"}, {"id": 5}])
def test_anything_but_a_message_with_an_id_reads_as_none(message):
    assert message_status(message) is None
