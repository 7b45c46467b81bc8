"""Presigned uploads over HTTP (bird_sandbox/media.py): the presign on Bird's API, the upload to the
storage host with ``requests`` as a client would send it, the file served back, the
storage's refusals, faults on either, and the ``upload`` setting."""

from __future__ import annotations

import pytest
import requests
from sandbox_support import channel_url, multipart, presigned_form, send, text_message

from bird_sandbox import DEFAULT_UPLOAD, WORKSPACE_ID, media

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def presign(sandbox, http, content_type="image/png", channel=True) -> requests.Response:
    if channel:
        url = channel_url(sandbox, suffix="/presigned-upload")
    else:
        url = f"{sandbox.base_url}/workspaces/{WORKSPACE_ID}/channel-media/presigned-upload"
    return http.post(url, json={"contentType": content_type}, timeout=5)


def put_file(presigned: dict, data: bytes = PNG, **kwargs) -> requests.Response:
    """The upload as a client sends it: no AccessKey, the fields, then the file."""
    files = {"file": ("photo.png", data, presigned["uploadFormData"]["Content-Type"])}
    kwargs.setdefault("timeout", 5)
    return requests.post(
        presigned["uploadUrl"], data=presigned["uploadFormData"], files=files, **kwargs
    )


def post_form(presigned: dict, parts: list) -> requests.Response:
    body, content_type = multipart(parts)
    return requests.post(
        presigned["uploadUrl"], data=body, headers={"Content-Type": content_type}, timeout=5
    )


@pytest.mark.parametrize("channel", [True, False], ids=["channel", "channel-media"])
def test_presign_upload_and_fetch_the_media(sandbox, http, channel):
    answer = presign(sandbox, http, channel=channel)
    assert answer.status_code == 200
    presigned = answer.json()
    assert presigned["uploadMethod"] == "POST"
    assert presigned["uploadUrl"].startswith(f"{sandbox.base_url}/_storage/upload/")
    assert presigned["mediaUrl"].startswith(f"{sandbox.base_url}/_storage/media/")
    assert requests.get(presigned["mediaUrl"], timeout=5).status_code == 404

    stored = put_file(presigned)
    assert (stored.status_code, stored.content) == (204, b"")
    served = requests.get(presigned["mediaUrl"], timeout=5)
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["Content-Type"] == "image/png"
    [upload] = sandbox.uploads
    assert (upload.completed, upload.filename, upload.data) == (True, "photo.png", PNG)
    assert upload.media_url == presigned["mediaUrl"] and sandbox.media(upload.media_url) == PNG


def test_a_presign_that_does_not_validate_is_birds_422(sandbox, http):
    for payload in ([], {}, {"contentType": 1}, {"contentType": "png"}):
        answer = http.post(channel_url(sandbox, suffix="/presigned-upload"), json=payload)
        assert answer.status_code == 422
        assert set(answer.json()) == {"code", "message", "details"}
    assert presign(sandbox, requests).status_code == 401  # no AccessKey
    assert sandbox.uploads == []


def test_no_authorization_reaches_the_storage(sandbox, http):
    presigned = presign(sandbox, http).json()
    put_file(presigned)
    # A client that sends its AccessKey to the storage host too: recorded, so a test sees it.
    put_file(presigned, headers={"Authorization": "AccessKey real-key"})
    presign_request, clean, leaked = sandbox.requests
    assert presign_request.header("Authorization") is not None
    assert (clean.method, clean.path, clean.json, clean.status) == (
        "POST",
        presigned["uploadUrl"].removeprefix(sandbox.base_url),
        None,
        204,
    )
    assert clean.header("Authorization") is None
    assert clean.header("Content-Type").startswith("multipart/form-data; boundary=")
    assert leaked.header("Authorization") == "<not the sandbox key: redacted>"


