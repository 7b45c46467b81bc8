"""Bird's Notifications API for the Channels service: webhook subscriptions (create, list, get,
delete), and the events they ask for, worked out from the backend's state.

Events are not raised where messages and interactions are made: every path that stores one
(a send, a batch item, an inbound SMS, a scheduled reply, a keyword, ``store_sent``...)
appends to the backend's lists, and :meth:`WebhookOperations._publish_webhook_events_locked`
reads what was appended since its last pass, and the status changes come due since (a
message's stages are fixed when it is stored, :mod:`.statuses`). So sending costs nothing
more, and each status a message enters is one event, in order. A pass runs under the
backend's lock: its events are matched against the subscriptions of that moment and handed to
the deliveries (:mod:`.deliveries`). A subscription created or deleted takes a pass first, so
it gets exactly the events that happen while it exists.
"""

from __future__ import annotations

import heapq
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_sms.bird.facts import DEFAULT_LIST_LIMIT, MESSAGE_STATUSES

from .errors import ApiError, invalid, not_found
from .inbound import INTERACTION_TYPES
from .listing import check_limit, decode_token, encode_token
from .messages import copy_json
from .statuses import timestamp

SERVICE = "channels"
INBOUND, OUTBOUND = "sms.inbound", "sms.outbound"
# Bird's pages name the Channels service's events inbound, outbound and interaction, and give
# `<platform>.inbound` and `<platform>.outbound`; `sms.interaction` follows the pattern [I].
INTERACTION = "sms.interaction"
EVENTS = (INBOUND, OUTBOUND, INTERACTION)
FILTER_KEYS = ("channelId", "messageStatus", "interactionType", "platformId")
# Every seeded channel is on Bird's SMS platform.
PLATFORM_ID = "sms-messagebird"
# "You can create up to five subscriptions for the same filter combination."
MAX_IDENTICAL = 5
_FIELDS = ("service", "event", "url", "signingKey", "eventFilters", "template")
_KIND = "webhook-subscriptions"


@dataclass(frozen=True)
class Subscription:
    """One subscription: Bird's object (``shown``, without the signing key) and what matching
    and delivering need."""

    id: str
    event: str
    url: str
    signing_key: str | None
    filters: frozenset[tuple[str, str]]
    sequence: int  # creation order, which page tokens name
    shown: dict

    def matches(self, event: str, fields: dict[str, Any]) -> bool:
        return event == self.event and all(fields.get(k) == v for k, v in self.filters)


@dataclass(frozen=True)
class WebhookEvent:
    """An event and the subscriptions it goes to. ``payload`` is the object as Bird shows it,
    shared with the stored state, which never changes it: read it, never change it."""

    name: str
    payload: dict
    id_field: str  # "message_id" or "interaction_id", as the delivery records name it
    subscriptions: tuple[Subscription, ...]


def _filter_fields(event: str, payload: dict) -> dict[str, Any]:
    """What each filter key compares, for an event's object."""
    return {
        "channelId": payload.get("channelId"),
        "messageStatus": None if event == INTERACTION else payload.get("status"),
        "interactionType": payload.get("type") if event == INTERACTION else None,
        "platformId": payload.get("platformId", PLATFORM_ID),
    }


