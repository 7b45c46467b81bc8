"""Reading Bird's objects: channels, messages (either direction) and the presigned upload's
answer. Bird's shapes are read here only, defensively: a field that is missing or of another
type reads as absent, never as an error, except in an upload answer, which must be followed
exactly. No Airflow imports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from airflow_provider_sms.bird.errors import BirdError
from airflow_provider_sms.bird.facts import CARRIER_CAP_CODES
from airflow_provider_sms.loopback import is_loopback

# -- channels -----------------------------------------------------------------------------


def mms_capability(channel: dict[str, Any]) -> dict[str, Any] | None:
    """The channel's outgoing MMS capability node, under either nesting Bird's docs show:
    ``capabilities.messaging.outgoing.mms`` or ``capabilities.messaging.messaging.outgoing.mms``.
    """
    messaging = (channel.get("capabilities") or {}).get("messaging") or {}
    for node in (messaging, messaging.get("messaging") or {}):
        mms = (node.get("outgoing") or {}).get("mms")
        if isinstance(mms, dict):
            return mms
    return None


def is_mms_capable(channel: dict[str, Any]) -> bool:
    mms = mms_capability(channel)
    return bool(mms) and mms.get("status") == "active" and mms.get("paused") is not True


# -- messages -----------------------------------------------------------------------------


def recipient_of(message: dict) -> str | None:
    """The first contact's number of a message's (or an interaction's) ``receiver``; None
    when Bird's answer does not have that shape."""
    receiver = message.get("receiver")
    contacts = receiver.get("contacts") if isinstance(receiver, dict) else None
    first = contacts[0] if isinstance(contacts, list) and contacts else None
    number = first.get("identifierValue") if isinstance(first, dict) else None
    return number if isinstance(number, str) and number else None


def message_text(message: dict) -> str:
    """A message's text (``body.text.text``), in either direction; empty for one without."""
    body = message.get("body")
    text = body.get("text") if isinstance(body, dict) else None
    text = text.get("text") if isinstance(text, dict) else None
    return text if isinstance(text, str) else ""


def inbound_message(message: dict) -> dict | None:
    """Bird's inbound message as events and XComs carry it: ``message_id``, ``from`` (the
    sender's number, ``sender.contact.identifierValue``), ``text`` (empty for a message
    without text), ``received_at`` (Bird's ``createdAt``) and ``channel_id``; None for a
    message that is not incoming."""
    if not isinstance(message, dict) or message.get("direction") != "incoming":
        return None
    sender = message.get("sender")
    contact = sender.get("contact") if isinstance(sender, dict) else None
    number = contact.get("identifierValue") if isinstance(contact, dict) else None
    return {
        "message_id": message.get("id"),
        "from": number if isinstance(number, str) else None,
        "text": message_text(message),
        "received_at": message.get("createdAt"),
        "channel_id": message.get("channelId"),
    }


class MessageStatus(NamedTuple):
    """Where a sent message stands, as Bird's message object says: its ``status`` as given
    (any type), why it failed (``reason``, else ``failure.description``) and Bird's
    ``failure.code``, and when a scheduled one is due (``scheduledFor``; None without)."""

    message_id: str
    status: Any
    recipient: str | None
    reason: Any
    code: Any
    due: str | None
    # The US carrier's cap the message failed on (a key of facts.CARRIER_CAP_CODES), if any.
    carrier_cap: str | None = None


def message_status(message: Any) -> MessageStatus | None:
    """A message object's status; None for anything that is not a message with an id."""
    if not isinstance(message, dict) or not isinstance(message.get("id"), str):
        return None
    failure = message.get("failure")
    failure = failure if isinstance(failure, dict) else {}
    due = message.get("scheduledFor")
    return MessageStatus(
        message["id"],
        message.get("status"),
        recipient_of(message),
        message.get("reason") or failure.get("description"),
        failure.get("code"),
        due if isinstance(due, str) and due else None,
        carrier_cap(failure, message.get("reason")),
    )


def carrier_cap(failure: dict, reason: Any) -> str | None:
    """The US carrier's cap a failed message names, wherever it names it: Bird's failure
    code, the failure's source code, or the reason's text (by the cap's name)."""
    source = failure.get("source")
    codes = [failure.get("code"), source.get("code") if isinstance(source, dict) else None]
    for code in codes:
        named = str(code).strip() if isinstance(code, int | str) else ""
        if named in CARRIER_CAP_CODES:
            return named
    text = str(reason or "").upper()
    return next((code for code, (name, _) in CARRIER_CAP_CODES.items() if name in text), None)


# -- the presigned upload -----------------------------------------------------------------


@dataclass(frozen=True)
class Presigned:
    """Where Bird asked for a file to go, and the URL messages then use."""

    media_url: str
    upload_url: str
    form: dict[str, str]


def url_origin(url: str) -> str:
    """``scheme://host[:port]/path``: what an error may show of a URL (a presigned URL's
    query can hold a signature)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _web_url(value: Any, what: str) -> str:
    if not isinstance(value, str) or any(c.isspace() for c in value):
        raise BirdError(f"Bird's presigned upload answer has no usable {what}")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BirdError(f"Bird's presigned upload answer has no absolute http(s) {what}")
    return value


def parse_presigned(answer: Any) -> Presigned:
    """Check Bird's answer; anything this client cannot follow exactly is an error, before
    any byte of the file leaves."""
    if not isinstance(answer, dict):
        raise BirdError("Bird's presigned upload answer is not an object")
    method = answer.get("uploadMethod", "POST")
    if not isinstance(method, str) or method.upper() != "POST":
        raise BirdError(
            f"Bird's presigned upload asks for uploadMethod {method!r}; only the documented "
            "POST form upload is made"
        )
    upload_url = _web_url(answer.get("uploadUrl"), "uploadUrl")
    parts = urlsplit(upload_url)
    if parts.scheme.lower() != "https" and not is_loopback(parts.hostname or ""):
        raise BirdError(
            f"Bird's presigned upload names {url_origin(upload_url)}: plain http, and not a "
            "loopback host; the file is uploaded over https only"
        )
    form = answer.get("uploadFormData") or {}
    if not isinstance(form, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in form.items()
    ):
        raise BirdError("Bird's presigned upload answer has uploadFormData that is not text")
    return Presigned(_web_url(answer.get("mediaUrl"), "mediaUrl"), upload_url, dict(form))
