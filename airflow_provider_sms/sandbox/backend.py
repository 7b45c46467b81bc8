"""Bird's side of the sandbox: the seeded workspace, its channels, templates, messages and
batches, and Bird's rules, as methods named after Bird's operations. No HTTP here: tests can
call the operations directly, and the HTTP front (``server.py``) calls them too.

Every operation either answers what Bird would answer, as a dict, or raises :class:`ApiError`
in Bird's error shape. State sits behind one lock; validation runs outside it.

A message's status is a function of the time since it was accepted, worked out whenever it is
read (get, list, inspection): no thread moves messages along, and a sandbox in a process of its
own behaves the same. Each message's timeline (its delays, and how it ends: delivered, or as
its magic recipient says) is fixed when it is accepted.
"""

from __future__ import annotations

import base64
import copy
import functools
import math
import queue
import re
import threading
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from ..bird.facts import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MESSAGE_STATUSES, MMS_BODY_TYPES
from .catalogue import (
    ABSENT,
    CHANNELS,
    FAILURES,
    MAGIC_RECIPIENTS,
    ODD_STATUSES,
    TEMPLATES,
    WORKSPACE_ID,
)
from .validation import parse_date_time, validation_details

# How long a list by batchId waits for that batch's items to be processed, so that a client
# listing right after the 202 sees a complete batch (processing takes milliseconds).
BATCH_SETTLE_TIMEOUT = 5.0

