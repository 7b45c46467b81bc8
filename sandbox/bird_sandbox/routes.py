"""The route tables: HTTP method and path pattern -> the operation that answers.

:data:`BIRD_ROUTES` maps Bird's Channels API to :class:`~.backend.SandboxBackend`'s methods;
:data:`CONTROL_ROUTES` maps the sandbox's own ``/_sandbox/`` API to
:class:`~.control.ControlApi`'s. A ``{name}`` segment of a pattern is handed to the operation
as the keyword ``name``; a route's ``query`` names the query parameters it takes (see
:data:`QUERY_PARAMETERS`); a route with ``body`` takes the request's JSON body (Bird's: as
``payload``; the control API's: as keywords); a route with ``origin`` takes ``base_url``, the
sandbox's address as the request named it. Adding a Bird endpoint is a row here and a
backend method of the same name.

:data:`STORAGE_ROUTES` map the storage host behind Bird's presigned uploads (``/_storage/``,
another host in spirit: no AccessKey, S3's answers) to the backend's media operations; a
storage route with ``body`` takes the raw body as ``body`` and its ``content_type``.

Before a Bird route is looked up, the ids the path names are checked in the order of
:data:`SCOPES` (an unknown workspace or channel is Bird's 404, whatever follows it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError


def _integer(text: str) -> Any:
    """A query integer; a value that is not one is handed on as is, for Bird's 422."""
    try:
        return int(text)
    except ValueError:
        return text


def _text(text: str) -> str | None:
    return text or None


# Query parameter -> (the operation's keyword, how its text is read).
QUERY_PARAMETERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "limit": ("limit", _integer),
    "pageToken": ("page_token", _text),
    "batchId": ("batch_id", _text),
}


