"""Media hosting: Bird's presigned upload (``POST .../presigned-upload``) and the storage host
behind it, which takes the file as an S3 presigned POST does (multipart/form-data: every
``uploadFormData`` field, then the part ``file``) and serves it at ``mediaUrl``.

The storage answers as S3 would: 204 with no body, or an XML ``<Error>`` with S3's codes. It
checks what S3 checks of a presigned POST, so a client that gets a field wrong fails here as
it would there. A second upload to the same ``uploadUrl`` replaces the first, as S3
overwrites a key: a client retrying an upload whose answer it never got must succeed.

Where Bird's documentation is silent, the ``upload`` setting plays the alternatives
(:data:`.settings.DEFAULT_UPLOAD`).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import HTTP
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from airflow_provider_sms.bird.facts import MAX_MEDIA_UPLOAD_BYTES

from .errors import invalid
from .routes import Answer

# The largest file the storage takes. A module constant, so that a test can lower it instead
# of sending 100 MiB.
MAX_MEDIA_BYTES = MAX_MEDIA_UPLOAD_BYTES

# RFC 6838's type/subtype, without parameters.
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
MEDIA_TYPE = re.compile(rf"{_NAME}/{_NAME}")
_BUCKET = "bird-sandbox-media"
_REGION = "eu-west-1"


@dataclass(frozen=True)
class Upload:
    """One presigned upload: what the presign answered, and the file once it arrived."""

    upload_id: str
    media_id: str
    media_url: str
    upload_url: str
    content_type: str
    form_data: dict[str, str]
    filename: str | None = None
    data: bytes = b""
    completed: bool = False


class StorageError(Exception):
    """The storage's refusal, in S3's shape: an XML ``<Error>`` with a code and a message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def answer(self, headers: Mapping[str, str] | None = None) -> Answer:
        elements = {"Code": self.code, "Message": self.message}
        return storage_answer(self.status, "Error", elements, headers)


def storage_answer(
    status: int, root: str, elements: Mapping[str, str], headers: Mapping[str, str] | None = None
) -> Answer:
    """An XML answer of the storage: ``<root>`` with one element per item of ``elements``."""
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in elements.items())
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'
    return Answer(xml.encode(), status, {"Content-Type": "application/xml", **(headers or {})})


def _policy_denied(detail: str) -> StorageError:
    return StorageError(403, "AccessDenied", f"Invalid according to Policy: {detail}")


def _other_host(base_url: str) -> str:
    """``base_url`` under another name of the same loopback host."""
    url = urlsplit(base_url)
    other = "127.0.0.1" if url.hostname == "localhost" else "localhost"
    netloc = other if url.port is None else f"{other}:{url.port}"
    return urlunsplit(url._replace(netloc=netloc))


