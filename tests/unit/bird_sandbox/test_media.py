"""Presigned uploads and the storage behind them (bird_sandbox/media.py), without HTTP: the
backend's operations directly, and the gateway's routing, recording and faults."""

from __future__ import annotations

import base64
import json
import re

import pytest
from sandbox_support import AUTH, multipart, presigned_form

from airflow_provider_sms.bird.facts import MAX_MEDIA_UPLOAD_BYTES
from bird_sandbox import DEFAULT_UPLOAD, MMS_CHANNEL_ID, WORKSPACE_ID, media
from bird_sandbox.backend import ApiError
from bird_sandbox.gateway import Gateway
from bird_sandbox.media import StorageError

BASE = "http://127.0.0.1:8025"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
PRESIGN = f"/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/presigned-upload"


def presign(backend, content_type="image/png", channel_id=MMS_CHANNEL_ID, **payload):
    answer = backend.create_presigned_upload(
        WORKSPACE_ID, channel_id, payload={"contentType": content_type, **payload}, base_url=BASE
    )
    return answer.body


def upload(backend, presigned, parts):
    body, content_type = multipart(parts)
    upload_id = presigned["uploadUrl"].rpartition("/")[2]
    return backend.upload_media(upload_id, content_type=content_type, body=body)


def refusal(backend, presigned, parts) -> tuple[int, str]:
    with pytest.raises(StorageError) as raised:
        upload(backend, presigned, parts)
    return raised.value.status, raised.value.code


@pytest.mark.parametrize("channel_id", [MMS_CHANNEL_ID, None])
def test_a_presign_names_where_to_upload_and_the_media_url(backend, clock, channel_id):
    answer = backend.create_presigned_upload(
        WORKSPACE_ID, channel_id, payload={"contentType": "image/png", "extra": 1}, base_url=BASE
    )
    assert answer.status == 200
    presigned = answer.body
    assert set(presigned) == {"mediaUrl", "uploadUrl", "uploadMethod", "uploadFormData"}
    assert presigned["uploadMethod"] == "POST"
    assert re.fullmatch(rf"{BASE}/_storage/upload/[0-9a-f]{{32}}", presigned["uploadUrl"])
    assert re.fullmatch(rf"{BASE}/_storage/media/[0-9a-f]{{32}}", presigned["mediaUrl"])
    fields = presigned["uploadFormData"]
    assert set(fields) == {
        "key",
        "Content-Type",
        "policy",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
    }
    assert fields["Content-Type"] == "image/png"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert re.fullmatch(r"\d{8}T\d{6}Z", fields["x-amz-date"])
    assert fields["x-amz-credential"].endswith("/s3/aws4_request")
    assert re.fullmatch(r"[0-9a-f]{64}", fields["x-amz-signature"])
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, MAX_MEDIA_UPLOAD_BYTES] in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]
    [stored] = backend.uploads()
    assert (stored.media_url, stored.upload_url) == (presigned["mediaUrl"], presigned["uploadUrl"])
    assert stored.form_data == fields and not stored.completed and stored.data == b""


def test_each_presign_is_a_new_upload(backend):
    first, second = presign(backend), presign(backend)
    assert first["uploadUrl"] != second["uploadUrl"]
    assert first["mediaUrl"] != second["mediaUrl"]
    assert first["uploadFormData"]["x-amz-signature"] != second["uploadFormData"]["x-amz-signature"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ([], "body"),
        ("image/png", "body"),
        ({}, "contentType"),
        ({"contentType": None}, "contentType"),
        ({"contentType": 5}, "contentType"),
        ({"contentType": ""}, "contentType"),
        ({"contentType": "png"}, "contentType"),
        ({"contentType": "image/"}, "contentType"),
        ({"contentType": "image/png; charset=x"}, "contentType"),
    ],
)
def test_a_presign_that_does_not_validate_is_birds_422(backend, payload, field):
    with pytest.raises(ApiError) as raised:
        backend.create_presigned_upload(WORKSPACE_ID, payload=payload, base_url=BASE)
    assert raised.value.status == 422 and raised.value.code == "InvalidPayload"
    assert list(raised.value.details) == [field]
    assert backend.uploads() == []


def test_an_upload_stores_the_file_and_serves_it(backend):
    presigned = presign(backend)
    media_id = presigned["mediaUrl"].rpartition("/")[2]
    with pytest.raises(StorageError) as raised:
        backend.get_media(media_id)
    assert raised.value.status == 404 and backend.media(presigned["mediaUrl"]) is None

    answer = upload(backend, presigned, presigned_form(presigned["uploadFormData"], PNG))
    assert (answer.status, answer.body) == (204, None)
    [stored] = backend.uploads()
    assert (stored.completed, stored.data, stored.filename) == (True, PNG, "photo.png")
    served = backend.get_media(media_id)
    assert (served.status, served.body, served.headers) == (200, PNG, {"Content-Type": "image/png"})
    assert backend.media(presigned["mediaUrl"]) == PNG


