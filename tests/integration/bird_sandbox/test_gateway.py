"""The request pipeline over HTTP (bird_sandbox/gateway.py, routes.BIRD_ROUTES): single sends,
authentication, 404, 405, 400, 422 and 409 answers, channels."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sandbox_support import channel_url, image_message, send, template_message, text_message

from airflow_provider_sms.bird import facts
from bird_sandbox import (
    ACCESS_KEY,
    MMS_CHANNEL_ID,
    MMS_CHANNEL_NUMBER,
    SMS_CHANNEL_ID,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TO = "+31612345678"


def test_text_send_is_accepted_stored_and_recorded(sandbox, http):
    payload = text_message(reference="dag.task:run", tags=["Reminder", "ops-team"])
    response = send(sandbox, http, payload)

    assert response.status_code == 202
    assert response.raw.version == 11 and "Content-Length" in response.headers
    message = response.json()
    uuid.UUID(message["id"])
    assert message["channelId"] == MMS_CHANNEL_ID
    assert message["sender"]["connector"]["identifierValue"] == MMS_CHANNEL_NUMBER
    uuid.UUID(message["sender"]["connector"]["id"])
    contact = message["receiver"]["contacts"][0]
    assert contact["identifierValue"] == TO and contact["type"] == "to" and contact["id"]
    assert message["body"] == payload["body"]
    assert message["reference"] == "dag.task:run"
    assert message["tags"] == ["reminder", "ops-team"]
    assert (message["status"], message["direction"]) == ("accepted", "outgoing")
    for key in ("lastStatusAt", "createdAt", "updatedAt"):
        assert TIMESTAMP.match(message[key]), message[key]
    assert message["meta"]["extraInformation"]["renderedText"] == "Hello from Airflow"

    assert sandbox.messages == [message]
    (recorded,) = sandbox.requests
    assert recorded.method == "POST" and recorded.path.endswith("/messages")
    assert recorded.header("authorization") == f"AccessKey {ACCESS_KEY}"
    assert recorded.json == payload and recorded.status == 202
    assert sandbox.posts_received() == 1

    fetched = http.get(channel_url(sandbox, suffix=f"/messages/{message['id']}"))
    assert fetched.status_code == 200 and fetched.json() == message
    missing = http.get(channel_url(sandbox, suffix=f"/messages/{uuid.uuid4()}"))
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "AccessKey wrong"}, {"Authorization": f"Bearer {ACCESS_KEY}"}]
)
def test_missing_or_wrong_access_key_is_401(sandbox, headers):
    response = requests.post(
        channel_url(sandbox, suffix="/messages"), json=text_message(), headers=headers
    )
    assert response.status_code == 401
    assert response.json()["code"] == "Unauthorized"
    assert sandbox.messages == []
    assert sandbox.requests[0].status == 401


def test_auth_is_checked_before_workspace(sandbox):
    url = f"{sandbox.base_url}/workspaces/{uuid.uuid4()}/channels/{MMS_CHANNEL_ID}/messages"
    assert requests.post(url, json=text_message()).status_code == 401


def test_unknown_workspace_and_channel_are_404(sandbox, http):
    url = f"{sandbox.base_url}/workspaces/{uuid.uuid4()}/channels/{MMS_CHANNEL_ID}/messages"
    response = http.post(url, json=text_message())
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"
    assert "workspace not found" in response.json()["message"]

    response = send(sandbox, http, text_message(), channel_id=str(uuid.uuid4()))
    assert response.status_code == 404 and "channel not found" in response.json()["message"]


def test_non_json_body_is_400(sandbox, http):
    response = http.post(
        channel_url(sandbox, suffix="/messages"),
        data=b"not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"code", "message"}


INVALID = {
    "unknown top-level field": (
        text_message(statusCallback="https://example.com/cb"),
        "statusCallback",
    ),
    "body and template": ({**template_message(), **text_message()}, "template"),
    "neither body nor template": ({"receiver": text_message()["receiver"]}, "body"),
    "empty text": (text_message(text=""), "body.text.text"),
    "eleven images": (image_message(facts.MAX_MEDIA + 1), "body.image.images"),
    "missing receiver": ({"body": text_message()["body"]}, "receiver"),
    "no contacts": ({**text_message(), "receiver": {"contacts": []}}, "receiver.contacts"),
    "bad tag": (text_message(tags=["no/slash"]), "tags.0"),
    "file without contentType": (
        {
            **text_message(),
            "body": {"type": "file", "file": {"files": [{"mediaUrl": "https://e.com/a"}]}},
        },
        "body.file.files.0.contentType",
    ),
}


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_body(body: dict) -> dict:
    return {**text_message(), "body": body}


INVALID.update(
    {
        "relative media URL": (
            _with_body({"type": "image", "image": {"images": [{"mediaUrl": "/a.jpg"}]}}),
            "body.image.images.0.mediaUrl",
        ),
        "no images": (
            _with_body({"type": "image", "image": {"images": []}}),
            "body.image.images",
        ),
        "scheduled too far ahead": (
            text_message(
                scheduledFor=_rfc3339(
                    datetime.now(UTC) + timedelta(days=facts.MAX_SCHEDULE_AHEAD_DAYS + 1)
                )
            ),
            "scheduledFor",
        ),
        "scheduledFor not RFC 3339": (text_message(scheduledFor="tomorrow"), "scheduledFor"),
        "template without projectId or name": (
            {"receiver": text_message()["receiver"], "template": {"version": "latest"}},
            "template.projectId",
        ),
        "template without name or projectId": (
            {"receiver": text_message()["receiver"], "template": {"version": "latest"}},
            "template.name",
        ),
        "contact naming no one": (
            {**text_message(), "receiver": {"contacts": [{"identifierKey": "phonenumber"}]}},
            "receiver.contacts.0",
        ),
        "body type no branch takes": (_with_body({"type": "template"}), "body.type"),
        "unknown body type": (_with_body({"type": "sms", "text": {"text": "x"}}), "body.type"),
        "number parameter given a string": (
            template_message(parameters=[{"type": "number", "key": "n", "value": "1"}]),
            "template.parameters.0.value",
        ),
        "unknown field in the text body": (
            _with_body({"type": "text", "text": {"text": "x", "subject": "y"}}),
            "body.text.subject",
        ),
    }
)


@pytest.mark.parametrize("payload, field", INVALID.values(), ids=INVALID.keys())
def test_invalid_payloads_are_422_with_field_details(sandbox, http, payload, field):
    response = send(sandbox, http, payload)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "InvalidPayload"
    assert field in error["details"], error["details"]
    assert all(isinstance(p, str) for p in error["details"][field])
    assert sandbox.messages == []


def test_mms_on_sms_only_channel_is_409(sandbox, http):
    response = send(sandbox, http, image_message(), channel_id=SMS_CHANNEL_ID)
    assert response.status_code == 409
    assert response.json()["code"] == "ConflictingConditions"
    assert "MMS" in response.json()["message"]
    # The same MMS goes through on the MMS-capable channel.
    assert send(sandbox, http, image_message(facts.MAX_MEDIA)).status_code == 202


def test_get_channel_reports_mms_capability(sandbox, http):
    mms = http.get(channel_url(sandbox, MMS_CHANNEL_ID)).json()
    sms = http.get(channel_url(sandbox, SMS_CHANNEL_ID)).json()
    assert mms["platformId"] == "sms-messagebird" and mms["status"] == "active"
    assert mms["identifier"] == MMS_CHANNEL_NUMBER
    assert mms["capabilities"]["messaging"]["outgoing"]["mms"]["status"] == "active"
    assert sms["capabilities"]["messaging"]["outgoing"]["mms"]["status"] == "inactive"
