"""What happens to a message between its acceptance and its delivery that its request or its
channel asks for: the channel's quiet hours hold it (unless ``ignoreQuietHours``), its
``validity`` ends it ``delivery_failed`` when it would be delivered later, and ``shortLinks``
rewrites the links of what the recipient reads."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta

from .catalogue import CHANNELS, EXPIRED_FAILURE, SHORT_LINK_DOMAIN

_PROCESSING, _SENT, _DELIVERED = "processing", "sent", "delivered"
_LINK = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'\""


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def quiet_hours_end(channel_id: str, message: dict, moment: float) -> float | None:
    """When the channel's quiet hours around `moment` end (UNIX time), or None: the channel
    has none, `moment` is outside them, or the message says ``ignoreQuietHours``."""
    window = CHANNELS[channel_id].get("quiet_hours")
    if window is None or message.get("ignoreQuietHours") is True:
        return None
    start, end = (_minutes(t) for t in window)
    when = datetime.fromtimestamp(moment, UTC)
    minute = when.hour * 60 + when.minute + when.second / 60 + when.microsecond / 6e7
    crosses_midnight = start > end
    inside = (minute >= start or minute < end) if crosses_midnight else start <= minute < end
    if not inside:
        return None
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    ends = day + timedelta(minutes=end)
    if ends <= when:
        ends += timedelta(days=1)
    return ends.timestamp()


def expire(stages: tuple, validity: int) -> tuple:
    """A timeline whose message would be delivered (or would stay sent) after `validity`
    seconds, ending ``delivery_failed`` at `validity` instead; any other timeline as it is."""
    last_offset, last_status, _ = stages[-1]
    if last_status == _DELIVERED and last_offset <= validity:
        return stages
    if last_status not in (_DELIVERED, _SENT):
        return stages  # it fails on its own
    kept = tuple(s for s in stages if s[0] < validity and s[1] in (_PROCESSING, _SENT))
    return (*kept, (float(validity), "delivery_failed", EXPIRED_FAILURE))


def _short(url: str, domain: str) -> str:
    digest = hashlib.sha256(url.encode()).digest()
    code = base64.urlsafe_b64encode(digest[:6]).decode()
    return f"https://{domain}/{code}"


def short_link(seed: str) -> str:
    """A short link on the sandbox's domain, the same for the same `seed`."""
    return _short(seed, SHORT_LINK_DOMAIN)


def first_link(text: str) -> str | None:
    """The first http(s) link of `text` (without the punctuation that ends a sentence)."""
    match = _LINK.search(text)
    return None if match is None else match.group(0).rstrip(_TRAILING)


def shorten_links(text: str, domain: str) -> str:
    """`text` with each http(s) link replaced by https://<domain>/<8 characters> (the same link
    always gives the same short one); ``"default"`` is the sandbox's domain."""
    if domain == "default":
        domain = SHORT_LINK_DOMAIN

    def replace(match: re.Match) -> str:
        link = match.group(0)
        stripped = link.rstrip(_TRAILING)
        return _short(stripped, domain) + link[len(stripped) :]

    return _LINK.sub(replace, text)


def shortened_body(body: dict, domain: str) -> dict:
    """A copy of `body` with the links of its text shortened (text, image and file bodies)."""
    kind = body.get("type")
    inner = body.get(kind)
    if not isinstance(inner, dict) or not isinstance(inner.get("text"), str):
        return body
    return {**body, kind: {**inner, "text": shorten_links(inner["text"], domain)}}
