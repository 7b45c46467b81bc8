"""The return path: inbound SMS on a channel that can receive, the keywords Bird's SMS platform
acts on (STOP, START and their synonyms become interactions on the last message sent to the
number), message interactions (listMessageInteractions), and the answering recipients'
replies and clicks (:data:`.catalogue.ANSWERING_RECIPIENTS`).

Replies are kept pending until they are due and stored when the sandbox is next read or
written (as statuses are worked out when read, :mod:`.statuses`): no thread is involved, so a
test's clock and a sandbox in a process of its own behave the same. A reply is stamped with
the moment it became due; since every read and every store first stores what is due, no
message stored later on its channel is stamped earlier.
"""

from __future__ import annotations

import heapq
import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from airflow_provider_sms.bird.facts import MMS_BODY_TYPES

from .catalogue import ANSWERING_RECIPIENTS, CHANNELS, MMS_CHANNEL_ID, WORKSPACE_ID
from .messages import contact_id, copy_json
from .rules import first_link, short_link
from .statuses import DELIVERED, REJECTED, timestamp

CLICKED, UNSUBSCRIBE, SUBSCRIBE = "clicked", "unsubscribe-request", "subscribe-consent"
INTERACTION_TYPES = (CLICKED, UNSUBSCRIBE, SUBSCRIBE)
# An inbound text that is exactly one of these (any case, surrounding spaces aside) opts the
# number out of, or back into, the channel's messages. YES is not one.
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "UNSTOP"})

# store_sent(): at most this many at once, at this rate by default (a large send's), to one
# number of the sandbox's that no test texts otherwise.
MAX_SENT = 100_000
SENT_RATE = 450.0
SENT_TO = "+12025559999"

_PHONE_NUMBER = re.compile(r"\+\d{8,15}")


def keyword_type(text: str) -> str | None:
    """The interaction an inbound text asks for, by Bird's SMS keywords; None for any other."""
    word = text.strip().upper()
    if word in STOP_KEYWORDS:
        return UNSUBSCRIBE
    if word in START_KEYWORDS:
        return SUBSCRIBE
    return None


def _stamp(moment: float) -> str:
    return timestamp(datetime.fromtimestamp(moment, UTC))


def _check_number(number: Any, name: str) -> str:
    if not isinstance(number, str) or not _PHONE_NUMBER.fullmatch(number):
        raise ValueError(f"{name} must be an E.164 phone number (+ and 8 to 15 digits)")
    return number


def _recipients(message: dict) -> list[str]:
    return [c.get("identifierValue") for c in message["receiver"].get("contacts") or []]


# GSM-7's letters beyond ASCII (its basic table's others are ASCII, near enough).
_GSM_LETTERS = frozenset("£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¡¤ÄÖÑÜ§¿äöñüà€")


def _sms_parts(text: str) -> int:
    """How many SMS parts carry `text`: GSM-7 (160, or 153 a part) when its alphabet has
    every character, UCS-2 (70, or 67 a part) otherwise. A close reckoning: the sandbox does
    not import the provider's exact count (message.segments), a layer above it."""
    if all(c.isascii() or c in _GSM_LETTERS for c in text):
        single, part = 160, 153
        size = len(text) + sum(c in "^{}\\[~]|€" for c in text)  # escape + character
    else:
        single, part = 70, 67
        size = len(text.encode("utf-16-le")) // 2
    return 1 if size <= single else math.ceil(size / part)


def _parts_count(message: dict) -> int:
    body = message.get("body") or {}
    if body.get("type") in MMS_BODY_TYPES:
        return 1
    text = ((message.get("meta") or {}).get("extraInformation") or {}).get("renderedText")
    return _sms_parts(text) if isinstance(text, str) else 1


def clicked_link(message: dict) -> str:
    """What a click on `message` opens: its first link as the person read it (a short link
    if it was shortened), else a placeholder short link."""
    text = ((message.get("meta") or {}).get("extraInformation") or {}).get("renderedText")
    link = first_link(text) if isinstance(text, str) else None
    return link or short_link(message["id"])