def test_the_storage_refuses_what_s3_refuses(sandbox, http, monkeypatch):
    presigned = presign(sandbox, http).json()
    fields = presigned["uploadFormData"]
    good = presigned_form(fields, PNG)
    cases = {
        "missing field": ([p for p in good if p[0] != "x-amz-signature"], 403, "AccessDenied"),
        "changed field": ([(n, "x" if n == "key" else v, f) for n, v, f in good], 403, None),
        "file not last": ([*good, ("key", fields["key"], None)], 400, "InvalidArgument"),
        "no file": (good[:-1], 400, "InvalidArgument"),
        "empty file": (presigned_form(fields, b""), 400, "EntityTooSmall"),
    }
    for name, (parts, status, code) in cases.items():
        answer = post_form(presigned, parts)
        assert answer.status_code == status, name
        assert answer.headers["Content-Type"] == "application/xml", name
        assert f"<Code>{code or 'AccessDenied'}</Code>".encode() in answer.content, name
    json_body = requests.post(presigned["uploadUrl"], json={"file": "x"}, timeout=5)
    assert json_body.status_code == 400 and b"MalformedPOSTRequest" in json_body.content
    unknown = presigned["uploadUrl"].rpartition("/")[0] + "/" + "0" * 32
    assert requests.post(unknown, data=fields, files={"file": PNG}, timeout=5).status_code == 404
    monkeypatch.setattr(media, "MAX_MEDIA_BYTES", 100)
    too_large = put_file(presigned, b"x" * 101)
    assert too_large.status_code == 400 and b"<Code>EntityTooLarge</Code>" in too_large.content
    assert put_file(presigned, b"x" * 100).status_code == 204
    assert sandbox.media(presigned["mediaUrl"]) == b"x" * 100


def test_a_body_beyond_the_largest_file_is_refused_before_it_is_read(sandbox, http, monkeypatch):
    presigned = presign(sandbox, http).json()
    monkeypatch.setattr(media, "MAX_MEDIA_BYTES", 10)
    answer = put_file(presigned, b"x" * (1024 * 1024 + 100))
    assert answer.status_code == 400 and b"EntityTooLarge" in answer.content
    assert not sandbox.uploads[0].completed


def test_a_retried_upload_replaces_the_first(sandbox, http):
    presigned = presign(sandbox, http).json()
    assert put_file(presigned, b"first").status_code == 204
    assert put_file(presigned, b"second").status_code == 204
    assert requests.get(presigned["mediaUrl"], timeout=5).content == b"second"


def test_faults_on_the_upload_and_the_presign(sandbox, http):
    sandbox.inject("status", status=503, path="/presigned-upload")
    assert presign(sandbox, http).status_code == 503
    presigned = presign(sandbox, http).json()

    sandbox.inject("status", status=503, retry_after=1, path="/_storage/upload")
    sandbox.inject("drop", path="/_storage/upload")
    failed = put_file(presigned)
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert b"<Code>ServiceUnavailable</Code>" in failed.content
    with pytest.raises(requests.ConnectionError):
        put_file(presigned)
    assert put_file(presigned).status_code == 204
    assert [(r.status, r.fault) for r in sandbox.requests[2:]] == [
        (503, "status"),
        (0, "drop"),
        (204, None),
    ]

    sandbox.inject("hang", seconds=1.0, path="/_storage/upload")
    with pytest.raises(requests.ReadTimeout):
        put_file(presigned, timeout=(2, 0.3))


def test_a_fault_for_bird_is_not_taken_by_an_upload(sandbox, http):
    presigned = presign(sandbox, http).json()
    sandbox.inject("status", method="POST", status=503)
    assert put_file(presigned).status_code == 204
    assert send(sandbox, http, text_message()).status_code == 503


def test_the_upload_setting_plays_what_bird_does_not_document(sandbox, http):
    sandbox.upload = {"presign_status": 201, "upload_status": 201, "media_host": "other"}
    answer = presign(sandbox, http)
    assert answer.status_code == 201
    presigned = answer.json()
    assert presigned["mediaUrl"].startswith(f"http://localhost:{sandbox.port}/_storage/media/")
    assert presigned["uploadUrl"].startswith(f"{sandbox.base_url}/_storage/upload/")
    stored = put_file(presigned)
    assert stored.status_code == 201 and b"<PostResponse><Location>" in stored.content
    assert requests.get(presigned["mediaUrl"], timeout=5).content == PNG

    config = requests.post(
        f"{sandbox.base_url}/_sandbox/config", json={"upload": {"upload_status": 200}}, timeout=5
    ).json()
    assert config["upload"] == {"presign_status": 201, "upload_status": 200, "media_host": "other"}
    assert put_file(presigned).status_code == 200
    refused = requests.post(
        f"{sandbox.base_url}/_sandbox/config", json={"upload": {"upload_status": 202}}, timeout=5
    )
    assert refused.status_code == 400

    sandbox.reset()
    assert sandbox.upload == dict(DEFAULT_UPLOAD) and sandbox.uploads == []


def test_the_control_api_lists_uploads(sandbox, http):
    presigned = presign(sandbox, http).json()
    put_file(presigned)
    [shown] = requests.get(f"{sandbox.base_url}/_sandbox/uploads", timeout=5).json()["results"]
    assert shown["media_url"] == presigned["mediaUrl"] and shown["completed"]
    assert shown["size"] == len(PNG) and "data" not in shown
    assert shown["form_data"] == presigned["uploadFormData"]