def test_a_second_upload_to_the_same_url_replaces_the_first(backend):
    # S3 overwrites a key: a client retrying an upload whose 204 it never got succeeds.
    presigned = presign(backend)
    upload(backend, presigned, presigned_form(presigned["uploadFormData"], b"first"))
    answer = upload(
        backend, presigned, presigned_form(presigned["uploadFormData"], b"second", None)
    )
    assert answer.status == 204
    [stored] = backend.uploads()
    assert (stored.data, stored.filename) == (b"second", None)


def test_the_storage_refuses_what_s3_refuses(backend, monkeypatch):
    presigned = presign(backend)
    fields = presigned["uploadFormData"]
    good = presigned_form(fields, PNG)
    missing = [part for part in good if part[0] != "policy"]
    changed = [(n, "image/jpeg" if n == "Content-Type" else v, f) for n, v, f in good]
    extra = [("acl", "public-read", None), *good]
    after = [*good, ("x-amz-date", fields["x-amz-date"], None)]
    twice = [good[0], *good]
    assert refusal(backend, presigned, missing) == (403, "AccessDenied")
    assert refusal(backend, presigned, changed) == (403, "AccessDenied")
    assert refusal(backend, presigned, extra) == (403, "AccessDenied")
    assert refusal(backend, presigned, after) == (400, "InvalidArgument")
    assert refusal(backend, presigned, twice) == (400, "InvalidArgument")
    assert refusal(backend, presigned, good[:-1]) == (400, "InvalidArgument")
    assert refusal(backend, presigned, [*good, ("file", PNG, "b.png")]) == (400, "InvalidArgument")
    assert refusal(backend, presigned, presigned_form(fields, b"")) == (400, "EntityTooSmall")
    monkeypatch.setattr(media, "MAX_MEDIA_BYTES", 10)
    assert refusal(backend, presigned, presigned_form(fields, b"x" * 11)) == (400, "EntityTooLarge")
    assert upload(backend, presigned, presigned_form(fields, b"x" * 10)).status == 204


