"""The backend's operations called without HTTP (bird_sandbox/backend.py and its parts)."""

from __future__ import annotations

import uuid

import pytest
from sandbox_support import image_message, text_message

from airflow_provider_sms.bird import facts
from bird_sandbox import (
    MMS_CHANNEL_ID,
    QUIET_HOURS_CHANNEL_ID,
    SMS_CHANNEL_ID,
    WORKSPACE_ID,
)
from bird_sandbox.backend import ApiError

TO = "+31612345678"


def receivers(messages: list[dict]) -> list[str]:
    return [m["receiver"]["contacts"][0]["identifierValue"] for m in messages]


def test_backend_operations_answer_like_bird(still_backend):
    sent = still_backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message(reference="r-1"))
    assert (sent["status"], sent["reference"], sent["channelId"]) == (
        "accepted",
        "r-1",
        MMS_CHANNEL_ID,
    )
    assert still_backend.get_message(WORKSPACE_ID, MMS_CHANNEL_ID, sent["id"]) == sent
    assert still_backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID) == {"results": [sent]}
    assert still_backend.list_messages(WORKSPACE_ID, SMS_CHANNEL_ID) == {"results": []}

    sms = still_backend.get_channel(WORKSPACE_ID, SMS_CHANNEL_ID)
    assert sms["capabilities"]["messaging"]["outgoing"]["mms"]["status"] == "inactive"
    first = still_backend.list_channels(WORKSPACE_ID, limit=1)
    second = still_backend.list_channels(WORKSPACE_ID, limit=1, page_token=first["nextPageToken"])
    third = still_backend.list_channels(WORKSPACE_ID, limit=1, page_token=second["nextPageToken"])
    assert "nextPageToken" not in third
    pages = first["results"] + second["results"] + third["results"]
    assert [c["id"] for c in pages] == [MMS_CHANNEL_ID, SMS_CHANNEL_ID, QUIET_HOURS_CHANNEL_ID]
    assert still_backend.list_channels(WORKSPACE_ID) == {"results": pages}

    # Answers are copies: changing one changes nothing stored.
    sent["status"] = "delivered"
    assert (
        still_backend.get_message(WORKSPACE_ID, MMS_CHANNEL_ID, sent["id"])["status"] == "accepted"
    )
    assert still_backend.messages()[0]["status"] == "accepted"


def test_backend_batch_items_are_validated_after_the_answer(still_backend):
    still_backend.reject_recipients = {"+15550000002"}
    items = [text_message(to="+15550000001"), text_message(to="+15550000002")]
    answer = still_backend.create_batch_messages(
        WORKSPACE_ID, MMS_CHANNEL_ID, {"messageRequests": items}
    )
    uuid.UUID(answer["batchId"])
    # Listing by batch waits for the batch's items to be processed.
    listed = still_backend.list_messages(WORKSPACE_ID, MMS_CHANNEL_ID, batch_id=answer["batchId"])
    assert [(receivers([m])[0], m["status"]) for m in listed["results"]] == [
        ("+15550000002", "rejected"),
        ("+15550000001", "accepted"),
    ]
    # A batch belongs to the channel it was sent on.
    other = still_backend.list_messages(WORKSPACE_ID, SMS_CHANNEL_ID, batch_id=answer["batchId"])
    assert other == {"results": []}
    assert still_backend.wait_idle(1) and still_backend.message_count() == 2


def test_backend_reset_forgets_messages_and_rejections(still_backend):
    still_backend.reject_recipients = {TO}
    still_backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message(to="+15550000001"))
    still_backend.reset()
    assert still_backend.messages() == [] and still_backend.reject_recipients == frozenset()
    assert still_backend.create_message(WORKSPACE_ID, MMS_CHANNEL_ID, text_message())["id"]


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
def test_backend_errors_are_birds(still_backend, call, status, code):
    with pytest.raises(ApiError) as raised:
        call(still_backend)
    assert raised.value.status == status
    assert code is None or raised.value.code == code
    body = raised.value.body()
    assert set(body) <= {"code", "message", "details"} and body["message"]
    assert still_backend.messages() == []