def _problems(payload: Any) -> dict[str, list[str]]:
    """What is wrong with a CreateWebhookSubscription body, by field (empty: nothing)."""
    if not isinstance(payload, dict):
        return {"body": ["must be a JSON object"]}
    details: dict[str, list[str]] = {}
    for name in sorted(set(payload) - set(_FIELDS)):
        details[name] = ["is not a field of a webhook subscription"]
    if payload.get("service") != SERVICE:
        details["service"] = [f"must be {SERVICE!r}: the sandbox plays the Channels API only"]
    if payload.get("event") not in EVENTS:
        details["event"] = [f"must be one of {', '.join(EVENTS)}"]
    if not _is_http_url(payload.get("url")):
        details["url"] = ["must be an absolute http(s) URL"]
    key = payload.get("signingKey")
    if key is not None and (not isinstance(key, str) or not key):
        details["signingKey"] = ["must be a non-empty string"]
    if payload.get("template") is not None and not isinstance(payload["template"], str):
        details["template"] = ["must be a string"]
    filters = payload.get("eventFilters")
    if filters is not None and not isinstance(filters, list):
        details["eventFilters"] = ["must be a list of {key, value} objects"]
    for index, item in enumerate(filters if isinstance(filters, list) else []):
        problem = _filter_problem(item)
        if problem:
            details[f"eventFilters.{index}"] = [problem]
    if isinstance(filters, list):
        keys = [item.get("key") for item in filters if isinstance(item, dict)]
        if keys.count("channelId") > 1:
            details.setdefault("eventFilters", []).append("at most one channelId filter")
    return details


def _is_http_url(url: Any) -> bool:
    if not isinstance(url, str) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _filter_problem(item: Any) -> str | None:
    if not isinstance(item, dict) or set(item) != {"key", "value"}:
        return "must be an object with key and value only"
    key, value = item["key"], item["value"]
    if key not in FILTER_KEYS:
        return f"key must be one of {', '.join(FILTER_KEYS)}"
    if not isinstance(value, str) or not value:
        return "value must be a non-empty string"
    if key == "messageStatus" and value not in MESSAGE_STATUSES:
        return f"{value!r} is not one of Bird's message statuses"
    if key == "interactionType" and value not in INTERACTION_TYPES:
        return f"interactionType must be one of {', '.join(INTERACTION_TYPES)}"
    return None


