"""The backend's operations called without HTTP (sandbox/backend.py and its parts)."""

from __future__ import annotations

import uuid

import pytest
from sandbox_support import image_message, text_message

from airflow_provider_sms.bird import facts
from airflow_provider_sms.sandbox import (
    MMS_CHANNEL_ID,
    QUIET_HOURS_CHANNEL_ID,
    SMS_CHANNEL_ID,
    WORKSPACE_ID,
    SandboxBackend,
)
from airflow_provider_sms.sandbox.backend import ApiError

TO = "+31612345678"


@pytest.fixture
def backend():
    # Messages keep the status they were accepted with: these tests compare stored messages
    # with the answers to their requests. The status lifecycle has tests of its own.
    running = SandboxBackend(status_delays=None)
    yield running
    running.close()


def receivers(messages: list[dict]) -> list[str]:
    return [m["receiver"]["contacts"][0]["identifierValue"] for m in messages]


def test_backend_operations_answer_like_bird(backend):
    sent = backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message(reference="r-1"))
    assert (sent["status"], sent["reference"], sent["channelId"]) == (
        "accepted",
        "r-1",
        MMS_CHANNEL_ID,
    )
    assert backend.get_message(WORKSPACE_ID, MMS_CHANNEL_ID, sent["id"]) == sent
    assert backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID) == {"results": [sent]}
    assert backend.list_messages(WORKSPACE_ID, SMS_CHANNEL_ID) == {"results": []}

    sms = backend.get_channel(WORKSPACE_ID, SMS_CHANNEL_ID)
    assert sms["capabilities"]["messaging"]["outgoing"]["mms"]["status"] == "inactive"
    first = backend.list_channels(WORKSPACE_ID, limit=1)
    second = backend.list_channels(WORKSPACE_ID, limit=1, page_token=first["nextPageToken"])
    third = backend.list_channels(WORKSPACE_ID, limit=1, page_token=second["nextPageToken"])
    assert "nextPageToken" not in third
    pages = first["results"] + second["results"] + third["results"]
    assert [c["id"] for c in pages] == [MMS_CHANNEL_ID, SMS_CHANNEL_ID, QUIET_HOURS_CHANNEL_ID]
    assert backend.list_channels(WORKSPACE_ID) == {"results": pages}

    # Answers are copies: changing one changes nothing stored.
    sent["status"] = "delivered"
    assert backend.get_message(WORKSPACE_ID, MMS_CHANNEL_ID, sent["id"])["status"] == "accepted"
    assert backend.messages()[0]["status"] == "accepted"


def test_backend_batch_items_are_validated_after_the_answer(backend):
    backend.reject_recipients = {"+15550000002"}
    items = [text_message(to="+15550000001"), text_message(to="+15550000002")]
    answer = backend.create_batch_messages(WORKSPACE_ID, MMS_CHANNEL_ID, {"messageRequests": items})
    uuid.UUID(answer["batchId"])
    # Listing by batch waits for the batch's items to be processed.
    listed = backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, batch_id=answer["batchId"])
    assert [(receivers([m])[0], m["status"]) for m in listed["results"]] == [
        ("+15550000002", "rejected"),
        ("+15550000001", "accepted"),
    ]
    # A batch belongs to the channel it was sent on.
    other = backend.list_messages(WORKSPACE_ID, SMS_CHANNEL_ID, batch_id=answer["batchId"])
    assert other == {"results": []}
    assert backend.wait_idle(1) and backend.message_count() == 2


def test_backend_reset_forgets_messages_and_rejections(backend):
    backend.reject_recipients = {TO}
    backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message(to="+15550000001"))
    backend.reset()
    assert backend.messages() == [] and backend.reject_recipients == frozenset()
    assert backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message())["id"]


BACKEND_ERRORS = {
    "unknown workspace": (
        lambda b: b.create_message(str(uuid.uuid4()), MMS_CHANNEL_ID, text_message()),
        404,
        "NotFound",
    ),
    "unknown channel": (
        lambda b: b.create_message(WORKSPACE_ID, str(uuid.uuid4()), text_message()),
        404,
        "NotFound",
    ),
    "invalid message": (
        lambda b: b.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message(text="")),
        422,
        "InvalidPayload",
    ),
    "not an object": (
        lambda b: b.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, ["not", "a", "message"]),
        422,
        "InvalidPayload",
    ),
    "MMS on an SMS-only channel": (
        lambda b: b.create_message(WORKSPACE_ID, SMS_CHANNEL_ID, image_message()),
        409,
        "ConflictingConditions",
    ),
    "unknown message": (
        lambda b: b.get_message(WORKSPACE_ID, MMS_CHANNEL_ID, str(uuid.uuid4())),
        404,
        "NotFound",
    ),
    "empty batch": (
        lambda b: b.create_batch_messages(WORKSPACE_ID, MMS_CHANNEL_ID, {"messageRequests": []}),
        422,
        "InvalidPayload",
    ),
    "limit 0": (lambda b: b.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=0), 422, None),
    "limit above the maximum": (
        lambda b: b.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, limit=facts.MAX_LIST_LIMIT + 1),
        422,
        None,
    ),
    "limit not a number": (
        lambda b: b.list_channels(WORKSPACE_ID, limit="ten"),
        422,
        None,
    ),
    "bad page token": (
        lambda b: b.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, page_token="garbage!"),
        400,
        "InvalidPageToken",
    ),
    "a channel token for messages": (
        lambda b: b.list_messages(
            WORKSPACE_ID,
            MMS_CHANNEL_ID,
            page_token=b.list_channels(WORKSPACE_ID, limit=1)["nextPageToken"],
        ),
        400,
        "InvalidPageToken",
    ),
}


@pytest.mark.parametrize("call, status, code", BACKEND_ERRORS.values(), ids=BACKEND_ERRORS)
def test_backend_errors_are_birds(backend, call, status, code):
    with pytest.raises(ApiError) as raised:
        call(backend)
    assert raised.value.status == status
    assert code is None or raised.value.code == code
    body = raised.value.body()
    assert set(body) <= {"code", "message", "details"} and body["message"]
    assert backend.messages() == []
