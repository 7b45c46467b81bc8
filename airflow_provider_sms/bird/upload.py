"""Bird's presigned media upload: Bird names a storage host and a form, the file goes there,
and messages carry the media URL Bird returned (API-NOTES section 9, "Media hosting").

The storage host is not Bird's API: the upload carries Bird's form fields and the file, never
the access key (nor a ``~/.netrc`` entry), and goes over https, or plain http to a loopback
host only. No Airflow imports."""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit

import requests
import requests.auth

from airflow_provider_sms.bird.client import (
    RETRY_STATUSES,
    BirdClient,
    describe_failure,
    new_session,
)
from airflow_provider_sms.bird.errors import BirdUploadError
from airflow_provider_sms.bird.facts import MAX_MEDIA_UPLOAD_BYTES
from airflow_provider_sms.bird.objects import Presigned, parse_presigned, url_origin
from airflow_provider_sms.loopback import is_loopback

# S3-style storage explains a refusal in XML: its <Code> is short and names no secret.
_XML_CODE = re.compile(rb"<Code>([A-Za-z0-9_.-]{1,64})</Code>")
# The most of the storage host's answer read: S3's is empty, or a short XML whose <Code>
# comes first; the rest of a longer one is left unread.
STORAGE_ANSWER_BYTES = 16 * 1024


class _NoAuth(requests.auth.AuthBase):
    """No credential at all: set as the session's auth, it also keeps requests from filling
    one in from ``~/.netrc`` for the storage host."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


def upload_media(
    client: BirdClient,
    channel_id: str,
    data: bytes,
    *,
    content_type: str,
    filename: str,
    cancel: threading.Event | None = None,
) -> str:
    """Upload `data` for the channel's messages; the media URL Bird returned for it."""
    if not 1 <= len(data) <= MAX_MEDIA_UPLOAD_BYTES:
        raise ValueError(f"an upload holds 1 to {MAX_MEDIA_UPLOAD_BYTES} bytes, got {len(data)}")
    presigned = parse_presigned(client.presign_upload(channel_id, content_type))
    post_form(client, presigned, data, content_type=content_type, filename=filename, cancel=cancel)
    return presigned.media_url


def post_form(
    client: BirdClient,
    presigned: Presigned,
    data: bytes,
    *,
    content_type: str,
    filename: str,
    cancel: threading.Event | None = None,
) -> None:
    """POST Bird's form fields, then the file, to the storage host, with the client's
    timeouts, answer deadline and retry loop (every failure with no answer is safe to repeat:
    the same object is written again); at most STORAGE_ANSWER_BYTES of its answer are
    read."""
    settings = client.settings
    parts = urlsplit(presigned.upload_url)
    where = url_origin(presigned.upload_url)
    with new_session(trust_env=not is_loopback(parts.hostname or "")) as session:
        session.auth = _NoAuth()

        def attempt() -> None:
            try:
                response, _ = client.exchange(
                    session,
                    "POST",
                    presigned.upload_url,
                    limit=STORAGE_ANSWER_BYTES,
                    data=presigned.form,
                    # requests writes the form's fields first, then the file: the order
                    # S3-style storage requires.
                    files={"file": (filename, data, content_type)},
                    allow_redirects=False,
                )
            except requests.exceptions.RequestException as exc:
                what, names, _ = describe_failure(exc, settings.read_timeout)
                raise BirdUploadError(
                    f"{what} ({names})", retryable=True, method="POST", path=where
                ) from None
            if 200 <= response.status_code < 300:
                return
            code = _XML_CODE.search(response.content)
            raise BirdUploadError(
                code.group(1).decode() if code else (response.reason or "refused"),
                retryable=response.status_code in RETRY_STATUSES,
                status=response.status_code,
                method="POST",
                path=where,
            )

        client.retrying(attempt, cancel=cancel, what="the upload to the storage host")