def test_the_storage_refuses_a_body_that_is_not_a_form_and_an_unknown_upload(backend):
    presigned = presign(backend)
    upload_id = presigned["uploadUrl"].rpartition("/")[2]
    body, content_type = multipart(presigned_form(presigned["uploadFormData"], PNG))
    for odd_type, odd_body in [
        ("application/json", body),
        ("multipart/form-data", body),
        (content_type, body[: len(body) // 2]),
        (None, body),
    ]:
        with pytest.raises(StorageError) as raised:
            backend.upload_media(upload_id, content_type=odd_type, body=odd_body)
        assert raised.value.code == "MalformedPOSTRequest"
    with pytest.raises(StorageError) as raised:
        backend.upload_media("0" * 32, content_type=content_type, body=body)
    assert (raised.value.status, raised.value.code) == (404, "NoSuchUpload")
    assert not backend.uploads()[0].completed


def test_the_upload_setting_plays_what_bird_does_not_document(backend):
    assert backend.upload == dict(DEFAULT_UPLOAD)
    backend.upload = {"presign_status": 201, "upload_status": 201, "media_host": "other"}
    answer = backend.create_presigned_upload(
        WORKSPACE_ID, payload={"contentType": "image/gif"}, base_url=BASE
    )
    assert answer.status == 201
    assert answer.body["mediaUrl"].startswith("http://localhost:8025/_storage/media/")
    assert answer.body["uploadUrl"].startswith(f"{BASE}/_storage/upload/")
    stored = upload(backend, answer.body, presigned_form(answer.body["uploadFormData"], PNG))
    assert stored.status == 201 and stored.headers["Content-Type"] == "application/xml"
    assert b"<PostResponse><Location>http://localhost:8025/_storage/media/" in stored.body
    backend.upload = {"upload_status": 200}
    assert backend.upload["presign_status"] == 201
    again = upload(backend, answer.body, presigned_form(answer.body["uploadFormData"], PNG))
    assert (again.status, again.body) == (200, None)
    backend.reset()
    assert backend.upload == dict(DEFAULT_UPLOAD) and backend.uploads() == []


@pytest.mark.parametrize(
    "value",
    [
        {"presign_status": 202},
        {"upload_status": True},
        {"media_host": "elsewhere"},
        {"speed": 1},
        ["presign_status"],
    ],
)
def test_an_upload_setting_that_does_not_fit_is_refused(backend, value):
    with pytest.raises(ValueError, match="upload"):
        backend.upload = value
    assert backend.upload == dict(DEFAULT_UPLOAD)


def test_media_host_other_swaps_the_loopback_names(backend):
    backend.upload = {"media_host": "other"}
    for base, expected in [
        ("http://localhost:9", "http://127.0.0.1:9"),
        ("http://127.0.0.1:9", "http://localhost:9"),
    ]:
        answer = backend.create_presigned_upload(
            WORKSPACE_ID, payload={"contentType": "image/png"}, base_url=base
        )
        assert answer.body["mediaUrl"].startswith(expected + "/_storage/media/")


# -- through the gateway (no sockets) --------------------------------------------------------


@pytest.fixture
def gateway(backend):
    return Gateway(backend)


def test_the_gateway_presigns_with_the_host_the_request_named(gateway):
    headers = {**AUTH, "Host": "localhost:4321"}
    status, answer_headers, body = gateway.handle(
        "POST", PRESIGN, {}, headers, b'{"contentType": "image/png"}'
    )
    assert status == 200 and answer_headers["Content-Type"] == "application/json"
    assert body["uploadUrl"].startswith("http://localhost:4321/_storage/upload/")
    status, _, body = gateway.handle("POST", PRESIGN, {}, AUTH, b'{"contentType": "image/png"}')
    assert body["uploadUrl"].startswith("http://127.0.0.1/_storage/upload/")  # no Host header
    status, _, body = gateway.handle("POST", PRESIGN, {}, {}, b'{"contentType": "image/png"}')
    assert status == 401
    unknown = PRESIGN.replace(MMS_CHANNEL_ID, "00000000-0000-4000-8000-000000000000")
    assert gateway.handle("POST", unknown, {}, AUTH, b"{}")[0] == 404
    assert gateway.handle("POST", PRESIGN, {}, AUTH, b"not json")[0] == 400


def test_storage_requests_are_recorded_and_answered_in_s3s_shape(gateway):
    _, _, presigned = gateway.handle("POST", PRESIGN, {}, AUTH, b'{"contentType": "image/png"}')
    path = presigned["uploadUrl"].partition("127.0.0.1")[2]
    body, content_type = multipart(presigned_form(presigned["uploadFormData"], PNG))
    status, headers, answer = gateway.handle("POST", path, {}, {"Content-Type": content_type}, body)
    assert (status, headers, answer) == (204, {}, None)
    media_path = presigned["mediaUrl"].partition("127.0.0.1")[2]
    assert gateway.handle("GET", media_path, {}, {}, b"")[:3] == (
        200,
        {"Content-Type": "image/png"},
        PNG,
    )
    status, headers, answer = gateway.handle("GET", path, {}, {}, b"")
    assert status == 405 and headers["Content-Type"] == "application/xml"
    assert b"<Code>MethodNotAllowed</Code>" in answer
    assert gateway.handle("GET", "/_storage/elsewhere", {}, {}, b"")[0] == 404
    recorded = gateway.requests()
    assert [(r.method, r.status, r.json) for r in recorded[1:]] == [
        ("POST", 204, None),
        ("GET", 200, None),
        ("GET", 405, None),
        ("GET", 404, None),
    ]
    assert recorded[1].header("Authorization") is None
    assert recorded[0].header("Authorization") == AUTH["Authorization"]


def test_storage_requests_take_only_faults_that_select_them(gateway):
    _, _, presigned = gateway.handle("POST", PRESIGN, {}, AUTH, b'{"contentType": "image/png"}')
    path = presigned["uploadUrl"].partition("127.0.0.1")[2]
    assert gateway.handle("POST", path, {}, {}, b"")[0] == 400  # not a form
    gateway.inject("status", method="POST", status=503)
    assert gateway.take_fault("POST", path, {}, {}) is None
    assert gateway.take_fault("POST", PRESIGN, {}, AUTH).status == 503
    gateway.inject("status", status=503, retry_after=2, path="/_storage/upload")
    assert gateway.take_fault("POST", PRESIGN, {}, AUTH) is None  # the head fault is not for it
    status, headers, body = gateway.handle("POST", path, {}, {}, b"")
    assert status == 503 and headers == {"Content-Type": "application/xml", "Retry-After": "2"}
    assert b"<Code>ServiceUnavailable</Code>" in body
    gateway.inject("drop", path="/presigned-upload")
    assert gateway.take_fault("POST", path, {}, {}) is None
    assert gateway.take_fault("POST", PRESIGN, {}, AUTH).kind == "drop"


def test_the_transport_may_read_a_storage_body_up_to_the_largest_file(gateway):
    assert gateway.refuse_length("/_storage/upload/x", MAX_MEDIA_UPLOAD_BYTES + 1000) is None
    status, _, body = gateway.refuse_length("/_storage/upload/x", 2 * MAX_MEDIA_UPLOAD_BYTES)
    assert status == 400 and b"EntityTooLarge" in body
    assert gateway.refuse_length(PRESIGN, 11 * 1024 * 1024)[0] == 400
    assert gateway.refuse_length(PRESIGN, -1)[0] == 400
    assert gateway.refuse_length(PRESIGN, 100) is None


def test_the_upload_setting_is_part_of_the_config(gateway):
    assert gateway.config()["upload"] == dict(DEFAULT_UPLOAD)
    assert gateway.configure(upload={"media_host": "other"})["upload"]["media_host"] == "other"
    with pytest.raises(ValueError):
        gateway.configure(upload={"media_host": "nowhere"})
    gateway.reset()
    assert gateway.config()["upload"] == dict(DEFAULT_UPLOAD)