class InboundOperations:
    """Inbound messages, interactions and pending replies, over the backend's state (see
    :class:`.SandboxBackend`, which holds the lock, the stored messages and these lists)."""

    # Bird's operation ----------------------------------------------------------------------

    def list_message_interactions(
        self, workspace_id: str, channel_id: str, message_id: str
    ) -> dict:
        """listMessageInteractions: the message's interactions, newest first."""
        self.require(workspace_id, channel_id)
        now = self._clock()
        with self._lock:
            self._settle_locked(now)
            _, own = self._read_locked(message_id, channel_id)
            listed = own or self._settings["listing"]["other_channel"] == "listed"
            shown = [self._interactions[i] for i in self._interactions_of.get(message_id, [])]
            shown = shown if listed else []
        return {"results": copy_json(shown[::-1])}

    # the sandbox's own -------------------------------------------------------------------

    def receive(
        self,
        from_number: str,
        text: str,
        *,
        channel_id: str = MMS_CHANNEL_ID,
        listed: Mapping[str, Any] | None = None,
    ) -> dict:
        """Store an SMS from `from_number` to the channel, now; the stored message. STOP,
        START and their synonyms also record an interaction on the last message sent to the
        number on the channel. ValueError for a bad number or text, or a channel that
        cannot receive. `listed` replaces the message's ``id`` and/or ``createdAt`` as the
        listing shows them, as a Bird that answers them otherwise might (e.g. a null id, or
        RFC 3339's lowercase ``z``)."""
        unknown = set(listed or {}) - {"id", "createdAt"}
        if unknown:
            raise ValueError(f"listed may replace id and createdAt only, not {sorted(unknown)}")
        _check_number(from_number, "from_number")
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty string")
        channel = CHANNELS.get(channel_id)
        if channel is None:
            raise ValueError(f"unknown channel {channel_id!r}")
        if not channel["inbound"]:
            raise ValueError(
                f"channel {channel_id} sends from the alphanumeric sender "
                f"{channel['identifier']!r}, which is one-way: it cannot receive messages"
            )
        now = self._clock()
        with self._lock:
            self._settle_locked(now)
            message = self._receive_locked(channel_id, from_number, text, now)
            message.update(listed or {})
        return copy_json(message)

    def store_sent(
        self, count: int, *, channel_id: str = MMS_CHANNEL_ID, rate: float = SENT_RATE
    ) -> int:
        """Store `count` delivered outgoing SMS on the channel at once, as if a large send had
        just gone out at `rate` messages a second (their createdAt spread over the seconds
        up to now): a busy channel without posting each. How many were stored."""
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SENT:
            raise ValueError(f"count must be an integer from 1 to {MAX_SENT}")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise ValueError("rate must be a positive number of messages a second")
        channel = CHANNELS.get(channel_id)
        if channel is None:
            raise ValueError(f"unknown channel {channel_id!r}")
        now = self._clock()
        with self._lock:
            self._settle_locked(now)
            start = max(now - count / rate, self._latest.get(channel_id, now - count / rate))
            step = max(0.0, now - start) / count
            for n in range(count):
                at = start + step * (n + 1)
                moment = _stamp(at)
                message = {
                    "id": str(uuid.uuid4()),
                    "channelId": channel_id,
                    "sender": {"connector": {"id": channel["connectorId"]}},
                    "receiver": {
                        "contacts": [{"identifierKey": "phonenumber", "identifierValue": SENT_TO}]
                    },
                    "body": {"type": "text", "text": {"text": "Sent in bulk"}},
                    "status": DELIVERED,
                    "direction": "outgoing",
                    "lastStatusAt": moment,
                    "createdAt": moment,
                    "updatedAt": moment,
                }
                self._store_locked(message, at, None)
                self._latest[channel_id] = at
        return count

    def interact(
        self,
        message_id: str,
        type: str,  # noqa: A002 - Bird's field name
        *,
        url: str | None = None,
        recipient: str | None = None,
    ) -> dict:
        """Record an interaction of `type` on a sent message, now; the interaction. A click
        opens `url` (default: the message's first link, see :func:`clicked_link`); an
        unsubscribe-request or subscribe-consent comes from a link when `url` is given, else
        from the STOP or START keyword. `recipient`: who (default: the message's first)."""
        if type not in INTERACTION_TYPES:
            expected = ", ".join(INTERACTION_TYPES)
            raise ValueError(f"unknown interaction type {type!r} (expected one of {expected})")
        if url is not None and not isinstance(url, str):
            raise ValueError("url must be a string")
        now = self._clock()
        with self._lock:
            self._settle_locked(now)
            position = self._position.get(message_id)
            message = None if position is None else self._messages[position]
            if message is None or message.get("direction") != "outgoing":
                raise ValueError(f"no sent message {message_id!r}")
            numbers = _recipients(message)
            if recipient is None:
                recipient = numbers[0] if numbers else None
            if recipient not in numbers:
                raise ValueError(f"{recipient!r} is not a recipient of message {message_id}")
            if type == CLICKED:
                details = {"url": url or clicked_link(message)}
            elif url is not None:
                details = {"url": url}
            else:
                details = {"keyword": "STOP" if type == UNSUBSCRIBE else "START"}
            interaction = self._interaction_locked(message, type, recipient, details, now)
        return copy_json(interaction)

    def interactions(self) -> list[dict]:
        """Every stored interaction (copies), in the order they happened."""
        now = self._clock()
        with self._lock:
            self._settle_locked(now)
            return copy_json(self._interactions)

    # state -------------------------------------------------------------------------------

    def _receive_locked(
        self, channel_id: str, number: str, text: str, at: float, reply_to: dict | None = None
    ) -> dict:
        """Store an inbound message (at `at`, or the channel's latest stamp if later) and act
        on its keyword: on `reply_to`, else on the last message sent to the number."""
        channel = CHANNELS[channel_id]
        moment = _stamp(at)
        message = {
            "id": str(uuid.uuid4()),
            "channelId": channel_id,
            "sender": {
                "contact": {
                    "id": contact_id(WORKSPACE_ID, number),
                    "identifierKey": "phonenumber",
                    "identifierValue": number,
                }
            },
            "receiver": {
                "connector": {
                    "id": channel["connectorId"],
                    "identifierValue": channel["identifier"],
                }
            },
            "body": {"type": "text", "text": {"text": text}},
            "parts": [{"platformReference": str(uuid.uuid4())}],
            "status": DELIVERED,
            "direction": "incoming",
            "lastStatusAt": moment,
            "createdAt": moment,
            "updatedAt": moment,
        }
        # Stored as any message, its status fixed; what was due by `at` is stored already.
        self._store_live_locked(message, at, at, None, settle=False)
        self._inbound += 1
        kind = keyword_type(text)
        if kind is not None:
            target = reply_to or self._last_sent_locked(channel_id, number)
            if target is not None:
                created = max(at, self._latest[channel_id])
                details = {"keyword": text.strip().upper()}
                self._interaction_locked(target, kind, number, details, created)
        return message

    def _last_sent_locked(self, channel_id: str, number: str) -> dict | None:
        for position in reversed(self._by_channel.get(channel_id, [])):
            message = self._messages[position]
            if (
                message.get("direction") == "outgoing"
                and message.get("status") != REJECTED
                and number in _recipients(message)
            ):
                return message
        return None

    def _interaction_locked(
        self, message: dict, kind: str, number: str, details: dict, at: float
    ) -> dict:
        earlier = self._interactions_of.setdefault(message["id"], [])
        interaction: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "messageId": message["id"],
            "channelId": message["channelId"],
            "platformId": "sms-messagebird",
            "type": kind,
            "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": number}]},
            "details": details,
            "metadata": {},
            "createdAt": _stamp(at),
        }
        if message.get("reference") is not None:
            interaction["messageReference"] = message["reference"]
        interaction.update(
            messagePartsCount=_parts_count(message),
            messageTags=list(message.get("tags") or []),
            isFirstInteraction=all(self._interactions[i]["type"] != kind for i in earlier),
        )
        earlier.append(len(self._interactions))
        self._interactions.append(interaction)
        return interaction

    def _schedule_replies_locked(self, message: dict, origin: float) -> None:
        """Queue what the answering recipients of a message just stored will do."""
        if message.get("direction") != "outgoing" or message.get("status") == REJECTED:
            return
        due = origin + self._settings["reply_delay"]
        for number in _recipients(message):
            answer = ANSWERING_RECIPIENTS.get(number)
            if answer is not None:
                self._reply_count += 1  # a tie-breaker: the heap never compares messages
                heapq.heappush(self._replies, (due, self._reply_count, answer, number, message))

    def _settle_locked(self, now: float) -> None:
        """Store the replies and clicks due by `now`, each at the moment it became due."""
        replies = self._replies
        while replies and replies[0][0] <= now:
            due, _, answer, number, message = heapq.heappop(replies)
            channel_id = message["channelId"]
            if answer == "click":
                details = {"url": clicked_link(message)}
                self._interaction_locked(message, CLICKED, number, details, due)
            elif CHANNELS[channel_id]["inbound"]:
                self._receive_locked(channel_id, number, answer, due, reply_to=message)
            elif keyword_type(answer) == UNSUBSCRIBE:
                # A one-way sender cannot be answered: the person opts out by its link.
                details = {"url": short_link("opt-out:" + message["id"])}
                self._interaction_locked(message, UNSUBSCRIBE, number, details, due)
