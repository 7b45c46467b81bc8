"""Bird's webhooks: the signature of a delivery, reading one, the asset it becomes, and the
subscriptions that ask for them. No Airflow imports.

The signature is Bird's (API-NOTES section 5, "Verifying a webhook"): base64 of HMAC-SHA256,
keyed with the subscription's signing key, over ``"{timestamp}\\n{url}\\n"`` followed by the
SHA-256 digest of the raw body. The envelope around the event is not on Bird's pages [I]:
``{"service": "channels", "event": "sms.inbound", "payload": {...}}`` as integrations show it,
so a bare object and an envelope with fields unknown here are read too."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_sms.bird.ids import is_uuid

SIGNATURE_HEADER = "messagebird-signature"
TIMESTAMP_HEADER = "messagebird-request-timestamp"
# A delivery signed longer ago than this (or this far ahead of the clock) is refused as a
# replay; Bird signs each retry anew.
SIGNATURE_WINDOW = 300.0
# A ChannelMessage or an interaction is a few kilobytes; far larger is not Bird's.
MAX_BODY_BYTES = 256 * 1024
# The most kept events one read of the receiver gives back.
MAX_READ_EVENTS = 1000

INBOUND = "sms.inbound"
OUTBOUND = "sms.outbound"
# The interaction event's name is not on Bird's pages [I]; its filter is `interactionType`.
INTERACTION = "sms.interaction"
EVENTS = (INBOUND, OUTBOUND, INTERACTION)
ASSET_SCHEME = "bird"


class WebhookRefused(Exception):
    """A request the receiver does not take: `status` is the HTTP status to answer (a 4xx, or
    202 for a signed delivery of a shape not known here), the message says why (never a
    number, a key or the body)."""

    def __init__(self, status: int, message: str, *, event: str | None = None):
        super().__init__(message)
        self.status = status
        self.event = event


def signature(signing_key: str, timestamp: str, url: str, body: bytes) -> str:
    """Bird's signature of a delivery, as the ``messagebird-signature`` header carries it."""
    digest = hashlib.sha256(body).digest()
    signed = f"{timestamp}\n{url}\n".encode() + digest
    mac = hmac.new(signing_key.encode(), signed, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def verify(
    signing_key: str,
    headers: Mapping[str, str],
    url: str,
    body: bytes,
    *,
    now: float,
    window: float = SIGNATURE_WINDOW,
) -> None:
    """Raise WebhookRefused(401) unless `body` was signed with `signing_key` for `url` within
    `window` seconds of `now`. The comparison takes constant time."""
    given = headers.get(SIGNATURE_HEADER)
    stamp = headers.get(TIMESTAMP_HEADER)
    if not given or not stamp:
        raise WebhookRefused(401, f"not signed: {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} needed")
    try:
        moment = float(stamp)
    except ValueError:
        raise WebhookRefused(401, f"{TIMESTAMP_HEADER}: not a UNIX time") from None
    try:
        received = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        received = b""
    expected = base64.b64decode(signature(signing_key, stamp, url, body))
    if not hmac.compare_digest(received, expected):
        raise WebhookRefused(401, "the signature does not match this URL and body")
    if abs(now - moment) > window:
        raise WebhookRefused(
            401, f"signed {now - moment:.0f} s from now: outside the {window:.0f} s window"
        )


# A wait reading kept events back from the receiver signs its request with the same key.
READ_SIGNATURE_HEADER = "x-bird-read-signature"
READ_TIMESTAMP_HEADER = "x-bird-read-timestamp"


def read_signature(signing_key: str, timestamp: str, conn_id: str, query: str) -> str:
    """The signature of a read of kept events: over the connection id and the query string
    as sent, in another domain than Bird's deliveries, so that neither can stand for the
    other (and a proxy's path prefix does not matter)."""
    signed = f"read\n{timestamp}\n{conn_id}\n{query}".encode()
    return hmac.new(signing_key.encode(), signed, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Event:
    """One event of a delivery: its name, the channel it belongs to, the object Bird sent
    (a ChannelMessage, or an interaction) and its key, equal for every delivery of it."""

    name: str
    channel_id: str
    payload: dict
    key: str

    def summary(self) -> dict[str, Any]:
        """What a log line may say of it: no number, no text."""
        return {
            "event": self.name,
            "channel_id": self.channel_id,
            "id": self.payload.get("id"),
            "status": self.payload.get("status") or self.payload.get("type"),
        }


def read_delivery(body: bytes, *, workspace_id: str, channel_id: str | None) -> Event:
    """The event a verified delivery carries, for a connection's workspace (and channel, when
    it names one). Anything else is WebhookRefused with a 4xx naming what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(413, f"the body is {len(body):,} bytes; at most {MAX_BODY_BYTES:,}")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRefused(400, "the body is not JSON") from None
    if not isinstance(document, dict):
        raise WebhookRefused(400, f"the body is a JSON {type(document).__name__}, not an object")
    name, payload = _unwrap(document)
    if not isinstance(payload, dict) or not payload:
        raise WebhookRefused(422, "payload: missing or not an object", event=name)
    if name is None:
        name = _event_of(payload)
        if name is None:
            # Signed by Bird, yet neither an envelope nor a message or interaction: a shape
            # of Bird's this reader does not know. Taken (and logged), not refused, as Bird
            # would retry a refusal for 8 hours to no avail.
            raise WebhookRefused(202, "neither an envelope nor a message or interaction: not read")
    if name not in EVENTS:
        raise WebhookRefused(
            422, f"event: {name!r} is not one of {', '.join(EVENTS)}", event=_shown(name)
        )
    service = document.get("service")
    if service is not None and service != "channels":
        raise WebhookRefused(422, f"service: {service!r} is not 'channels'", event=name)
    workspace = payload.get("workspaceId", document.get("workspaceId"))
    if workspace is not None and workspace != workspace_id:
        raise WebhookRefused(
            422,
            "workspaceId: the delivery is for another workspace than the connection's",
            event=name,
        )
    channel = payload.get("channelId")
    if not isinstance(channel, str) or not is_uuid(channel):
        raise WebhookRefused(422, "payload.channelId: missing or not a UUID", event=name)
    if channel_id and channel != channel_id:
        raise WebhookRefused(
            422, f"payload.channelId: {channel} is not the connection's channel", event=name
        )
    if not isinstance(payload.get("id"), str) or not payload["id"]:
        raise WebhookRefused(422, "payload.id: missing", event=name)
    if name == OUTBOUND and not isinstance(payload.get("status"), str):
        raise WebhookRefused(422, "payload.status: missing", event=name)
    return Event(name=name, channel_id=channel, payload=payload, key=event_key(name, payload))


def event_key(name: str, payload: dict) -> str:
    """The same for every delivery of one event (Bird's retries, a second API-server worker),
    different for each status a message enters: the event's name and Bird's object, which a
    retry repeats as it is."""
    canonical = json.dumps([name, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _unwrap(document: dict) -> tuple[str | None, Any]:
    """(event name or None, object) of an envelope, or of a bare object."""
    if "payload" in document or "event" in document:
        name = document.get("event")
        return (name if isinstance(name, str) else _shown(name)), document.get("payload")
    return None, document


def _event_of(payload: dict) -> str | None:
    """The event a bare object is: an interaction has a type and a messageId; a message a
    direction."""
    if "messageId" in payload and "type" in payload:
        return INTERACTION
    direction = payload.get("direction")
    if direction == "incoming":
        return INBOUND
    if direction == "outgoing":
        return OUTBOUND
    return None


def _shown(name: Any) -> str | None:
    """An event name fit for a log line: short text, or its type."""
    if name is None:
        return None
    if isinstance(name, str):
        return name[:64]
    return f"<{type(name).__name__}>"


def asset_uri(workspace_id: str, channel_id: str, event: str) -> str:
    """The asset a channel's events of one kind become: ``bird://<workspace>/<channel>/<event>``."""
    if event not in EVENTS:
        raise ValueError(f"event: {event!r} is not one of {', '.join(EVENTS)}")
    for name, value in (("workspace_id", workspace_id), ("channel_id", channel_id)):
        if not is_uuid(value or ""):
            raise ValueError(f"{name}: {value!r} is not a UUID")
    return f"{ASSET_SCHEME}://{workspace_id}/{channel_id}/{event}"


def subscription(event: str, url: str, signing_key: str, channel_id: str) -> dict:
    """The body of Bird's "create a webhook subscription" for one event of one channel."""
    return {
        "service": "channels",
        "event": event,
        "url": url,
        "signingKey": signing_key,
        "eventFilters": [{"key": "channelId", "value": channel_id}],
    }


def same_subscription(existing: Any, wanted: dict) -> bool:
    """Whether a listed subscription already delivers what `wanted` asks for (the signing key
    is not listed, so it is not compared)."""
    if not isinstance(existing, dict):
        return False

    def filters(value: Any) -> set:
        return {(f.get("key"), f.get("value")) for f in value or () if isinstance(f, dict)}

    return (
        existing.get("event") == wanted["event"]
        and existing.get("url") == wanted["url"]
        and existing.get("service", "channels") == wanted["service"]
        and filters(existing.get("eventFilters")) == filters(wanted["eventFilters"])
    )


def receiver_url(conn_id: str, webhook_url: str | None, api_base_url: str | None) -> str:
    """Where the receiver takes `conn_id`'s webhooks: extra.webhook_url (the URL Bird calls),
    else Airflow's API server (``[api] base_url``)."""
    if webhook_url:
        return webhook_url.rstrip("/")
    base = (api_base_url or "http://localhost:8080").rstrip("/")
    return f"{base}/bird/webhooks/{conn_id}"
