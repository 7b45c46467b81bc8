"""What the sandbox's own tests share: Bird request bodies and URLs, timestamps as Bird writes
them, and a clock that moves only when told to."""

from __future__ import annotations

import contextlib
import socket
import time
from datetime import UTC, datetime

import requests

from bird_sandbox import (
    ACCESS_KEY,
    MMS_CHANNEL_ID,
    TEMPLATE_PROJECT_ID,
    WORKSPACE_ID,
    BirdSandbox,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"
# What each magic recipient's message ends with, as the sandbox's catalogue describes it.
DELIVERY_FAILURE = {
    "status": "delivery_failed",
    "reason": "details: absent subscriber; reason: absent_subscriber; code: 27",
    "details": "absent_subscriber",
    "failure": {
        "code": 15006,
        "description": "The carrier could not reach the handset (switched off or out of "
        "coverage): absent subscriber",
        "source": {"name": "sms-messagebird", "code": "27"},
    },
}
SENDING_FAILURE = {
    "status": "sending_failed",
    "reason": "details: no route to the recipient's network; reason: no_route",
    "details": "no_route",
    "failure": {
        "code": 15002,
        "description": "The SMS platform has no route to the recipient's network",
        "source": {"name": "sms-messagebird", "code": "no_route"},
    },
}
# The fields of a message that say how it ended.
FAILURE_KEYS = ("reason", "details", "failure")
# Seconds after acceptance at which a message becomes processing, sent and delivered, in the
# backend of the sandbox's tests.
DELAYS = {"processing": 0.2, "sent": 0.5, "delivered": 1.0}


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
    fields = {
        "projectId": TEMPLATE_PROJECT_ID,
        "version": version,
        "locale": locale,
        "parameters": parameters,
        **template,
    }
    # A field given as None is left out (a template by name has no projectId).
    fields = {key: value for key, value in fields.items() if value is not None}
    return {"receiver": {"contacts": [{"identifierValue": TO}]}, "template": fields}


def multipart(parts: list[tuple[str, bytes | str, str | None]]) -> tuple[bytes, str]:
    """A multipart/form-data body of ``(name, content, filename)`` parts, in order, and its
    Content-Type (what a browser or ``requests`` sends)."""
    boundary = "sandbox-test-boundary-7MA4YWxkTrZu0gW"
    chunks = []
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        data = content.encode() if isinstance(content, str) else content
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        chunks.append(head + data + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def presigned_form(form_data: dict, data: bytes, filename: str | None = "photo.png") -> list:
    """The parts of a correct upload: every presigned field, then the file."""
    return [*((name, value, None) for name, value in form_data.items()), ("file", data, filename)]


def channel_url(sb: BirdSandbox, channel_id: str = MMS_CHANNEL_ID, suffix: str = "") -> str:
    return f"{sb.base_url}/workspaces/{WORKSPACE_ID}/channels/{channel_id}{suffix}"


def send(sb, http, payload, channel_id=MMS_CHANNEL_ID, **kwargs) -> requests.Response:
    return http.post(channel_url(sb, channel_id, "/messages"), json=payload, **kwargs)


def receiver(message: dict) -> str:
    return message["receiver"]["contacts"][0]["identifierValue"]


def stamp(moment: float) -> str:
    at = datetime.fromtimestamp(moment, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


def seconds_between(earlier: str, later: str) -> float:
    return (parse(later) - parse(earlier)).total_seconds()


def ending(message: dict) -> dict:
    """A message's status and failure fields (absent ones left out)."""
    return {key: message[key] for key in ("status", *FAILURE_KEYS) if key in message}


def parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")


class Clock:
    """A UNIX clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))  # a whole second: stamps are exact

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def closed_port(host: str = "127.0.0.1"):
    """A loopback port bound but not listening, held until the block ends: a connection to
    it is refused, and no other process (a busy machine's next ephemeral port) can take it."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        yield sock.getsockname()[1]
