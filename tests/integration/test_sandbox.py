"""The Bird sandbox: its backend's operations called directly, and the whole sandbox over real
HTTP (API behaviour, faults, rate limit, batches, paging, control API, CLI)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
import support

from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird import schema as bird_schema
from airflow_provider_sms.sandbox import (
    ACCESS_KEY,
    INACTIVE_TEMPLATE_VERSION_ID,
    MMS_CHANNEL_ID,
    MMS_CHANNEL_NUMBER,
    SMS_CHANNEL_ID,
    TEMPLATE_PROJECT_ID,
    TEMPLATE_VERSION_ID,
    WORKSPACE_ID,
    BirdSandbox,
    SandboxBackend,
)
from airflow_provider_sms.sandbox.backend import ApiError
from airflow_provider_sms.sandbox.validation import validation_details

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TO = "+31612345678"


def text_message(text: str = "Hello from Airflow", to: str = TO, **extra) -> dict:
    return {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": to}]},
        "body": {"type": "text", "text": {"text": text}},
        **extra,
    }


def image_message(count: int = 1) -> dict:
    images = [{"mediaUrl": f"https://example.com/{i}.jpg"} for i in range(count)]
    return {
        "receiver": {"contacts": [{"identifierValue": "+12025550199"}]},
        "body": {"type": "image", "image": {"images": images, "text": "caption"}},
    }


def template_message(version: str = "latest", locale: str = "en", **template) -> dict:
    parameters = [
        {"type": "string", "key": "name", "value": "Ada"},
        {"type": "string", "key": "date", "value": "1 May"},
    ]
    return {
        "receiver": {"contacts": [{"identifierValue": TO}]},
        "template": {
            "projectId": TEMPLATE_PROJECT_ID,
            "version": version,
            "locale": locale,
            "parameters": parameters,
            **template,
        },
    }


@pytest.fixture
def sandbox():
    # Messages keep the status they were accepted with: these tests compare stored messages
    # with the answers to their POSTs. The status lifecycle has tests of its own.
    with BirdSandbox(status_delays=None) as running:
        yield running


@pytest.fixture
def http():
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session


def channel_url(sb: BirdSandbox, channel_id: str = MMS_CHANNEL_ID, suffix: str = "") -> str:
    return f"{sb.base_url}/workspaces/{WORKSPACE_ID}/channels/{channel_id}{suffix}"


def send(sb, http, payload, channel_id=MMS_CHANNEL_ID, **kwargs) -> requests.Response:
    return http.post(channel_url(sb, channel_id, "/messages"), json=payload, **kwargs)


# --- single sends --------------------------------------------------------------------------


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
        "template without projectId": (
            {"receiver": text_message()["receiver"], "template": {"version": "latest"}},
            "template.projectId",
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


# --- templates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, locale, expected",
    [
        ("latest", "en", "Hi Ada, this is a reminder of your appointment on 1 May."),
        (TEMPLATE_VERSION_ID, "nl", "Hoi Ada, dit is een herinnering aan je afspraak op 1 May."),
    ],
)
def test_template_send_renders_text(sandbox, http, version, locale, expected):
    response = send(sandbox, http, template_message(version, locale))
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["template"]["projectId"] == TEMPLATE_PROJECT_ID
    assert "body" not in message
    assert sandbox.messages[0]["meta"]["extraInformation"]["renderedText"] == expected


@pytest.mark.parametrize(
    "payload, status, where",
    [
        (template_message(projectId=str(uuid.uuid4())), 404, "template project not found"),
        (template_message(INACTIVE_TEMPLATE_VERSION_ID), 409, "not active"),
        (template_message(locale="fr"), 422, "template.locale"),
        (
            template_message(parameters=[{"type": "string", "key": "name", "value": "A"}]),
            422,
            "template.parameters",
        ),
    ],
    ids=["unknown project", "inactive version", "bad locale", "missing parameter"],
)
def test_template_errors(sandbox, http, payload, status, where):
    response = send(sandbox, http, payload)
    assert response.status_code == status, response.text
    error = response.json()
    assert where in error["message"] or where in error.get("details", {})
    assert sandbox.messages == []


# --- faults, latency, rate limit -----------------------------------------------------------


def test_status_fault_with_retry_after_then_recovers(sandbox, http):
    sandbox.inject("status", status=429, retry_after="1")
    sandbox.inject("status", count=2, status=503)

    first = send(sandbox, http, text_message())
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    assert set(first.json()) == {"code", "message"}
    assert [send(sandbox, http, text_message()).status_code for _ in range(3)] == [503, 503, 202]
    assert "Retry-After" not in send(sandbox, http, text_message()).headers
    assert len(sandbox.messages) == 2
    assert [r.status for r in sandbox.requests] == [429, 503, 503, 202, 202]


def test_drop_fault_gives_connection_error_without_processing(sandbox, http):
    sandbox.inject("drop")
    with pytest.raises(requests.ConnectionError):
        send(sandbox, http, text_message(), timeout=5)
    assert sandbox.messages == []
    assert sandbox.requests[0].status == 0 and sandbox.requests[0].fault == "drop"
    assert send(sandbox, http, text_message(), timeout=5).status_code == 202


def test_hang_fault_makes_the_client_time_out(sandbox, http):
    sandbox.inject("hang", seconds=1.0)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        send(sandbox, http, text_message(), timeout=(2, 0.3))
    assert time.monotonic() - started < 1.0
    assert sandbox.messages == [] and sandbox.requests[0].status == 0
    assert send(sandbox, http, text_message(), timeout=5).status_code == 202


def test_latency_delays_answers(sandbox, http):
    sandbox.latency = 0.2
    started = time.monotonic()
    assert send(sandbox, http, text_message()).status_code == 202
    assert time.monotonic() - started >= 0.2


def test_rate_limit_answers_429_without_retry_after(sandbox, http):
    sandbox.max_posts_per_second = 5
    responses = [send(sandbox, http, text_message()) for _ in range(8)]
    statuses = [r.status_code for r in responses]
    assert statuses.count(202) == 5 and statuses.count(429) == 3, statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["code"] == "TooManyRequests"
    assert "Retry-After" not in limited.headers
    assert len(sandbox.messages) == 5
    assert [r.status for r in sandbox.requests].count(429) == 3
    # GETs are not counted against the POST limit.
    assert http.get(channel_url(sandbox)).status_code == 200
    time.sleep(1.05)
    assert send(sandbox, http, text_message()).status_code == 202


def test_rejected_recipient_single_send_is_422(sandbox, http):
    sandbox.reject_recipients = {"+15550000002"}
    response = send(sandbox, http, text_message(to="+15550000002"))
    assert response.status_code == 422
    assert "receiver.contacts.0.identifierValue" in response.json()["details"]


# --- batches -------------------------------------------------------------------------------


def test_batch_accepts_then_rejects_asynchronously_and_lists_by_batch(sandbox, http):
    sandbox.reject_recipients = {"+15550000002"}
    items = [
        text_message(to="+15550000001"),
        text_message(to="+15550000002"),
        text_message(text="", to="+15550000003"),
        template_message(),
        image_message(),
    ]
    response = http.post(
        channel_url(sandbox, suffix="/batch/messages"), json={"messageRequests": items}
    )
    assert response.status_code == 202
    batch_id = response.json()["batchId"]
    uuid.UUID(batch_id)
    assert sandbox.wait_idle(5)

    url = channel_url(sandbox, suffix="/messages")
    first = http.get(url, params={"batchId": batch_id, "limit": 3}).json()
    assert len(first["results"]) == 3 and first["nextPageToken"]
    second = http.get(
        url, params={"batchId": batch_id, "limit": 3, "pageToken": first["nextPageToken"]}
    ).json()
    assert len(second["results"]) == 2 and not second.get("nextPageToken")

    # Listed newest first: reversed, the batch's items in the order they were sent.
    messages = (first["results"] + second["results"])[::-1]
    assert all(m["batchId"] == batch_id for m in messages)
    assert [m["receiver"]["contacts"][0]["identifierValue"] for m in messages] == [
        "+15550000001",
        "+15550000002",
        "+15550000003",
        TO,
        "+12025550199",
    ]
    assert [m["status"] for m in messages] == [
        "accepted",
        "rejected",
        "rejected",
        "accepted",
        "accepted",
    ]
    for rejected in (messages[1], messages[2]):
        failure = rejected["failure"]
        assert 11000 <= failure["code"] < 12000
        assert failure["source"]["name"] == "pre-processing" and failure["description"]
    assert messages[1]["failure"]["code"] != messages[2]["failure"]["code"]
    assert sandbox.posts_received("/batch/messages") == 1


@pytest.mark.parametrize("count", [0, 101])
def test_batch_size_outside_1_to_100_is_422(sandbox, http, count):
    response = http.post(
        channel_url(sandbox, suffix="/batch/messages"),
        json={"messageRequests": [text_message()] * count},
    )
    assert response.status_code == 422
    assert "messageRequests" in response.json()["details"]


def test_batch_counts_once_toward_rate_limit(sandbox, http):
    sandbox.max_posts_per_second = 1
    url = channel_url(sandbox, suffix="/batch/messages")
    assert http.post(url, json={"messageRequests": [text_message()] * 50}).status_code == 202
    assert http.post(url, json={"messageRequests": [text_message()]}).status_code == 429
    assert len(sandbox.messages) == 50


def test_list_limit_is_validated(sandbox, http):
    url = channel_url(sandbox, suffix="/messages")
    assert http.get(url, params={"limit": 101}).status_code == 422
    assert http.get(url, params={"pageToken": "garbage!"}).status_code == 400
    assert http.get(url).json() == {"results": []}


# --- control API, reset, connection --------------------------------------------------------


def test_control_api(sandbox, http):
    control = f"{sandbox.base_url}/_sandbox"
    config = requests.post(
        f"{control}/config", json={"reject_recipients": [TO], "max_posts_per_second": 100}
    ).json()
    assert config["reject_recipients"] == [TO] and config["max_posts_per_second"] == 100
    assert send(sandbox, http, text_message()).status_code == 422

    fault = requests.post(f"{control}/faults", json={"kind": "status", "status": 500})
    assert fault.status_code == 200
    assert send(sandbox, http, text_message(to="+15550000009")).status_code == 500
    assert send(sandbox, http, text_message(to="+15550000009")).status_code == 202
    assert requests.post(f"{control}/faults", json={"kind": "explode"}).status_code == 400

    messages = requests.get(f"{control}/messages").json()["results"]
    assert [m["receiver"]["contacts"][0]["identifierValue"] for m in messages] == ["+15550000009"]
    recorded = requests.get(f"{control}/requests").json()["results"]
    assert [r["status"] for r in recorded] == [422, 500, 202]
    assert recorded[0]["headers"]["Authorization"] == f"AccessKey {ACCESS_KEY}"

    assert requests.post(f"{control}/reset").status_code == 200
    assert requests.get(f"{control}/messages").json() == {"results": []}
    assert sandbox.requests == [] and sandbox.reject_recipients == set()
    assert sandbox.max_posts_per_second is None


def test_reset_clears_state_and_pending_faults(sandbox, http):
    send(sandbox, http, text_message())
    sandbox.inject("status", count=5, status=502)
    sandbox.latency = 0.5
    sandbox.reset()
    assert sandbox.messages == [] and sandbox.requests == [] and sandbox.latency == 0.0
    assert send(sandbox, http, text_message()).status_code == 202


def test_connection_and_env(sandbox):
    connection = sandbox.connection()
    assert connection == {
        "conn_type": "bird",
        "host": sandbox.base_url,
        "password": ACCESS_KEY,
        "extra": {"workspace_id": WORKSPACE_ID, "channel_id": MMS_CHANNEL_ID},
    }
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    name, value = sandbox.connection_env("bird_sms", channel_id=SMS_CHANNEL_ID)
    assert name == "AIRFLOW_CONN_BIRD_SMS"
    assert json.loads(value)["extra"]["channel_id"] == SMS_CHANNEL_ID


def test_stop_closes_keep_alive_connections(http):
    sandbox = BirdSandbox().start()
    assert send(sandbox, http, text_message()).status_code == 202
    url = channel_url(sandbox, suffix="/messages")
    sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        http.post(url, json=text_message(), timeout=2)


def test_pytest_fixture_sets_connection_env(bird_sandbox):
    value = os.environ["AIRFLOW_CONN_BIRD_DEFAULT"]
    assert json.loads(value) == bird_sandbox.connection()
    channel = requests.get(channel_url(bird_sandbox), headers=AUTH)
    assert channel.status_code == 200


# --- command line --------------------------------------------------------------------------


def test_cli_serves_until_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_sms.sandbox", "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        base_url = re.search(r"http://127\.0\.0\.1:\d+", first).group(0)
        export = process.stdout.readline()
        assert export.startswith("export AIRFLOW_CONN_BIRD_DEFAULT='")
        connection = json.loads(export.split("=", 1)[1].strip().strip("'"))
        assert connection["host"] == base_url
        url = f"{base_url}/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}"
        assert requests.get(url, headers=AUTH, timeout=5).status_code == 200

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_refuses_non_loopback_host():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_sms.sandbox", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "loopback" in result.stderr


# --- contract with Bird's published schema -------------------------------------------------

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


def test_concurrent_clients_each_get_their_message_stored(sandbox):
    import threading

    errors: list[int] = []

    def client(index: int) -> None:
        with requests.Session() as session:
            session.headers.update(AUTH)
            for n in range(10):
                response = send(sandbox, session, text_message(to=f"+1202555{index:02d}{n:02d}"))
                if response.status_code != 202:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    messages = sandbox.messages
    assert len(messages) == 200 and len({m["id"] for m in messages}) == 200


# --- the backend, called without HTTP ------------------------------------------------------


@pytest.fixture
def backend():
    running = SandboxBackend(status_delays=None)  # as the sandbox fixture
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
    assert "nextPageToken" not in second
    assert [c["id"] for c in first["results"] + second["results"]] == [
        MMS_CHANNEL_ID,
        SMS_CHANNEL_ID,
    ]
    assert backend.list_channels(WORKSPACE_ID) == {"results": first["results"] + second["results"]}

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


# --- listing: newest first, paged ----------------------------------------------------------


def ids(page: dict) -> list[str]:
    return [m["id"] for m in page["results"]]


def test_messages_are_listed_newest_first_and_tokens_survive_new_messages(sandbox, http):
    sent = [send(sandbox, http, text_message(text=f"message {n}")).json()["id"] for n in range(25)]
    assert send(sandbox, http, text_message(), channel_id=SMS_CHANNEL_ID).status_code == 202
    newest_first = sent[::-1]
    url = channel_url(sandbox, suffix="/messages")

    first = http.get(url).json()
    assert len(first["results"]) == facts.DEFAULT_LIST_LIMIT
    assert ids(first) == newest_first[:10]
    # Newer messages arrive between pages: the next page goes on where the first ended.
    newer = [send(sandbox, http, text_message(text=f"new {n}")).json()["id"] for n in range(5)]
    second = http.get(url, params={"pageToken": first["nextPageToken"]}).json()
    assert ids(second) == newest_first[10:20]
    third = http.get(url, params={"pageToken": second["nextPageToken"], "limit": 100}).json()
    assert ids(third) == newest_first[20:] and "nextPageToken" not in third

    assert ids(http.get(url, params={"limit": 5}).json()) == newer[::-1]
    everything = http.get(url, params={"limit": facts.MAX_LIST_LIMIT}).json()
    assert ids(everything) == (sent + newer)[::-1] and "nextPageToken" not in everything
    # Exactly a page's worth left: no token pointing at an empty page.
    exact = http.get(url, params={"limit": 30}).json()
    assert len(exact["results"]) == 30 and "nextPageToken" not in exact

    # A token from before a reset names positions that are gone.
    sandbox.reset()
    stale = http.get(url, params={"pageToken": first["nextPageToken"]})
    assert stale.status_code == 400 and stale.json()["code"] == "InvalidPageToken"


@pytest.mark.parametrize("limit", [0, facts.MAX_LIST_LIMIT + 1, "ten", ""])
def test_list_limit_outside_1_to_100_is_422(sandbox, http, limit):
    response = http.get(channel_url(sandbox, suffix="/messages"), params={"limit": limit})
    assert response.status_code == 422 and "limit" in response.json()["details"]
    channels = http.get(f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels?limit={limit}")
    assert channels.status_code == 422


def test_channels_are_listed_and_paged(sandbox, http):
    url = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channels"
    first = http.get(url, params={"limit": 1}).json()
    second = http.get(url, params={"limit": 1, "pageToken": first["nextPageToken"]}).json()
    assert [c["id"] for c in first["results"] + second["results"]] == [
        MMS_CHANNEL_ID,
        SMS_CHANNEL_ID,
    ]
    assert "nextPageToken" not in second


# --- Bird's schema and the sandbox's own rules ---------------------------------------------


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


def test_remembered_verdicts_still_check_each_receiver():
    assert validation_details("create_message", text_message(to="+31600000001")) == {}
    bad = text_message()
    bad["receiver"]["contacts"][0]["identifierValue"] = 31600000002
    assert validation_details("create_message", bad) == {
        "receiver.contacts.0.identifierValue": ["must be of type string"]
    }
    assert validation_details("create_message", {"body": text_message()["body"]}) == {
        "receiver": ["is required"]
    }
    # And the part that is remembered keeps its problems, whatever the receiver.
    for to in ("+31600000003", "+31600000004"):
        assert validation_details("create_message", text_message(text="", to=to)) == {
            "body.text.text": ["must not be empty"]
        }


def test_the_schedule_limit_is_checked_on_every_message(monkeypatch):
    from airflow_provider_sms.sandbox import validation

    ahead = datetime.now(UTC) + timedelta(days=facts.MAX_SCHEDULE_AHEAD_DAYS - 1)
    message = text_message(scheduledFor=_rfc3339(ahead))
    assert validation_details("create_message", message) == {}

    class TwoDaysEarlier(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) - timedelta(days=2)

    monkeypatch.setattr(validation, "datetime", TwoDaysEarlier)
    assert list(validation_details("create_message", message)) == ["scheduledFor"]


def test_importing_the_sandbox_package_stays_cheap():
    code = (
        "import sys, airflow_provider_sms.sandbox, airflow_provider_sms.sandbox.pytest_plugin;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'airflow')"
        " or m.startswith('airflow_provider_sms.sandbox.')"
        " or m.startswith('airflow_provider_sms.bird.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == [
        "['airflow_provider_sms.sandbox.catalogue',",
        "'airflow_provider_sms.sandbox.pytest_plugin']",
    ]