@dataclass(frozen=True)
class Answer:
    """What an operation returns when its answer is not its row's status and JSON: a status
    (200 unless given), headers beside the default ones, and a JSON value, raw bytes or None
    (no body)."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """One row: ``method`` and ``pattern`` answered by the method ``operation``, with
    ``status`` on success."""

    method: str
    pattern: str
    operation: str
    status: int = 200
    query: tuple[str, ...] = ()
    body: bool = False
    origin: bool = False

    @property
    def segments(self) -> tuple[str, ...]:
        return split(self.pattern)


_WORKSPACE = "/workspaces/{workspace_id}"
_CHANNEL = _WORKSPACE + "/channels/{channel_id}"
_SUBSCRIPTIONS = _WORKSPACE + "/webhook-subscriptions"

# Bird's Channels API (https://docs.bird.com/api/channels-api).
BIRD_ROUTES: tuple[Route, ...] = (
    Route("GET", _WORKSPACE + "/channels", "list_channels", query=("limit", "pageToken")),
    Route("GET", _CHANNEL, "get_channel"),
    Route("GET", _CHANNEL + "/messages", "list_messages", query=("limit", "pageToken", "batchId")),
    Route("POST", _CHANNEL + "/messages", "create_message", status=202, body=True),
    Route("POST", _CHANNEL + "/batch/messages", "create_batch_messages", status=202, body=True),
    Route("GET", _CHANNEL + "/messages/{message_id}", "get_message"),
    Route("GET", _CHANNEL + "/messages/{message_id}/interactions", "list_message_interactions"),
    # Media hosting: a presigned upload, for a channel or for the workspace's channel media.
    Route(
        "POST", _CHANNEL + "/presigned-upload", "create_presigned_upload", body=True, origin=True
    ),
    Route(
        "POST",
        _WORKSPACE + "/channel-media/presigned-upload",
        "create_presigned_upload",
        body=True,
        origin=True,
    ),
    # Bird's Notifications API: webhook subscriptions (https://docs.bird.com/api/notifications-api).
    Route("POST", _SUBSCRIPTIONS, "create_webhook_subscription", status=201, body=True),
    Route("GET", _SUBSCRIPTIONS, "list_webhook_subscriptions", query=("limit", "pageToken")),
    Route("GET", _SUBSCRIPTIONS + "/{subscription_id}", "get_webhook_subscription"),
    Route(
        "DELETE", _SUBSCRIPTIONS + "/{subscription_id}", "delete_webhook_subscription", status=204
    ),
)

# Where presigned uploads go, and where their media is served from (sandbox/media.py).
STORAGE_PREFIX = "/_storage/"
STORAGE_ROUTES: tuple[Route, ...] = (
    Route("POST", "/_storage/upload/{upload_id}", "upload_media", body=True),
    Route("GET", "/_storage/media/{media_id}", "get_media"),
)

# The ids a Bird path names, checked in this order before its route is looked up: pattern ->
# the backend method that raises Bird's 404 (given the pattern's placeholders as keywords).
SCOPES: tuple[tuple[str, str], ...] = (
    (_WORKSPACE, "require"),
    (_CHANNEL, "require"),
)

# The sandbox's control API: inspection and configuration, unauthenticated, never recorded.
CONTROL_ROUTES: tuple[Route, ...] = (
    Route("GET", "/_sandbox/health", "health"),
    Route("GET", "/_sandbox/messages", "messages"),
    Route("GET", "/_sandbox/requests", "requests"),
    Route("GET", "/_sandbox/uploads", "uploads"),
    Route("GET", "/_sandbox/interactions", "interactions"),
    Route("GET", "/_sandbox/webhooks/subscriptions", "webhook_subscriptions"),
    Route("GET", "/_sandbox/webhooks/deliveries", "webhook_deliveries"),
    Route("POST", "/_sandbox/webhooks/flush", "flush_webhooks"),
    Route("POST", "/_sandbox/webhooks/wait", "wait_webhooks_idle", body=True),
    Route("POST", "/_sandbox/inbound", "inbound", body=True),
    Route("POST", "/_sandbox/sent", "sent", body=True),
    Route("POST", "/_sandbox/faults", "inject", body=True),
    Route("DELETE", "/_sandbox/faults", "clear_faults"),
    Route("GET", "/_sandbox/config", "config"),
    Route("POST", "/_sandbox/config", "configure", body=True),
    Route("POST", "/_sandbox/reset", "reset"),
)


def split(path: str) -> tuple[str, ...]:
    return tuple(path.strip("/").split("/"))


def _bind(pattern: tuple[str, ...], segments: tuple[str, ...]) -> dict[str, str] | None:
    """The placeholders' values if ``segments`` match ``pattern``, else None."""
    if len(pattern) != len(segments):
        return None
    bound = {}
    for expected, actual in zip(pattern, segments, strict=True):
        if expected.startswith("{"):
            bound[expected[1:-1]] = actual
        elif expected != actual:
            return None
    return bound


def check_scopes(target: Any, segments: tuple[str, ...]) -> None:
    """Run the checks of :data:`SCOPES` whose pattern starts ``segments``."""
    for pattern, check in SCOPES:
        scope = split(pattern)
        bound = _bind(scope, segments[: len(scope)])
        if bound is not None:
            getattr(target, check)(**bound)


def find(
    routes: tuple[Route, ...], method: str, segments: tuple[str, ...]
) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method`` on ``segments`` and its placeholders; None when no route has
    the path; ApiError 405 when routes have it but not the method."""
    allowed = False
    for route in routes:
        bound = _bind(route.segments, segments)
        if bound is None:
            continue
        if route.method == method:
            return route, bound
        allowed = True
    if allowed:
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed here")
    return None


def arguments(route: Route, bound: dict[str, str], query: dict[str, str]) -> dict[str, Any]:
    """The operation's keywords: the path's placeholders and the route's query parameters."""
    kwargs: dict[str, Any] = dict(bound)
    for name in route.query:
        if name in query:
            keyword, read = QUERY_PARAMETERS[name]
            kwargs[keyword] = read(query[name])
    return kwargs
