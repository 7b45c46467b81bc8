"""Everything between an HTTP request and Bird's operations, without sockets: the Host a
request names, on every route (:meth:`Gateway.refuse_host`); the ``/_sandbox/`` control API
(a POST only with JSON); for Bird's API, the AccessKey check, the ids the path names, the
route (:mod:`.routes`), the workspace's POST rate limit, injected faults, latency and
recorded requests; for the storage host behind presigned uploads (``/_storage/``), its route
and S3's answers (:mod:`.media`). The HTTP transport (:mod:`.server`) hands each request to
:meth:`Gateway.refuse_host`, then :meth:`Gateway.handle`."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from . import media, routes, settings
from .backend import ApiError, SandboxBackend
from .catalogue import ACCESS_KEY
from .control import ControlApi
from .faults import (
    UNANSWERED,
    WEBHOOK_FAULTS,
    Fault,
    JsonResponse,
    RawBody,
    fault_response,
    parse_fault,
)
from .media import StorageError
from .routes import STORAGE_PREFIX, Answer

_JSON_HEADERS = {"Content-Type": "application/json"}
_NO_ROUTE = "The requested resource does not exist: route not found"

# The names a client on this machine reaches the sandbox by, and the only ones it answers
# (with its port): a web page whose own DNS name is pointed at 127.0.0.1 (DNS rebinding)
# names that name in Host, and is refused.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def header(headers: dict[str, str], name: str) -> str | None:
    """Case-insensitive header lookup in a request's headers."""
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


@dataclass
class RecordedRequest:
    """One request the sandbox received under ``/workspaces``, or by its storage host under
    ``/_storage/`` (``json`` None: their bodies are files; control calls are not recorded).

    ``status`` is what was answered; 0 when a ``drop``/``hang`` fault meant no answer.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    status: int
    fault: str | None = None
    received_at: float = field(default_factory=time.time)

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup."""
        value = header(self.headers, name)
        return default if value is None else value


def _error(exc: ApiError, headers: dict[str, str] | None = None) -> JsonResponse:
    return exc.status, {**_JSON_HEADERS, **(headers or {})}, exc.body()


def _ok(payload: Any, status: int = 200) -> JsonResponse:
    if isinstance(payload, Answer):
        return payload.status, {**_JSON_HEADERS, **payload.headers}, payload.body
    return status, dict(_JSON_HEADERS), payload


def _stored(answer: Answer) -> JsonResponse:
    """A storage answer: its own headers only (XML, a file or no body)."""
    return answer.status, dict(answer.headers), answer.body


# Room for the form fields beside the largest file a storage upload takes.
_FORM_ROOM = 1024 * 1024
_MAX_BODY = 10 * 1024 * 1024