_CREATED_AT = "2024-01-01T00:00:00.000Z"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Failure codes put on batch items rejected during asynchronous validation (Bird's 11xxx range
# is "async validation"; the exact numbers are the sandbox's own).
FAILURE_CODES = {
    "InvalidPayload": 11001,
    "RecipientRejected": 11002,
    "NotFound": 11003,
    "ConflictingConditions": 11004,
}

# The statuses the sandbox gives messages, all of them Bird's.
ACCEPTED, SCHEDULED, REJECTED = "accepted", "scheduled", "rejected"
PROCESSING, SENT, DELIVERED = "processing", "sent", "delivered"
SENDING_FAILED, DELIVERY_FAILED = "sending_failed", "delivery_failed"
assert {
    ACCEPTED,
    SCHEDULED,
    REJECTED,
    PROCESSING,
    SENT,
    DELIVERED,
    SENDING_FAILED,
    DELIVERY_FAILED,
} <= MESSAGE_STATUSES
assert set(MAGIC_RECIPIENTS.values()) <= {SENT, SENDING_FAILED, DELIVERY_FAILED}

# Seconds after a message is accepted (or, if it was scheduled for later, after its
# ``scheduledFor``) at which it becomes processing, sent and delivered. A magic recipient's
# message becomes sending_failed at the "sent" delay, delivery_failed at the "delivered" one.
DEFAULT_STATUS_DELAYS: Mapping[str, float] = MappingProxyType(
    {PROCESSING: 0.2, SENT: 0.5, DELIVERED: 1.0}
)
_DELAY_NAMES = (PROCESSING, SENT, DELIVERED)

# How the channel's listing behaves where Bird's documentation is silent (API-NOTES sections 5
# and 6 infer these): its order, the answer field naming the next page (None: no field, even
# when more pages follow), and whether the `batchId` filter is applied. Tests play each.
DEFAULT_LISTING: Mapping[str, Any] = MappingProxyType(
    {"order": "newest_first", "page_token_field": "nextPageToken", "batch_filter": True}
)
LISTING_ORDERS = ("newest_first", "oldest_first")


class ApiError(Exception):
    """An error answer in Bird's shape: ``{"code", "message"[, "details"]}``."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


def invalid(details: dict[str, list[str]]) -> ApiError:
    """Bird's 422 for a request that does not validate."""
    return ApiError(422, "InvalidPayload", "The message payload is invalid", details)


def not_found(what: str) -> ApiError:
    return ApiError(404, "NotFound", f"The requested resource does not exist: {what} not found")


# --- small utilities --------------------------------------------------------------------------


def _timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, like Bird's ``2022-12-22T08:32:50.736Z``."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _copy(value: Any) -> Any:
    """A deep copy of a JSON-like value (what messages are made of), three times faster than
    ``copy.deepcopy``: listing a page of messages is mostly copying them."""
    kind = type(value)
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind is tuple:
        return tuple(_copy(item) for item in value)
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def _contact_id(workspace_id: str, identifier: str) -> str:
    # Bird creates a contact per identifier on first send; a stable id mimics that.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bird-sandbox:{workspace_id}:{identifier}"))


def _channel_resource(channel_id: str) -> dict:
    channel = CHANNELS[channel_id]
    return {
        "id": channel_id,
        "platformId": "sms-messagebird",
        "name": channel["name"],
        "connectorId": channel["connectorId"],
        "identifier": channel["identifier"],
        "status": "active",
        "capabilities": {
            "messaging": {
                "outgoing": {
                    "mms": {
                        "status": "active" if channel["mms"] else "inactive",
                        "paused": False,
                    }
                }
            }
        },
        "createdAt": _CREATED_AT,
        "updatedAt": _CREATED_AT,
    }


# Page tokens name the position a page ends at: "the messages stored before this one". New
# messages are stored after every existing one, so a token stays valid while they arrive.
# The generation makes a token from before reset() invalid instead of wrong.


def _encode_token(*parts: object) -> str:
    raw = ":".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str, kind: str, size: int) -> list[int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, *numbers = raw.split(":")
        values = [int(n) for n in numbers]
        if prefix != kind or len(values) != size or any(v < 0 for v in values):
            raise ValueError
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise ApiError(400, "InvalidPageToken", "pageToken is not valid") from exc
    return values


def _check_delays(
    value: Any, current: tuple[float, float, float] | None
) -> tuple[float, float, float] | None:
    """``status_delays`` as (processing, sent, delivered) seconds, or None (no progression).
    A mapping may name some of the three: the others keep ``current`` (or the defaults)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(
            "status_delays must map processing, sent and delivered to seconds, or be null"
        )
    unknown = set(value) - set(_DELAY_NAMES)
    if unknown:
        raise ValueError(
            f"unknown status_delays key(s): {', '.join(sorted(map(str, unknown)))} "
            f"(expected {', '.join(_DELAY_NAMES)})"
        )
    delays = dict(zip(_DELAY_NAMES, current or DEFAULT_STATUS_DELAYS.values(), strict=True))
    for name, seconds in value.items():
        if (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise ValueError(f"status_delays.{name} must be a non-negative number of seconds")
        delays[name] = float(seconds)
    processing, sent, delivered = (delays[name] for name in _DELAY_NAMES)
    if not processing <= sent <= delivered:
        raise ValueError("status_delays must not decrease: processing <= sent <= delivered")
    return processing, sent, delivered


def _check_listing(value: Any, current: Mapping[str, Any]) -> dict[str, Any]:
    """``listing`` checked: a mapping naming some of order, page_token_field, batch_filter;
    the others keep `current`."""
    if not isinstance(value, Mapping):
        raise ValueError("listing must map order, page_token_field and/or batch_filter")
    unknown = set(value) - set(DEFAULT_LISTING)
    if unknown:
        raise ValueError(
            f"unknown listing key(s): {', '.join(sorted(map(str, unknown)))} "
            f"(expected {', '.join(DEFAULT_LISTING)})"
        )
    listing = {**current, **value}
    if listing["order"] not in LISTING_ORDERS:
        raise ValueError(f"listing.order must be one of {', '.join(LISTING_ORDERS)}")
    field = listing["page_token_field"]
    if field is not None and (not isinstance(field, str) or not field):
        raise ValueError("listing.page_token_field must be a field name, or null for none")
    if not isinstance(listing["batch_filter"], bool):
        raise ValueError("listing.batch_filter must be true or false")
    return listing


@functools.cache
def _stages(outcome: str, delays: tuple[float, float, float]) -> tuple:
    """A message's timeline after acceptance: ``(offset, status, extra fields)`` in order.
    Shared by every message with the same outcome and delays."""
    processing, sent, delivered = delays
    if isinstance(outcome, tuple):  # ("odd", the last status): see catalogue.ODD_STATUSES
        return ((processing, PROCESSING, None), (sent, SENT, None), (delivered, outcome[1], None))
    if outcome == SENDING_FAILED:
        return ((processing, PROCESSING, None), (sent, SENDING_FAILED, FAILURES[SENDING_FAILED]))
    last = () if outcome == SENT else ((delivered, outcome, FAILURES.get(outcome)),)
    return ((processing, PROCESSING, None), (sent, SENT, None), *last)


def _outcome(message: dict) -> str | tuple:
    """How a message ends: as its first magic recipient says, else delivered."""
    for contact in message["receiver"]["contacts"]:
        outcome = MAGIC_RECIPIENTS.get(contact.get("identifierValue"))
        if outcome is not None:
            return outcome
        if contact.get("identifierValue") in ODD_STATUSES:
            return ("odd", ODD_STATUSES[contact["identifierValue"]])
    return DELIVERED


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise invalid({"limit": [f"must be an integer between 1 and {MAX_LIST_LIMIT}"]})
    return limit


# --- the backend ------------------------------------------------------------------------------


class SandboxBackend:
    """The workspace: channels, templates, stored messages and batches, and the recipients
    the sandbox rejects. Thread-safe.

    ``status_delays``: seconds after acceptance at which a message becomes processing, sent
    and delivered (``DEFAULT_STATUS_DELAYS`` unless given; a mapping may name some of them);
    None keeps every message in the status it was accepted with. :meth:`reset` restores it.
    ``clock`` (UNIX time, ``time.time`` unless given) stamps and ages messages: a test can
    step it to see each status without waiting.
    ``listing``: how listing messages behaves where Bird's documentation is silent (see
    ``DEFAULT_LISTING``; a mapping may name some keys): ``order`` ``newest_first`` or
    ``oldest_first``; ``page_token_field``, the answer field naming the next page (None:
    none); ``batch_filter`` False ignores ``batchId`` and lists the whole channel.
    :meth:`reset` restores it.
    """

    def __init__(
        self,
        *,
        status_delays: Mapping[str, float] | None = DEFAULT_STATUS_DELAYS,
        clock: Callable[[], float] = time.time,
        listing: Mapping[str, Any] = DEFAULT_LISTING,
    ):
        self._initial_delays = _check_delays(status_delays, None)
        self._initial_listing = _check_listing(listing, DEFAULT_LISTING)
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._generation = 0
        with self._lock:
            self._reset_locked()

    def _reset_locked(self) -> None:
        self._generation += 1
        # Messages in arrival order; a message's position in this list never changes.
        self._messages: list[dict] = []
        self._position: dict[str, int] = {}  # message id -> position
        # By position: when the message's timeline starts (UNIX time) and its stages
        # (see _stages), None for a message whose status never changes.
        self._origins: list[float] = []
        self._stages: list[tuple | None] = []
        self._delays = self._initial_delays
        self._listing = dict(self._initial_listing)
        self._by_channel: dict[str, list[int]] = {}  # positions, ascending
        self._by_batch: dict[str, list[int]] = {}
        self._batch_channel: dict[str, str] = {}
        self._pending: dict[str, int] = {}  # batchId -> items not yet processed
        self._reject: frozenset[str] = frozenset()
        self._changed.notify_all()

    def reset(self) -> None:
        """Forget every message, batch and rejected recipient; restore ``status_delays``."""
        with self._lock:
            self._reset_locked()

    def close(self) -> None:
        """Stop the batch worker (pending items are dropped)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            self._jobs.put(None)
            worker.join(timeout=5)

    @property
    def reject_recipients(self) -> frozenset[str]:
        """Phone numbers whose messages are rejected (422, or a rejected batch item)."""
        return self._reject

    @reject_recipients.setter
    def reject_recipients(self, numbers) -> None:
        if isinstance(numbers, str) or not all(isinstance(n, str) for n in numbers):
            raise ValueError("reject_recipients must be a list of phone numbers")
        self._reject = frozenset(numbers)

    @property
    def status_delays(self) -> dict[str, float] | None:
        """Seconds after acceptance at which a message becomes processing, sent, delivered;
        None: messages keep the status they were accepted with. Setting it (some of the
        three, or None) applies to messages accepted from then on."""
        delays = self._delays
        return None if delays is None else dict(zip(_DELAY_NAMES, delays, strict=True))

    @status_delays.setter
    def status_delays(self, value: Mapping[str, float] | None) -> None:
        with self._lock:
            self._delays = _check_delays(value, self._delays)

    @property
    def listing(self) -> dict[str, Any]:
        """How listing messages behaves: order, page_token_field, batch_filter."""
        return dict(self._listing)

    @listing.setter
    def listing(self, value: Mapping[str, Any]) -> None:
        with self._lock:
            self._listing = _check_listing(value, self._listing)

    def add_history(
        self,
        channel_id: str,
        recipients: list[str],
        *,
        age: float = 86400.0,
        batch_id: str | None = None,
        reference: str = "history",
    ) -> None:
        """Store a past of the channel: one SMS to each of `recipients`, the last accepted
        `age` seconds ago and each earlier one a second before the next (in the batch
        `batch_id`, if given), listed before anything sent later."""
        self.require(WORKSPACE_ID, channel_id)
        last = self._clock() - age
        built = []
        for index, recipient in enumerate(recipients):
            accepted_at = last - (len(recipients) - 1 - index)
            payload = {
                "receiver": {"contacts": [{"identifierValue": recipient}]},
                "body": {"type": "text", "text": {"text": "An earlier message."}},
                "reference": reference,
            }
            message = self._message_shell(WORKSPACE_ID, channel_id, payload, batch_id, accepted_at)
            built.append((message, *self._timeline(message, accepted_at)))
        with self._lock:
            if batch_id is not None:
                self._batch_channel[batch_id] = channel_id
            for entry in built:
                self._store_locked(*entry)

    # inspection --------------------------------------------------------------------------

    def messages(self) -> list[dict]:
        """Every stored message (copies, in their current status), in arrival order."""
        now = self._clock()
        with self._lock:
            shown = [self._view_locked(p, now) for p in range(len(self._messages))]
        return _copy(shown)

    def message_count(self) -> int:
        with self._lock:
            return len(self._messages)

    def wait_idle(self, timeout: float = 5.0, batch_id: str | None = None) -> bool:
        """Wait until queued batch items (of ``batch_id``, or all) are processed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending.get(batch_id, 0) if batch_id else self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    # Bird's operations ---------------------------------------------------------------------

    def list_channels(
        self, workspace_id: str, *, limit: int = DEFAULT_LIST_LIMIT, page_token: str | None = None
    ) -> dict:
        """listChannels: the workspace's channels, ``limit`` a page."""
        self.require(workspace_id)
        limit = _check_limit(limit)
        [start] = _decode_token(page_token, "channels", 1) if page_token else [0]
        ids = list(CHANNELS)
        result: dict[str, Any] = {
            "results": [_channel_resource(c) for c in ids[start : start + limit]]
        }
        if start + limit < len(ids):
            result["nextPageToken"] = _encode_token("channels", start + limit)
        return result

    def get_channel(self, workspace_id: str, channel_id: str) -> dict:
        """getChannel: one channel, with its MMS capability."""
        self.require(workspace_id, channel_id)
        return _channel_resource(channel_id)

    def create_message(self, workspace_id: str, channel_id: str, payload: Any) -> dict:
        """createChannelMessage: validate and store one message; the accepted message."""
        self.require(workspace_id, channel_id)
        accepted_at = self._clock()
        message = self._build_message(workspace_id, channel_id, payload, accepted_at=accepted_at)
        timeline = self._timeline(message, accepted_at)
        with self._lock:
            self._store_locked(message, *timeline)
        # The answer is the message as accepted, whatever the delays.
        return _copy(message)

    def create_batch_messages(self, workspace_id: str, channel_id: str, payload: Any) -> dict:
        """createBatchMessages: accept up to 100 messages; ``{"batchId": ...}``.

        Only the envelope is checked now. Each item is validated afterwards, in order, by a
        worker thread, as Bird does: an invalid item is stored as a rejected message.
        """
        self.require(workspace_id, channel_id)
        details = validation_details("create_batch", payload)
        if details:
            raise invalid(details)
        batch_id = str(uuid.uuid4())
        items = payload["messageRequests"]
        with self._lock:
            generation = self._generation
            self._pending[batch_id] = len(items)
            self._batch_channel[batch_id] = channel_id
            self._ensure_worker_locked()
        for item in items:
            self._jobs.put((generation, workspace_id, channel_id, batch_id, item))
        return {"batchId": batch_id}

    def get_message(self, workspace_id: str, channel_id: str, message_id: str) -> dict:
        """getChannelMessage: one message of the channel, in its current status."""
        self.require(workspace_id, channel_id)
        now = self._clock()
        with self._lock:
            position = self._position.get(message_id)
            message = None if position is None else self._messages[position]
            if message is None or message["channelId"] != channel_id:
                raise not_found("message")
            shown = self._view_locked(position, now)
        return _copy(shown)

    def list_messages(
        self,
        workspace_id: str,
        channel_id: str,
        *,
        limit: int = DEFAULT_LIST_LIMIT,
        page_token: str | None = None,
        batch_id: str | None = None,
    ) -> dict:
        """listChannelMessages: the channel's messages (in their current status), newest first,
        ``limit`` a page; ``nextPageToken`` while older ones remain. ``batch_id`` keeps one
        batch's messages (waiting, up to a few seconds, for its items to be processed).
        :attr:`listing` can change the order, the token's field and the batch filter."""
        self.require(workspace_id, channel_id)
        limit = _check_limit(limit)
        if batch_id:
            self.wait_idle(BATCH_SETTLE_TIMEOUT, batch_id=batch_id)
        now = self._clock()
        with self._lock:
            listing = self._listing
            oldest_first = listing["order"] == "oldest_first"
            # A token names the last position shown; the kind keeps the two orders apart.
            kind = "messages-asc" if oldest_first else "messages"
            last = None
            if page_token:
                generation, last = _decode_token(page_token, kind, 2)
                if generation != self._generation:
                    raise ApiError(400, "InvalidPageToken", "pageToken has expired")
            if batch_id and listing["batch_filter"]:
                same = self._batch_channel.get(batch_id) == channel_id
                positions = self._by_batch.get(batch_id, []) if same else []
            else:
                positions = self._by_channel.get(channel_id, [])
            if oldest_first:
                start = 0 if last is None else bisect_right(positions, last)
                chosen = positions[start : start + limit]
                more = start + limit < len(positions)
            else:
                stop = bisect_left(positions, len(self._messages) if last is None else last)
                chosen = positions[max(0, stop - limit) : stop][::-1]
                more = stop > limit
            shown = [self._view_locked(p, now) for p in chosen]
            token = None
            if more:
                token = _encode_token(kind, self._generation, chosen[-1])
            field = listing["page_token_field"]
        # Stored messages are never changed, so the copies can be made outside the lock.
        result: dict[str, Any] = {"results": _copy(shown)}
        if token is not None and field is not None:
            result[field] = token
        return result

    # helpers -----------------------------------------------------------------------------

    @staticmethod
    def require(workspace_id: str, channel_id: str | None = None) -> None:
        """Bird's 404 unless the workspace (and the channel) exist."""
        if workspace_id != WORKSPACE_ID:
            raise not_found("workspace")
        if channel_id is not None and channel_id not in CHANNELS:
            raise not_found("channel")

    def _ensure_worker_locked(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._work, name="bird-sandbox-batch", daemon=True
            )
            self._worker.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            generation, workspace_id, channel_id, batch_id, item = job
            accepted_at = self._clock()
            try:
                message = self._build_message(
                    workspace_id, channel_id, item, batch_id=batch_id, accepted_at=accepted_at
                )
            except ApiError as exc:
                message = self._rejected_message(
                    workspace_id, channel_id, item, batch_id, exc, accepted_at
                )
            except Exception as exc:  # a sandbox bug must not leave the batch pending forever
                error = ApiError(500, "InternalError", f"sandbox error: {exc!r}")
                message = self._rejected_message(
                    workspace_id, channel_id, item, batch_id, error, accepted_at
                )
            timeline = self._timeline(message, accepted_at)
            with self._lock:
                if generation != self._generation:
                    continue  # reset() while the batch was queued
                self._store_locked(message, *timeline)
                left = self._pending.get(batch_id, 1) - 1
                if left > 0:
                    self._pending[batch_id] = left
                else:
                    self._pending.pop(batch_id, None)
                self._changed.notify_all()

    def _timeline(self, message: dict, accepted_at: float) -> tuple[float, tuple | None]:
        """When a new message's timeline starts, and its stages (None: it stays as it is)."""
        delays = self._delays
        status = message["status"]
        if delays is None or status not in (ACCEPTED, SCHEDULED):
            return accepted_at, None
        origin = accepted_at
        if status == SCHEDULED:
            origin = parse_date_time(message["scheduledFor"]).timestamp()
        return origin, _stages(_outcome(message), delays)

    def _view_locked(self, position: int, now: float) -> dict:
        """The stored message as it stands at ``now``: itself while its status is the one it
        was accepted with, else a shallow copy in its current status (callers copy it)."""
        message = self._messages[position]
        stages = self._stages[position]
        if stages is None:
            return message
        origin = self._origins[position]
        current = None
        for stage in stages:
            if now < origin + stage[0]:  # not now - origin: the same sum as the stamp below
                break
            current = stage
        if current is None:
            return message
        offset, status, extra = current
        moment = _timestamp(datetime.fromtimestamp(origin + offset, UTC))
        view = {**message, "status": status, "lastStatusAt": moment, "updatedAt": moment}
        if status == ABSENT:
            del view["status"]
        if extra:
            view.update(extra)
        return view

    def _store_locked(self, message: dict, origin: float, stages: tuple | None) -> None:
        # Stored messages are never changed afterwards (their status is worked out when they
        # are read): callers get copies.
        position = len(self._messages)
        self._messages.append(message)
        self._origins.append(origin)
        self._stages.append(stages)
        self._position[message["id"]] = position
        self._by_channel.setdefault(message["channelId"], []).append(position)
        if "batchId" in message:
            self._by_batch.setdefault(message["batchId"], []).append(position)

    def _build_message(
        self,
        workspace_id: str,
        channel_id: str,
        payload: Any,
        *,
        batch_id: str | None = None,
        accepted_at: float,
    ) -> dict:
        """Validate one CreateMessage against every rule; the accepted message or ApiError."""
        details = validation_details("create_message", payload)
        if details:
            raise invalid(details)
        status = ACCEPTED
        if payload.get("scheduledFor") is not None:
            when = parse_date_time(payload["scheduledFor"])  # valid: validated above
            if when is not None and when.timestamp() > accepted_at:
                status = SCHEDULED
        rendered = None
        if payload.get("template") is not None:
            rendered = self._render_template(payload["template"])
        else:
            content = payload["body"]
            if content["type"] in MMS_BODY_TYPES and not CHANNELS[channel_id]["mms"]:
                raise ApiError(
                    409,
                    "ConflictingConditions",
                    f"channel {channel_id} does not support MMS ({content['type']} body)",
                )
            rendered = (content.get(content["type"]) or {}).get("text")
        rejected = self._reject
        for index, contact in enumerate(payload["receiver"]["contacts"]):
            if contact.get("identifierValue") in rejected:
                raise ApiError(
                    422,
                    "RecipientRejected",
                    # Echoes the number, as real APIs' messages do: clients must mask it.
                    f"The recipient {contact['identifierValue']} cannot receive messages",
                    {f"receiver.contacts.{index}.identifierValue": ["recipient is rejected"]},
                )
        message = self._message_shell(workspace_id, channel_id, payload, batch_id, accepted_at)
        message["status"] = status
        if rendered is not None:
            # What the person would read; kept in Bird's free-form extraInformation.
            meta = message["meta"] = dict(message.get("meta") or {})
            extra = meta["extraInformation"] = dict(meta.get("extraInformation") or {})
            extra["renderedText"] = rendered
        return message

    def _message_shell(
        self,
        workspace_id: str,
        channel_id: str,
        payload: dict,
        batch_id: str | None,
        accepted_at: float,
    ) -> dict:
        channel = CHANNELS[channel_id]
        now = _timestamp(datetime.fromtimestamp(accepted_at, UTC))
        contacts = []
        receiver = payload.get("receiver")
        raw_contacts = receiver.get("contacts") if isinstance(receiver, dict) else None
        for contact in raw_contacts if isinstance(raw_contacts, list) else []:
            if not isinstance(contact, dict):
                continue
            contact = dict(contact)
            identifier = contact.get("identifierValue") or contact.get("platformAddress") or ""
            contact.setdefault("id", _contact_id(workspace_id, identifier))
            if "identifierValue" in contact:
                contact.setdefault("identifierKey", "phonenumber")
            contact.setdefault("type", "to")
            contacts.append(contact)
        message: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "channelId": channel_id,
            "sender": {
                "connector": {
                    "id": channel["connectorId"],
                    "identifierValue": channel["identifier"],
                }
            },
            "receiver": {"contacts": contacts},
        }
        # The payload was parsed for this request alone, so its parts can be shared; only
        # ``meta`` is extended later and gets copied there.
        for key in ("body", "template", "reference", "meta", "replyTo", "shortLinks"):
            if payload.get(key) is not None:
                message[key] = payload[key]
        if isinstance(payload.get("tags"), list):
            # Bird stores tags lower-cased.
            message["tags"] = [t.lower() if isinstance(t, str) else t for t in payload["tags"]]
        if payload.get("scheduledFor") is not None:
            message["scheduledFor"] = payload["scheduledFor"]
        if batch_id is not None:
            message["batchId"] = batch_id
        message.update(
            status=ACCEPTED,
            direction="outgoing",
            lastStatusAt=now,
            createdAt=now,
            updatedAt=now,
        )
        return message

    def _rejected_message(
        self,
        workspace_id: str,
        channel_id: str,
        payload: Any,
        batch_id: str,
        error: ApiError,
        accepted_at: float,
    ) -> dict:
        payload = payload if isinstance(payload, dict) else {}
        message = self._message_shell(workspace_id, channel_id, payload, batch_id, accepted_at)
        description = error.message
        if error.details:
            description += ": " + "; ".join(
                f"{where} {', '.join(problems)}" for where, problems in error.details.items()
            )
        message.update(
            status=REJECTED,
            reason=description,
            failure={
                "code": FAILURE_CODES.get(error.code, 11000),
                "description": description,
                "source": {"name": "pre-processing", "code": error.code},
            },
        )
        return message

    @staticmethod
    def _render_template(template: dict) -> str:
        project = TEMPLATES.get(template["projectId"])
        if project is None:
            raise not_found("template project")
        version_id = template.get("version") or "latest"
        if version_id == "latest":
            version = next(v for v in project["versions"].values() if v["active"])
        else:
            version = project["versions"].get(version_id)
            if version is None:
                raise not_found("template version")
            if not version["active"]:
                raise ApiError(
                    409, "ConflictingConditions", f"template version {version_id} is not active"
                )
        locale = template.get("locale") or "en"
        text = version["texts"].get(locale) or version["texts"].get(locale.split("-")[0].lower())
        if text is None:
            available = ", ".join(sorted(version["texts"]))
            raise invalid(
                {"template.locale": [f"locale {locale!r} is not available ({available})"]}
            )
        values: dict[str, Any] = dict(template.get("variables") or {})
        problems: dict[str, list[str]] = {}
        for index, parameter in enumerate(template.get("parameters") or []):
            declared = project["parameters"].get(parameter["key"])
            if declared is not None and parameter["type"] != declared:
                problems[f"template.parameters.{index}.type"] = [f"must be {declared}"]
            values[parameter["key"]] = parameter.get("value")
        for name in project["parameters"]:
            if values.get(name) is None:
                problems.setdefault("template.parameters", []).append(
                    f"parameter {name!r} is required"
                )
        if problems:
            raise invalid(problems)
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
