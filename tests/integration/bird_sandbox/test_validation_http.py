"""Validation and answers against Bird's published schema, over HTTP
(bird_sandbox/validation.py)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import support
from sandbox_support import channel_url, image_message, send, template_message, text_message

from airflow_provider_sms.bird import facts
from bird_sandbox import (
    ACCESS_KEY,
    TEMPLATE_VERSION_ID,
)
from bird_sandbox import schema as bird_schema

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


VALID_SAMPLES = [
    text_message(),
    text_message(reference="ref-1", tags=["a", "b c"], validity=600, ignoreQuietHours=True),
    text_message(meta={"extraInformation": {"useCase": "transactional"}}),
    image_message(),
    image_message(facts.MAX_MEDIA),
    {
        "receiver": {"contacts": [{"identifierValue": "+12025550199"}]},
        "body": {
            "type": "file",
            "file": {
                "files": [{"mediaUrl": "https://e.com/a.pdf", "contentType": "application/pdf"}],
                "metadata": {"subject": "Report", "fallbackText": "See link"},
            },
        },
    },
    template_message(),
    template_message(TEMPLATE_VERSION_ID, "nl"),
    text_message(scheduledFor="2030-01-01T00:00:00.000Z", shortLinks={"domain": "default"}),
    text_message(meta={"sms": {"smartEncoding": True}}),
]

# Invalid for both: Bird's schema can tell these apart too.
INVALID_SAMPLES = [
    text_message(statusCallback="https://example.com"),
    {"body": {"type": "text", "text": {"text": "no receiver"}}},
    {"receiver": text_message()["receiver"]},
    text_message(text=""),
    text_message(tags=["x"] * 11),
    text_message(tags=["bad/tag"]),
    {**text_message(), "body": {"type": "image", "image": {"images": [{"altText": "x"}]}}},
    text_message(meta={"sms": {"smartEncoding": "yes"}}),
    {**text_message(), "body": {"type": "template"}},
]


def test_sandbox_agrees_with_bird_schema(sandbox, http):
    for payload in VALID_SAMPLES:
        payload = json.loads(json.dumps(payload))
        if "scheduledFor" in payload:
            payload["scheduledFor"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        assert send(sandbox, http, payload).status_code == 202, payload
        support.assert_valid_create_message(payload)
    for payload in INVALID_SAMPLES:
        assert send(sandbox, http, payload).status_code == 422, payload
        assert support.bird_errors(payload), payload


def test_malformed_batch_items_are_rejected_not_lost(sandbox, http):
    items = [{"receiver": ["+1"], "body": {"type": "text"}}, {"foo": 1}, text_message()]
    response = http.post(
        channel_url(sandbox, suffix="/batch/messages"), json={"messageRequests": items}
    )
    assert response.status_code == 202
    assert [m["status"] for m in sandbox.messages] == ["rejected", "rejected", "accepted"]
    assert sandbox.messages[0]["failure"]["source"]["code"] == "InvalidPayload"


def test_sms_smart_encoding_is_accepted_as_bird_documents_it(sandbox, http):
    response = send(sandbox, http, text_message(meta={"sms": {"smartEncoding": True}}))
    assert response.status_code == 202, response.text
    assert response.json()["meta"]["sms"] == {"smartEncoding": True}
    for sms, field in [
        ({"smartEncoding": "yes"}, "meta.sms.smartEncoding"),
        ({"encoding": "gsm7"}, "meta.sms.encoding"),
    ]:
        rejected = send(sandbox, http, text_message(meta={"sms": sms}))
        assert rejected.status_code == 422 and field in rejected.json()["details"], rejected.text
    assert send(sandbox, http, text_message(meta={"email": {}})).status_code == 202
    # Bird's published Meta does not list `sms`: an overlay adds it, citing Bird's page.
    published = bird_schema.read_vendored(bird_schema.CREATE_MESSAGE_FILE)
    assert "sms" not in published["components"]["schemas"]["Meta"]["properties"]
    [overlay] = [o for o in bird_schema.OVERLAYS if (o.schema, o.field) == ("Meta", "sms")]
    assert overlay.source == bird_schema.SMART_ENCODING_DOCS
    assert (
        overlay.source.startswith("https://docs.bird.com/") and "smart-encoding" in overlay.source
    )


def test_body_or_template_given_as_null_counts_as_absent(sandbox, http):
    with_null_template = {**text_message(), "template": None}
    assert send(sandbox, http, with_null_template).status_code == 202
    assert "template" not in sandbox.messages[0]
    only_null = {"receiver": text_message()["receiver"], "template": None}
    response = send(sandbox, http, only_null)
    assert response.status_code == 422 and "body" in response.json()["details"]


def _schema_errors(validator, instance) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_answers_match_birds_response_schemas(sandbox, http):
    message_schema = bird_schema.validator(bird_schema.ref("Message"))
    error_schema = bird_schema.validator(bird_schema.ref("ValidationError"))
    for payload in (
        text_message(tags=["Ops"], meta={"sms": {"smartEncoding": True}}),
        image_message(),
        template_message(),
        text_message(scheduledFor=_rfc3339(datetime.now(UTC) + timedelta(days=1))),
    ):
        answer = send(sandbox, http, payload)
        assert answer.status_code == 202, answer.text
        assert _schema_errors(message_schema, answer.json()) == []
    assert sandbox.messages[-1]["status"] == "scheduled"
    # A batch item rejected for its recipient (one rejected for its content keeps that
    # content, which need not be a valid message).
    sandbox.reject_recipients = {"+15550000002"}
    batch = {"messageRequests": [text_message(), text_message(to="+15550000002")]}
    assert http.post(channel_url(sandbox, suffix="/batch/messages"), json=batch).ok
    assert [m["status"] for m in sandbox.messages[-2:]] == ["accepted", "rejected"]
    for message in sandbox.messages:
        assert _schema_errors(message_schema, message) == [], message
    invalid = send(sandbox, http, text_message(text=""))
    assert invalid.status_code == 422
    assert _schema_errors(error_schema, invalid.json()) == []