@settings.properties("gateway")
class Gateway:
    """Everything between an HTTP request and Bird's operations: routing, authentication,
    the per-workspace POST rate limit, injected faults, latency, recorded requests and the
    control API. Thread-safe. Takes the settings :mod:`.settings` gives the gateway."""

    @settings.with_signature("gateway")
    def __init__(self, backend: SandboxBackend, **given: Any):
        self.backend = backend
        self.control = ControlApi(self)
        # The address for a request without a Host header, and the Host headers answered (the
        # transport sets them: listen_at).
        self.host = "127.0.0.1"
        self._hosts: frozenset[str] = frozenset()
        self._any_ip_port: str | None = None
        self._lock = threading.Lock()
        self._initial_settings = settings.initial(given, "gateway")
        with self._lock:
            self._reset_locked()

    # configuration -----------------------------------------------------------------------

    def _reset_locked(self) -> None:
        self._requests: list[RecordedRequest] = []
        self._faults: deque[list] = deque()  # [Fault, remaining]
        self._post_times: dict[str, deque[float]] = {}
        self._settings = dict(self._initial_settings)

    def reset(self) -> None:
        """Forget messages, requests and faults; restore the settings given to the constructors."""
        with self._lock:
            self._reset_locked()
        self.backend.reset()

    def _holder(self, setting: settings.Setting) -> Any:
        return self if setting.owner == "gateway" else self.backend

    def configure(self, **config: Any) -> dict:
        """Change some settings (:mod:`.settings`); the whole configuration. ValueError for a
        name that is no setting, or a value its setting refuses."""
        unknown = set(config) - set(settings.BY_NAME)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        for setting in settings.SETTINGS:
            if setting.name in config:
                setattr(self._holder(setting), setting.name, config[setting.name])
        return self.config()

    def config(self) -> dict:
        """Every setting, as the control API shows it."""
        return {s.name: s.as_json(getattr(self._holder(s), s.name)) for s in settings.SETTINGS}

    def inject(self, kind: str, **params: Any) -> None:
        """Queue a fault (:class:`~.faults.Fault`'s parameters) for the next ``count``
        requests under ``/workspaces`` (with ``path``, those whose path contains it; a storage
        request under ``/_storage/`` takes only a fault whose ``path`` selects it); a webhook
        fault for the next ``count`` webhook delivery attempts."""
        fault = parse_fault(kind, **params)
        if fault.kind in WEBHOOK_FAULTS:
            self.backend.webhooks.inject(fault)
            return
        with self._lock:
            self._faults.append([fault, fault.count])

    def clear_faults(self) -> None:
        """Drop every queued fault (the outage is over)."""
        with self._lock:
            self._faults.clear()
        self.backend.webhooks.clear_faults()

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    # request handling --------------------------------------------------------------------

    def listen_at(self, address: str, port: int, *, name: str = "") -> None:
        """Where the transport listens: ``address`` (an IPv4 or IPv6 address) and ``port``,
        bound as ``name`` (the host it was given, if not the address). Requests are answered
        only when their Host is ``127.0.0.1``, ``localhost`` or ``[::1]`` with this port, or
        the address or name listened on; on the unspecified address (``0.0.0.0``, a sandbox
        deliberately shared), any IP address with this port: never another DNS name, which
        is what DNS rebinding needs."""
        bound = [f"[{n}]" if ":" in n else n for n in (address, name) if n]
        self.host = f"{bound[0]}:{port}"
        names = (*LOOPBACK_HOSTS, *(n.lower() for n in bound))
        # Without a port, Host names the scheme's default one (RFC 9110, 7.2).
        self._hosts = frozenset(
            [f"{n}:{port}" for n in names] + (list(names) if port == 80 else [])
        )
        self._any_ip_port = str(port) if ipaddress.ip_address(address).is_unspecified else None

    def refuse_host(self, host: str | None) -> JsonResponse | None:
        """The answer to a request whose ``Host`` header (None: absent) is not one this
        sandbox answers (:meth:`listen_at`); None when it is."""
        named = (host or "").strip().lower()
        if named in self._hosts or self._is_any_ip(named):
            return None
        named = "a request without a Host header" if host is None else f"Host {host!r:.80}"
        accepted = ", ".join(sorted(self._hosts)) or "none yet"
        return _error(
            ApiError(
                400,
                "InvalidRequest",
                f"{named} is not this sandbox's: it answers {accepted} only "
                "(a guard against DNS rebinding)",
            )
        )

    def _is_any_ip(self, named: str) -> bool:
        if self._any_ip_port is None:
            return False
        address, _, port = named.rpartition(":")
        try:
            ipaddress.ip_address(address.removeprefix("[").removesuffix("]"))
        except ValueError:
            return False
        return port == self._any_ip_port

    def take_fault(self, method: str, path: str, query: dict, headers: dict) -> Fault | None:
        """Consume the next queued fault for a ``/workspaces`` or storage request, if any.

        Faults are taken in the order queued: while the first one does not select a request
        (its method, path or message count), the request gets none. A storage request is
        selected only by a fault naming a piece of its path, so a fault meant for Bird's API
        is never taken by an upload. ``drop``/``hang`` faults are recorded here (status 0),
        since the request is never answered; a ``status`` fault is recorded by :meth:`handle`.
        """
        storage = path.startswith(STORAGE_PREFIX)
        if not storage and not path.startswith("/workspaces"):
            return None
        with self._lock:
            if not self._faults:
                return None
            entry = self._faults[0]
            if self.backend.message_count() < entry[0].after_messages:
                return None
            if entry[0].method is not None and entry[0].method != method:
                return None
            wanted = entry[0].path
            if (wanted is None and storage) or (wanted is not None and wanted not in path):
                return None
            entry[1] -= 1
            if entry[1] <= 0:
                self._faults.popleft()
            fault = entry[0]
            if fault.kind in UNANSWERED:
                self._requests.append(
                    RecordedRequest(
                        method, path, dict(query), self._safe_headers(headers), None, 0, fault.kind
                    )
                )
            return fault

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        fault: Any = ...,
    ) -> JsonResponse:
        """Answer one request. ``fault`` is what :meth:`take_fault` returned (taken here if
        omitted); a ``drop``/``hang`` fault yields status 0, meaning "do not answer"."""
        if path.startswith("/_sandbox/"):
            return self._control(method, path, headers, body)
        if fault is ...:
            fault = self.take_fault(method, path, query, headers)
        if fault is not None and fault.kind in UNANSWERED:
            return 0, {}, None
        storage = path.startswith(STORAGE_PREFIX)
        payload: Any = None
        parsed = False
        if body and not storage:
            with contextlib.suppress(ValueError):
                payload, parsed = json.loads(body), True
        if fault is not None and fault.kind == "status":
            response = fault_response(fault)
            if storage:  # the storage's own error shape, Retry-After kept
                code, message = response[2]["code"], response[2]["message"]
                extra = {k: v for k, v in response[1].items() if k == "Retry-After"}
                response = _stored(StorageError(fault.status, code, message).answer(extra))
        elif storage:
            response = self._storage(method, path, headers, body)
        else:
            try:
                response = self._route(method, path, query, headers, payload, parsed)
            except ApiError as exc:
                response = _error(exc)
            if fault is not None and fault.kind == "body":
                response = (response[0], response[1], RawBody(fault.body))
        recorded = RecordedRequest(
            method,
            path,
            dict(query),
            self._safe_headers(headers),
            _safe_payload(payload),
            response[0],
            fault and fault.kind,
        )
        with self._lock:
            self._requests.append(recorded)
        return response

    @staticmethod
    def _safe_headers(headers: dict) -> dict:
        """Headers as recorded: a key other than the sandbox's own (say, a real one used by
        mistake) is never kept, since recorded requests are served without authentication."""
        safe = dict(headers)
        for name in safe:
            if name.lower() == "authorization" and safe[name] != f"AccessKey {ACCESS_KEY}":
                safe[name] = "<not the sandbox key: redacted>"
        return safe

    def _route(self, method, path, query, headers, payload, parsed: bool) -> JsonResponse:
        """A Bird request: authenticated, its ids checked, routed, its operation answered."""
        segments = routes.split(path)
        if segments[0] != "workspaces":
            raise ApiError(404, "NotFound", _NO_ROUTE)
        auth = header(headers, "Authorization") or ""
        scheme, _, key = auth.strip().partition(" ")
        if scheme.lower() != "accesskey" or key.strip() != ACCESS_KEY:
            raise ApiError(401, "Unauthorized", "Missing or invalid AccessKey authorization")
        routes.check_scopes(self.backend, segments)
        found = routes.find(routes.BIRD_ROUTES, method, segments)
        if found is None:
            raise ApiError(404, "NotFound", _NO_ROUTE)
        route, bound = found
        kwargs = routes.arguments(route, bound, query)
        if route.body:
            self._post(bound["workspace_id"], parsed)
            kwargs["payload"] = payload
        if route.origin:
            kwargs["base_url"] = f"http://{header(headers, 'Host') or self.host}"
        return _ok(getattr(self.backend, route.operation)(**kwargs), route.status)

    def _storage(self, method: str, path: str, headers: dict, body: bytes) -> JsonResponse:
        """A request to the storage host: no AccessKey, no rate limit, S3's answers."""
        try:
            found = routes.find(routes.STORAGE_ROUTES, method, routes.split(path))
            if found is None:
                raise StorageError(404, "NoSuchKey", "The specified key does not exist.")
            route, bound = found
            kwargs: dict[str, Any] = dict(bound)
            if route.body:
                kwargs["content_type"] = header(headers, "Content-Type")
                kwargs["body"] = body
            return _stored(getattr(self.backend, route.operation)(**kwargs))
        except ApiError as exc:  # routes.find's 405
            return _stored(StorageError(exc.status, exc.code, exc.message).answer())
        except StorageError as exc:
            return _stored(exc.answer())

    def refuse_length(self, path: str, length: int) -> JsonResponse | None:
        """The answer to a request whose body is ``length`` bytes (-1: unreadable) when it is
        too long to read: a storage upload may bring a file of up to the storage's maximum,
        any other request 10 MiB. None when it can be read."""
        if path.startswith(STORAGE_PREFIX):
            if 0 <= length <= media.MAX_MEDIA_BYTES + _FORM_ROOM:
                return None
            error = StorageError(
                400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
            )
            return _stored(error.answer())
        if 0 <= length <= _MAX_BODY:
            return None
        return _error(ApiError(400, "InvalidRequest", "bad Content-Length"))

    def _post(self, workspace_id: str, parsed: bool) -> None:
        """What a POST passes before Bird's operation sees it: the workspace is under its rate
        limit, and the body is JSON."""
        self._throttle(workspace_id)
        if not parsed:
            raise ApiError(400, "InvalidRequest", "The request body must be a JSON object")

    def _throttle(self, workspace_id: str) -> None:
        # Sliding one-second window per workspace over admitted POSTs, like Bird's per-workspace
        # POST limit. Bird documents no Retry-After header, so none is sent.
        with self._lock:
            limit = self._settings["max_posts_per_second"]
            if limit is None:
                return
            now = time.monotonic()
            window = self._post_times.setdefault(workspace_id, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                raise ApiError(
                    429, "TooManyRequests", "Too many requests: workspace POST rate limit exceeded"
                )
            window.append(now)

    # control API -------------------------------------------------------------------------

    def _control(self, method: str, path: str, headers: dict, body: bytes) -> JsonResponse:
        """``/_sandbox/...``: inspection and configuration, unauthenticated, never recorded.

        A POST must say its body is JSON: a web page can send a cross-origin POST of
        ``text/plain`` (or a form) without asking, but one of ``application/json`` only after
        a preflight the sandbox never approves."""
        media_type = (header(headers, "Content-Type") or "").partition(";")[0].strip().lower()
        if method == "POST" and media_type != "application/json":
            return _error(
                ApiError(
                    415,
                    "UnsupportedMediaType",
                    "a control POST takes a JSON body: Content-Type must be application/json",
                )
            )
        try:
            fields = json.loads(body) if body else {}
        except ValueError:
            return _error(ApiError(400, "InvalidRequest", "body must be JSON"))
        if not isinstance(fields, dict):
            return _error(ApiError(400, "InvalidRequest", "body must be a JSON object"))
        try:
            found = routes.find(routes.CONTROL_ROUTES, method, routes.split(path))
        except ApiError:  # a known path, another method: the control API answers 404 to both
            found = None
        if found is None:
            return _error(ApiError(404, "NotFound", f"no control route {method} {path}"))
        route, _ = found
        operation = getattr(self.control, route.operation)
        try:
            return _ok(operation(**fields) if route.body else operation())
        except (TypeError, ValueError) as exc:
            return _error(ApiError(400, "InvalidRequest", str(exc)))


def _safe_payload(payload: Any) -> Any:
    """A request body as recorded: a webhook subscription's signing key is a secret, and
    recorded requests are served without authentication."""
    if isinstance(payload, dict) and "signingKey" in payload:
        return {**payload, "signingKey": "<redacted>"}
    return payload