class WebhookOperations:
    """The webhook subscriptions and the events they get, over the backend's state (see
    :class:`.SandboxBackend`, which holds the lock, the stored messages and interactions, and
    the deliveries, ``self.webhooks``)."""

    def _reset_webhooks_locked(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}  # by id, in creation order
        self._subscription_count = 0
        # How far the events were worked out: messages and interactions seen, and the status
        # changes still to come, a heap of (due, position, stage index).
        self._messages_seen = 0
        self._interactions_seen = 0
        self._status_changes: list[tuple[float, int, int]] = []

    # Bird's operations ---------------------------------------------------------------------

    def create_webhook_subscription(self, workspace_id: str, payload: Any) -> dict:
        """createWebhookSubscription: validate and store one subscription; Bird's object."""
        self.require(workspace_id)
        details = _problems(payload)
        if details:
            raise invalid(details)
        filters = [dict(item) for item in payload.get("eventFilters") or []]
        now = self._clock()
        moment = timestamp(datetime.fromtimestamp(now, UTC))
        shown = {
            "id": str(uuid.uuid4()),
            "service": SERVICE,
            "event": payload["event"],
            "url": payload["url"],
            "eventFilters": filters,
            "status": "active",
            "createdAt": moment,
            "updatedAt": moment,
        }
        if payload.get("template") is not None:
            shown["template"] = payload["template"]
        keys = frozenset((item["key"], item["value"]) for item in filters)
        with self._lock:
            identical = sum(
                s.event == shown["event"] and s.filters == keys
                for s in self._subscriptions.values()
            )
            if identical >= MAX_IDENTICAL:
                raise ApiError(
                    409,
                    "ConflictingConditions",
                    f"at most {MAX_IDENTICAL} subscriptions may have the same event and filters",
                )
            self._catch_up_locked(now)  # what happened before it is not for it
            self._subscription_count += 1
            self._subscriptions[shown["id"]] = Subscription(
                shown["id"],
                shown["event"],
                shown["url"],
                payload.get("signingKey"),
                keys,
                self._subscription_count,
                shown,
            )
        self.webhooks.start()
        return copy_json(shown)

    def list_webhook_subscriptions(
        self, workspace_id: str, *, limit: int = DEFAULT_LIST_LIMIT, page_token: str | None = None
    ) -> dict:
        """listWebhookSubscriptions: the workspace's subscriptions, oldest first, ``limit`` a
        page; ``nextPageToken`` while more remain."""
        self.require(workspace_id)
        limit = check_limit(limit)
        with self._lock:
            after = 0
            if page_token:
                generation, after = decode_token(page_token, _KIND, 2)
                if generation != self._generation:
                    raise ApiError(400, "InvalidPageToken", "pageToken has expired")
            later = [s for s in self._subscriptions.values() if s.sequence > after]
            result: dict[str, Any] = {"results": [s.shown for s in later[:limit]]}
            if len(later) > limit:
                result["nextPageToken"] = encode_token(
                    _KIND, self._generation, later[limit - 1].sequence
                )
        return copy_json(result)

    def get_webhook_subscription(self, workspace_id: str, subscription_id: str) -> dict:
        """getWebhookSubscription: one subscription; 404 for an unknown one."""
        self.require(workspace_id)
        with self._lock:
            subscription = self._subscriptions.get(subscription_id)
            if subscription is None:
                raise not_found("webhook subscription")
        return copy_json(subscription.shown)

    def delete_webhook_subscription(self, workspace_id: str, subscription_id: str) -> None:
        """deleteWebhookSubscription: no more events for it (those that happened before are
        delivered); 404 for an unknown one."""
        self.require(workspace_id)
        with self._lock:
            if subscription_id not in self._subscriptions:
                raise not_found("webhook subscription")
            self._catch_up_locked(self._clock())
            del self._subscriptions[subscription_id]

    # the sandbox's own -------------------------------------------------------------------

    def webhook_subscriptions(self) -> list[dict]:
        """Every subscription, as Bird shows it (no signing key), in creation order."""
        with self._lock:
            shown = [s.shown for s in self._subscriptions.values()]
        return copy_json(shown)

    def publish_webhook_events(self) -> None:
        """Hand the events that happened by now to the deliveries. Due replies are stored
        first, as any read of the sandbox stores them. Without subscriptions, nothing: the
        next one to be created takes a pass first."""
        now = self._clock()
        with self._lock:
            if self._subscriptions:
                self._catch_up_locked(now)

    # state -------------------------------------------------------------------------------

    def _catch_up_locked(self, now: float) -> None:
        """Store the replies due by `now`, then hand over the events that happened by then."""
        self._settle_locked(now)
        self._publish_webhook_events_locked(now)

    def _publish_webhook_events_locked(self, now: float) -> None:
        """Work out the events since the last pass (messages and interactions stored, status
        changes due by `now`), match them against the subscriptions and queue the matched
        ones for delivery, in the order they happened for each message."""
        subscriptions = tuple(self._subscriptions.values())
        events: list[WebhookEvent] = []

        def event(name: str, payload: dict, id_field: str) -> None:
            if not subscriptions:
                return
            fields = _filter_fields(name, payload)
            matched = tuple(s for s in subscriptions if s.matches(name, fields))
            if matched:
                events.append(WebhookEvent(name, payload, id_field, matched))

        changes = self._status_changes
        for position in range(self._messages_seen, len(self._messages)):
            message = self._messages[position]
            if message.get("direction") == "incoming":
                event(INBOUND, message, "message_id")
                continue
            event(OUTBOUND, message, "message_id")  # the status it was stored with
            stages = self._stages[position]
            if stages:
                heapq.heappush(changes, (self._origins[position] + stages[0][0], position, 0))
        self._messages_seen = len(self._messages)
        while changes and changes[0][0] <= now:
            _, position, index = heapq.heappop(changes)
            event(OUTBOUND, self._stage_view_locked(position, index), "message_id")
            stages = self._stages[position]
            if index + 1 < len(stages):
                due = self._origins[position] + stages[index + 1][0]
                heapq.heappush(changes, (due, position, index + 1))
        for interaction in self._interactions[self._interactions_seen :]:
            event(INTERACTION, interaction, "interaction_id")
        self._interactions_seen = len(self._interactions)
        if events:
            self.webhooks.take(events, self._generation)