def parse_form(content_type: str | None, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """The parts of a multipart/form-data body, in order: (name, filename, content).

    A few lines rather than the ``email`` package's parser, which would copy a 100 MiB file
    through text several times; the ``email`` header parser reads each part's headers.
    """
    header = Message(policy=HTTP)
    header["Content-Type"] = content_type or ""
    form = header.get_content_type() == "multipart/form-data"
    boundary = header.get_param("boundary") if form else None
    malformed = StorageError(
        400,
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
    )
    if not isinstance(boundary, str) or not boundary:
        raise malformed
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    # chunks[0] is the preamble; the last one starts with the closing "--".
    if len(chunks) < 2 or not chunks[-1].startswith(b"--"):
        raise malformed
    parts = []
    for chunk in chunks[1:-1]:
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"\r\n"):
            raise malformed
        headers = BytesHeaderParser(policy=HTTP).parsebytes(head[2:] + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise malformed
        parts.append((name, headers.get_filename(), content))
    return parts


def _checked_file(upload: Upload, parts: list) -> tuple[str | None, bytes]:
    """The file part of a presigned POST, once the form passed S3's checks."""
    names = [name for name, _, _ in parts]
    if names.count("file") != 1:
        raise StorageError(400, "InvalidArgument", "POST requires exactly one file upload")
    if names[-1] != "file":
        # S3 ignores every field after the file; a client sending one has lost it.
        raise StorageError(400, "InvalidArgument", "The file must be the last part of the form")
    fields: dict[str, str] = {}
    for name, _, content in parts[:-1]:
        if name in fields:
            raise StorageError(400, "InvalidArgument", f"Field {name} is given twice")
        fields[name] = content.decode("utf-8", "replace")
    extra = sorted(set(fields) - set(upload.form_data))
    if extra:
        raise _policy_denied(f"Extra input fields: {', '.join(extra)}")
    for name, expected in upload.form_data.items():
        if fields.get(name) != expected:
            raise _policy_denied(f'Policy Condition failed: ["eq", "${name}", "{expected}"]')
    _, filename, data = parts[-1]
    if not data:
        raise StorageError(
            400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
        )
    if len(data) > MAX_MEDIA_BYTES:
        raise StorageError(
            400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
        )
    return filename, data


class MediaOperations:
    """The presigned upload and the storage behind it, over the backend's state (see
    :class:`.SandboxBackend`: ``_uploads``, upload id -> :class:`Upload`; ``_media``, media
    id -> upload id; ``_settings["upload"]``, the setting)."""

    def create_presigned_upload(
        self, workspace_id: str, channel_id: str | None = None, *, payload: Any, base_url: str
    ) -> Answer:
        """createPresignedUpload (both variants): where to POST a file of ``contentType``,
        and the ``mediaUrl`` a message then names."""
        if not isinstance(payload, dict):
            raise invalid({"body": ["must be an object"]})
        content_type = payload.get("contentType")
        if content_type is None:
            raise invalid({"contentType": ["is required"]})
        if not isinstance(content_type, str) or not MEDIA_TYPE.fullmatch(content_type):
            raise invalid({"contentType": ["must be a media type, such as image/png"]})
        upload_id, media_id = uuid.uuid4().hex, uuid.uuid4().hex
        now = time.gmtime(self._clock())
        day, stamp = time.strftime("%Y%m%d", now), time.strftime("%Y%m%dT%H%M%SZ", now)
        key = f"workspaces/{workspace_id}/media/{media_id}"
        credential = f"SANDBOX{secrets.token_hex(6).upper()}/{day}/{_REGION}/s3/aws4_request"
        signed = {
            "key": key,
            "Content-Type": content_type,
            "x-amz-algorithm": "AWS4-HMAC-SHA256",
            "x-amz-credential": credential,
            "x-amz-date": stamp,
        }
        expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self._clock() + 3600))
        conditions = [{"bucket": _BUCKET}, *({k: v} for k, v in signed.items())]
        conditions.append(["content-length-range", 1, MAX_MEDIA_BYTES])
        policy = json.dumps({"expiration": expiration, "conditions": conditions})
        form_data = {
            **signed,
            "policy": base64.b64encode(policy.encode()).decode(),
            "x-amz-signature": secrets.token_hex(32),
        }
        with self._lock:
            setting = self._settings["upload"]
            media_base = _other_host(base_url) if setting["media_host"] == "other" else base_url
            upload = Upload(
                upload_id,
                media_id,
                f"{media_base}/_storage/media/{media_id}",
                f"{base_url}/_storage/upload/{upload_id}",
                content_type,
                form_data,
            )
            self._uploads[upload_id] = upload
            self._media[media_id] = upload_id
        answer = {
            "mediaUrl": upload.media_url,
            "uploadUrl": upload.upload_url,
            "uploadMethod": "POST",
            "uploadFormData": dict(form_data),
        }
        return Answer(answer, setting["presign_status"])

    def upload_media(self, upload_id: str, *, content_type: str | None, body: bytes) -> Answer:
        """The storage takes a presigned POST: every field as presigned, then the file."""
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None:
            raise StorageError(404, "NoSuchUpload", "The specified upload does not exist")
        filename, data = _checked_file(upload, parse_form(content_type, body))
        with self._lock:
            if upload_id not in self._uploads:  # reset meanwhile
                raise StorageError(404, "NoSuchUpload", "The specified upload does not exist")
            self._uploads[upload_id] = replace(
                self._uploads[upload_id], filename=filename, data=data, completed=True
            )
            status = self._settings["upload"]["upload_status"]
        if status == 201:
            key, etag = upload.form_data["key"], f'"{uuid.uuid4().hex}"'
            elements = {"Location": upload.media_url, "Bucket": _BUCKET, "Key": key, "ETag": etag}
            return storage_answer(201, "PostResponse", elements)
        return Answer(None, status)

    def get_media(self, media_id: str) -> Answer:
        """The uploaded file, with its content type; S3's 404 until the upload completed."""
        with self._lock:
            upload = self._uploads.get(self._media.get(media_id, ""))
        if upload is None or not upload.completed:
            raise StorageError(404, "NoSuchKey", "The specified key does not exist.")
        return Answer(upload.data, 200, {"Content-Type": upload.content_type})

    # inspection --------------------------------------------------------------------------

    def uploads(self) -> list[Upload]:
        """Every presigned upload, in the order presigned (completed or not); copies."""
        with self._lock:
            return [replace(u, form_data=dict(u.form_data)) for u in self._uploads.values()]

    def media(self, media_url: str) -> bytes | None:
        """The bytes uploaded for ``media_url``; None before the upload completed."""
        media_id = urlsplit(media_url).path.rstrip("/").rpartition("/")[2]
        with self._lock:
            upload = self._uploads.get(self._media.get(media_id, ""))
        return upload.data if upload is not None and upload.completed else None
