"""Media hosting: Bird's presigned upload (``POST .../presigned-upload``, both the channel's
and the channel-independent variant), and the storage host behind it, which takes the file
as an S3-style form post and then serves it at the media URL.

The storage host lives in the sandbox at ``/_storage/`` (outside ``/workspaces``: it is not
Bird's API and wants no access key). Where Bird's documentation is silent, the ``upload``
setting plays the alternatives: what the storage answers a stored file with
(``upload_status``: 204 as Bird documents, or 201/200), and whether the media URL names the
same host as the upload URL (``media_host``: ``same``, or ``other``, which names it
``localhost`` instead of ``127.0.0.1``)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..bird.facts import MAX_UPLOAD_BYTES
from .errors import invalid

DEFAULT_UPLOAD: Mapping[str, Any] = MappingProxyType({"upload_status": 204, "media_host": "same"})
_UPLOAD_CHOICES = {"upload_status": (204, 201, 200), "media_host": ("same", "other")}
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*", re.ASCII)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')

Answer = tuple[int, dict[str, str], Any]


def check_upload(value: Any, current: Mapping[str, Any]) -> dict[str, Any]:
    """The ``upload`` setting checked: a mapping naming some of its keys; the others keep
    `current`."""
    if not isinstance(value, Mapping):
        raise ValueError("upload must map upload_status and/or media_host")
    unknown = set(value) - set(DEFAULT_UPLOAD)
    if unknown:
        raise ValueError(f"unknown upload key(s): {', '.join(sorted(map(str, unknown)))}")
    for key, choice in value.items():
        if choice not in _UPLOAD_CHOICES[key] or isinstance(choice, bool):
            allowed = ", ".join(map(repr, _UPLOAD_CHOICES[key]))
            raise ValueError(f"upload {key} must be one of {allowed}, got {choice!r}")
    return {**current, **value}


def _s3_error(status: int, code: str, message: str) -> Answer:
    """S3-style storage explains a refusal in XML, not in Bird's JSON."""
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return status, {"Content-Type": "application/xml"}, body.encode()


def parse_form(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]] | None:
    """A multipart/form-data body as ``(name, filename, content)`` in order; None when it is
    not one."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    found = _BOUNDARY.search(content_type)
    if found is None:
        return None
    delimiter = b"\r\n--" + found.group(1).encode("latin-1")
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        return None
    parts = []
    for piece in pieces[1:-1]:
        head, sep, content = piece.partition(b"\r\n\r\n")
        if not sep:
            return None
        disposition = next(
            (
                line.split(b":", 1)[1].decode("utf-8", "replace")
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition:")
            ),
            "",
        )
        params = dict(_DISPOSITION.findall(disposition))
        if "name" not in params:
            return None
        parts.append((params["name"], params.get("filename"), content))
    return parts


class MediaOperations:
    """Presigned uploads and the storage host (mixed into ``SandboxBackend``, whose lock and
    reset it shares)."""

    def _reset_media_locked(self) -> None:
        self._uploads: dict[str, dict] = {}  # upload id -> slot (and what was stored)
        self._media_ids: dict[str, str] = {}  # media id -> upload id
        self._upload_setting = dict(DEFAULT_UPLOAD)

    @property
    def upload(self) -> dict[str, Any]:
        """How the storage host behaves where Bird is silent: upload_status, media_host."""
        return dict(self._upload_setting)

    @upload.setter
    def upload(self, value: Mapping[str, Any]) -> None:
        with self._lock:
            self._upload_setting = check_upload(value, self._upload_setting)

    # Bird's operations ---------------------------------------------------------------------

    def presign_upload(
        self, workspace_id: str, channel_id: str, payload: Any, host: str = ""
    ) -> dict:
        return self._presign(payload, host)

    def presign_media_upload(self, workspace_id: str, payload: Any, host: str = "") -> dict:
        return self._presign(payload, host)

    def _presign(self, payload: Any, host: str) -> dict:
        if not isinstance(payload, dict):
            raise invalid({"body": ["must be a JSON object"]})
        content_type = payload.get("contentType")
        if not isinstance(content_type, str) or not _MEDIA_TYPE.fullmatch(content_type):
            raise invalid({"contentType": ["is required: a media type such as image/png"]})
        upload_id, media_id = secrets.token_hex(16), secrets.token_hex(16)
        base = f"http://{host or '127.0.0.1'}"
        with self._lock:
            media_base = base
            if self._upload_setting["media_host"] == "other":
                media_base = base.replace("127.0.0.1", "localhost", 1)
            form = {
                "key": f"media/{media_id}",
                "Content-Type": content_type,
                "policy": secrets.token_urlsafe(24),
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "x-amz-credential": f"SANDBOX/{time.strftime('%Y%m%d')}/us-east-1/s3/aws4_request",
                "x-amz-date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
                "x-amz-signature": secrets.token_hex(32),
            }
            slot = {
                "upload_id": upload_id,
                "media_id": media_id,
                "media_url": f"{media_base}/_storage/media/{media_id}",
                "upload_url": f"{base}/_storage/upload/{upload_id}",
                "content_type": content_type,
                "form": form,
                "filename": None,
                "data": None,
            }
            self._uploads[upload_id] = slot
            self._media_ids[media_id] = upload_id
        return {
            "mediaUrl": slot["media_url"],
            "uploadUrl": slot["upload_url"],
            "uploadMethod": "POST",
            "uploadFormData": dict(form),
        }

    # the storage host ------------------------------------------------------------------------

    def store_upload(self, upload_id: str, content_type: str, body: bytes) -> Answer:
        """The form post to an upload URL. A second post to the same URL replaces the file,
        as S3 does: a client whose first answer was lost must be able to repeat it."""
        with self._lock:
            slot = self._uploads.get(upload_id)
        if slot is None:
            return _s3_error(404, "NoSuchUpload", "The upload URL is not known")
        parts = parse_form(content_type, body)
        if parts is None:
            return _s3_error(400, "MalformedPOSTRequest", "The body is not multipart/form-data")
        names = [name for name, _, _ in parts]
        if "file" not in names:
            return _s3_error(400, "InvalidArgument", "The form has no file")
        if names[-1] != "file" or names.count("file") != 1:
            return _s3_error(400, "InvalidArgument", "Fields after the file are ignored")
        fields = {name: content.decode("utf-8", "replace") for name, _, content in parts[:-1]}
        for name, expected in slot["form"].items():
            if fields.get(name) != expected:
                return _s3_error(403, "AccessDenied", f"Invalid according to Policy: field {name}")
        _, filename, data = parts[-1]
        if not data:
            return _s3_error(400, "EntityTooSmall", "The file is empty")
        if len(data) > MAX_UPLOAD_BYTES:
            return _s3_error(400, "EntityTooLarge", "The file exceeds the maximum size")
        with self._lock:
            slot.update(filename=filename, data=bytes(data))
            status = self._upload_setting["upload_status"]
        return status, {}, None

    def media_content(self, media_id: str) -> Answer:
        """What Bird (and a test) downloads at a media URL."""
        with self._lock:
            slot = self._uploads.get(self._media_ids.get(media_id, ""))
            data = slot and slot["data"]
        if not data:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist")
        return 200, {"Content-Type": slot["content_type"]}, data

    def uploads(self) -> list[dict]:
        """Every presigned upload, in order: ids, URLs, content type, and the ``filename`` and
        ``data`` stored (None until the file arrived)."""
        with self._lock:
            return [
                {k: v for k, v in slot.items() if k != "form"} | {"form": dict(slot["form"])}
                for slot in self._uploads.values()
            ]
