"""The sandbox's front: HTTP, routing, the AccessKey check, the workspace's POST rate limit,
injected faults, recorded requests and the ``/_sandbox/`` control API; and the public
:class:`BirdSandbox`. What Bird does with a request is the backend's
(:class:`~.backend.SandboxBackend`)."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..loopback import is_loopback
from .backend import DEFAULT_LISTING, DEFAULT_STATUS_DELAYS, ApiError, SandboxBackend
from .catalogue import (
    ACCESS_KEY,
    DELIVERY_FAILS_NL,
    DELIVERY_FAILS_US,
    MMS_CHANNEL_ID,
    SENDING_FAILS_NL,
    SENDING_FAILS_US,
    SMS_CHANNEL_ID,
    STAYS_SENT_NL,
    STAYS_SENT_US,
    WORKSPACE_ID,
)
from .faults import UNANSWERED, Fault, JsonResponse, fault_response, normalise_fault

_MAX_BODY = 10 * 1024 * 1024
_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100
_JSON_HEADERS = {"Content-Type": "application/json"}

log = logging.getLogger(__name__)


@dataclass
class RecordedRequest:
    """One request the sandbox received under ``/workspaces`` (control calls are not recorded).

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
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


def _error(exc: ApiError, headers: dict[str, str] | None = None) -> JsonResponse:
    return exc.status, {**_JSON_HEADERS, **(headers or {})}, exc.body()


def _ok(payload: Any, status: int = 200) -> JsonResponse:
    return status, dict(_JSON_HEADERS), payload


def _paging(query: dict[str, str]) -> dict[str, Any]:
    """``limit`` and ``pageToken`` as keyword arguments of a list operation; a limit that is
    not an integer is handed on as is, for Bird's 422."""
    paging: dict[str, Any] = {"page_token": query.get("pageToken") or None}
    if "limit" in query:
        try:
            paging["limit"] = int(query["limit"])
        except ValueError:
            paging["limit"] = query["limit"]
    return paging


class Gateway:
    """Everything between an HTTP request and Bird's operations: routing, authentication,
    the per-workspace POST rate limit, injected faults, latency, recorded requests and the
    control API. Thread-safe."""

    def __init__(
        self,
        backend: SandboxBackend,
        *,
        latency: float = 0.0,
        max_posts_per_second: int | None = None,
    ):
        self.backend = backend
        self._lock = threading.Lock()
        self._defaults = (float(latency), max_posts_per_second)
        with self._lock:
            self._reset_locked()

    # configuration -----------------------------------------------------------------------

    def _reset_locked(self) -> None:
        self._requests: list[RecordedRequest] = []
        self._faults: deque[list] = deque()  # [Fault, remaining]
        self._post_times: dict[str, deque[float]] = {}
        self.latency, self._max_posts = self._defaults

    def reset(self) -> None:
        """Forget messages, requests, faults and rejections; restore the initial configuration."""
        with self._lock:
            self._reset_locked()
        self.backend.reset()

    @property
    def max_posts_per_second(self) -> int | None:
        return self._max_posts

    @max_posts_per_second.setter
    def max_posts_per_second(self, value: int | None) -> None:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise ValueError("max_posts_per_second must be a positive integer or None")
        self._max_posts = value

    def configure(self, **config: Any) -> dict:
        """Update ``latency``, ``max_posts_per_second``, ``reject_recipients``,
        ``status_delays`` and/or ``listing``."""
        known = {"latency", "max_posts_per_second", "reject_recipients", "status_delays", "listing"}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        if "latency" in config:
            latency = config["latency"]
            if not isinstance(latency, int | float) or isinstance(latency, bool) or latency < 0:
                raise ValueError("latency must be a non-negative number of seconds")
        if "status_delays" in config:
            self.backend.status_delays = config["status_delays"]
        if "listing" in config:
            self.backend.listing = config["listing"]
        if "reject_recipients" in config:
            self.backend.reject_recipients = config["reject_recipients"]
        with self._lock:
            if "max_posts_per_second" in config:
                self.max_posts_per_second = config["max_posts_per_second"]
            if "latency" in config:
                self.latency = float(config["latency"])
        return self.config()

    def config(self) -> dict:
        return {
            "latency": self.latency,
            "max_posts_per_second": self._max_posts,
            "reject_recipients": sorted(self.backend.reject_recipients),
            "status_delays": self.backend.status_delays,
            "listing": self.backend.listing,
        }

    def inject(self, kind: str, count: int = 1, **params: Any) -> None:
        """Queue a fault for the next ``count`` requests under ``/workspaces``."""
        fault, count = normalise_fault(kind, count, **params)
        with self._lock:
            self._faults.append([fault, count])

    def clear_faults(self) -> None:
        """Drop every queued fault (the outage is over)."""
        with self._lock:
            self._faults.clear()

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    # request handling --------------------------------------------------------------------

    def take_fault(self, method: str, path: str, query: dict, headers: dict) -> Fault | None:
        """Consume the next queued fault for a ``/workspaces`` request, if any.

        ``drop``/``hang`` faults are recorded here (status 0), since the request is never
        answered; a ``status`` fault is recorded by :meth:`handle`.
        """
        if not path.startswith("/workspaces"):
            return None
        with self._lock:
            if not self._faults:
                return None
            entry = self._faults[0]
            if self.backend.message_count() < entry[0].after_messages:
                return None
            if entry[0].method is not None and entry[0].method != method:
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
            return self._control(method, path, body)
        if fault is ...:
            fault = self.take_fault(method, path, query, headers)
        if fault is not None and fault.kind in UNANSWERED:
            return 0, {}, None
        payload: Any = None
        parsed = False
        if body:
            with contextlib.suppress(ValueError):
                payload, parsed = json.loads(body), True
        if fault is not None and fault.kind == "status":
            response = fault_response(fault)
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
            payload,
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
        parts = path.strip("/").split("/")
        if parts[0] != "workspaces":
            raise ApiError(
                404, "NotFound", "The requested resource does not exist: route not found"
            )
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, key = auth.strip().partition(" ")
        if scheme.lower() != "accesskey" or key.strip() != ACCESS_KEY:
            raise ApiError(401, "Unauthorized", "Missing or invalid AccessKey authorization")
        backend = self.backend
        workspace_id = parts[1] if len(parts) > 1 else ""
        backend.require(workspace_id)
        rest = parts[2:]
        if not rest or rest[0] != "channels":
            raise ApiError(
                404, "NotFound", "The requested resource does not exist: route not found"
            )
        if len(rest) == 1:
            self._allow(method, "GET")
            return _ok(backend.list_channels(workspace_id, **_paging(query)))
        backend.require(workspace_id, rest[1])
        channel_id, tail = rest[1], rest[2:]
        if not tail:
            self._allow(method, "GET")
            return _ok(backend.get_channel(workspace_id, channel_id))
        if tail == ["messages"]:
            self._allow(method, "GET", "POST")
            if method == "GET":
                batch_id = query.get("batchId") or None
                return _ok(
                    backend.list_messages(
                        workspace_id, channel_id, batch_id=batch_id, **_paging(query)
                    )
                )
            self._post(workspace_id, parsed)
            return _ok(backend.create_message(workspace_id, channel_id, payload), 202)
        if tail == ["batch", "messages"]:
            self._allow(method, "POST")
            self._post(workspace_id, parsed)
            return _ok(backend.create_batch_messages(workspace_id, channel_id, payload), 202)
        if len(tail) == 2 and tail[0] == "messages":
            self._allow(method, "GET")
            return _ok(backend.get_message(workspace_id, channel_id, tail[1]))
        raise ApiError(404, "NotFound", "The requested resource does not exist: route not found")

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed here")

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
            limit = self._max_posts
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

    def _control(self, method: str, path: str, body: bytes) -> JsonResponse:
        """``/_sandbox/...``: inspection and configuration, unauthenticated, never recorded."""
        route = path[len("/_sandbox/") :].strip("/")
        try:
            fields = json.loads(body) if body else {}
        except ValueError:
            return _error(ApiError(400, "InvalidRequest", "body must be JSON"))
        if not isinstance(fields, dict):
            return _error(ApiError(400, "InvalidRequest", "body must be a JSON object"))
        try:
            if route == "health" and method == "GET":
                return _ok({"status": "ok"})
            if route == "messages" and method == "GET":
                self.backend.wait_idle()
                return _ok({"results": self.backend.messages()})
            if route == "requests" and method == "GET":
                return _ok({"results": [asdict(r) for r in self.requests()]})
            if route == "faults" and method == "POST":
                self.inject(**fields)
                return _ok({"queued": fields.get("count", 1)})
            if route == "faults" and method == "DELETE":
                self.clear_faults()
                return _ok({})
            if route == "config" and method in ("GET", "POST"):
                return _ok(self.configure(**fields) if method == "POST" else self.config())
            if route == "reset" and method == "POST":
                self.reset()
                return _ok({})
        except (TypeError, ValueError) as exc:
            return _error(ApiError(400, "InvalidRequest", str(exc)))
        return _error(ApiError(404, "NotFound", f"no control route {method} {path}"))


class _Headers:
    """Request headers: case-insensitive ``get`` and original spelling in ``items()``.

    Replaces ``http.client.parse_headers``, whose email-parser machinery is the single largest
    per-request cost of ``BaseHTTPRequestHandler``.
    """

    __slots__ = ("_items", "_lower")

    def __init__(self) -> None:
        self._items: dict[str, str] = {}
        self._lower: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self._items[name] = value
        self._lower[name.lower()] = value

    def get(self, name: str, default: Any = None) -> Any:
        return self._lower.get(name.lower(), default)

    def __getitem__(self, name: str) -> str | None:
        return self._lower.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower

    def items(self):
        return self._items.items()


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive: a pooled client reuses its connection, so each request costs no handshake.
    protocol_version = "HTTP/1.1"
    server_version = "BirdSandbox/1.0"
    sys_version = ""
    server: _SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        # Responses go out in one write; without Nagle they leave immediately.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.request)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.request)

    def parse_request(self) -> bool:
        self.received = time.monotonic()  # latency is measured from here
        self.command = None
        self.close_connection = True
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.request_version = "HTTP/1.1"
            self.send_error(400, "Bad request line")
            return False
        self.command, self.path, self.request_version = parts
        headers = _Headers()
        while True:
            raw = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("iso-8859-1").partition(":")
            if len(raw) > _MAX_HEADER_LINE or len(headers._items) >= _MAX_HEADERS or not sep:
                self.send_error(431 if sep else 400, "Bad request headers")
                return False
            headers.add(name.strip(), value.strip())
        self.headers = headers  # type: ignore[assignment]
        connection = (headers.get("Connection") or "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if (headers.get("Expect") or "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # one stderr line per request would dominate the cost at 1,000 req/s

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        gateway = self.server.gateway
        if "?" in self.path:
            url = urlsplit(self.path)
            path, query = url.path, dict(parse_qsl(url.query, keep_blank_values=True))
        else:
            path, query = self.path, {}
        headers = dict(self.headers.items())
        fault = gateway.take_fault(self.command, path, query, headers)
        if fault is not None and fault.kind in UNANSWERED:
            self._abort(fault)
            return
        body = self._read_body()
        if body is None:
            return
        status, response_headers, payload = gateway.handle(
            self.command, path, query, headers, body, fault=fault
        )
        if path.startswith("/workspaces") and gateway.latency > 0:
            # Latency counts from receipt, so processing time is not added on top of it.
            delay = gateway.latency - (time.monotonic() - self.received)
            if delay > 0:
                time.sleep(delay)
        drip = fault.seconds if fault is not None and fault.kind == "drip" else 0.0
        self._respond(status, response_headers, payload, drip=drip)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True
            self._respond(400, {}, {"code": "InvalidRequest", "message": "bad Content-Length"})
            return None
        return self.rfile.read(length) if length else b""

    def _respond(
        self, status: int, headers: dict[str, str], payload: Any, *, drip: float = 0.0
    ) -> None:
        if isinstance(payload, RawBody):
            data = payload.encode()
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('Error',))[0]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(data)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if drip:
            # The head at once, then the body a byte at a time over `drip` seconds: each
            # socket read gets something, the whole answer takes long.
            self.wfile.write(head)
            self.wfile.flush()
            for index in range(len(data)):
                if self.server.stopping.wait(drip / max(1, len(data))):
                    return
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
        else:
            self.wfile.write(head + data)  # one send: no delayed-ACK stall between parts
        self.log_request(status)

    def _abort(self, fault: Fault) -> None:
        self.close_connection = True
        if fault.kind == "hang":
            # Read nothing and answer nothing; the client's read timeout is expected to fire.
            self.server.stopping.wait(fault.seconds)
        # SO_LINGER 0 turns close() into a TCP RST: the client sees a reset, never a clean EOF
        # it could mistake for an empty response.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.server.abort(self.request)


class RawBody(str):
    """An answer body sent as it is, not as JSON of a value (a ``body`` fault)."""


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], gateway: Gateway):
        self.gateway = gateway
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._aborted: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on reverse DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def track(self, sock: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(sock)

    def abort(self, sock: socket.socket) -> None:
        with self._connections_lock:
            self._aborted.add(sock)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._connections_lock:
            aborted = request in self._aborted
            self._aborted.discard(request)
        if aborted:
            request.close()  # no graceful FIN first: linger 0 makes this a reset
        else:
            super().shutdown_request(request)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise keep being served after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: socket.socket, client_address: Any) -> None:
        # socketserver prints a traceback to stderr for whatever a handler raised. A client
        # that resets or drops its connection (a read timeout, a killed task) is routine for
        # a test server: one line. Anything else keeps its traceback, through the log.
        error = sys.exc_info()[1]
        peer = _peer(client_address)
        if isinstance(error, ConnectionError):
            log.warning(
                "Bird sandbox: client %s closed its connection abruptly (%s)",
                peer,
                error.strerror or type(error).__name__,
            )
        else:
            log.error("Bird sandbox: error while serving %s", peer, exc_info=True)


def _peer(client_address: Any) -> str:
    """``host:port`` of a client address (``[host]:port`` for IPv6)."""
    if isinstance(client_address, tuple) and len(client_address) >= 2:
        host, port = client_address[:2]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(client_address)


class BirdSandbox:
    """A local, Bird-compatible Channels API server for tests and demos.

    Serves on a free loopback port in a background thread. Accepted messages, every request
    and the behaviour knobs (latency, rate limit, rejected recipients, injected faults, status
    delays, how messages are listed) are available on the instance; the same is exposed over
    HTTP under ``/_sandbox/``.

    Messages move through Bird's statuses as time passes: the answer to the POST says
    ``accepted``; reading the message later (getting it, listing the channel or a batch,
    :attr:`messages`, ``GET /_sandbox/messages``) shows ``processing`` from
    ``status_delays["processing"]`` seconds after acceptance, then ``sent``, then
    ``delivered`` (defaults 0.2, 0.5 and 1.0 s), with ``lastStatusAt`` and ``updatedAt`` at
    the moment of the change. The status is worked out when the message is read, so no
    thread is involved. A message scheduled for later stays ``scheduled`` until its
    ``scheduledFor``, then goes on as if accepted then. Batch items rejected during
    validation stay ``rejected``. ``status_delays=None`` (or ``{"status_delays": null}`` on
    ``/_sandbox/config``) keeps messages accepted from then on in the status they were
    accepted with; a new setting applies to messages accepted afterwards.

    Magic recipients (the first one among a message's contacts decides how it ends)::

        +31610000101, +12025550101  processing, sent, then delivery_failed (at the
                                    "delivered" delay): the carrier could not reach the
                                    handset. reason "details: absent subscriber; reason:
                                    absent_subscriber; code: 27", details
                                    "absent_subscriber", failure {"code": 15006,
                                    "description": ..., "source": {"name":
                                    "sms-messagebird", "code": "27"}}
        +31610000102, +12025550102  processing, then sending_failed (at the "sent" delay):
                                    the SMS platform has no route to the recipient's
                                    network. reason "details: no route to the recipient's
                                    network; reason: no_route", details "no_route",
                                    failure {"code": 15002, "description": ...,
                                    "source": {"name": "sms-messagebird", "code":
                                    "no_route"}}
        +31610000103, +12025550103  processing, then sent for ever: the handset never
                                    acknowledges

    They are valid mobile numbers (the provider's recipient validation accepts them; the US
    ones are in the 555-01xx range reserved for fiction) and are named in
    :mod:`~airflow_provider_sms.sandbox.catalogue` (``DELIVERY_FAILS_NL``, ``..._US``,
    ``SENDING_FAILS_*``, ``STAYS_SENT_*``), also as class attributes here.

    ``host`` must be a loopback address or ``localhost``: the sandbox's access key is
    published and its control API has no authentication, so anyone who can reach it can read
    every recorded request and reconfigure it. ``allow_non_loopback=True`` lifts the check,
    for a sandbox deliberately shared on a private network.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        max_posts_per_second: int | None = None,
        *,
        allow_non_loopback: bool = False,
        status_delays: Mapping[str, float] | None = DEFAULT_STATUS_DELAYS,
        listing: Mapping[str, Any] = DEFAULT_LISTING,
    ):
        if not allow_non_loopback and not is_loopback(host):
            raise ValueError(
                f"refusing to listen on non-loopback host {host!r}: the Bird sandbox serves an "
                "unauthenticated control API; pass allow_non_loopback=True to expose it anyway"
            )
        self._address = (host, port)
        # Bird's side (operations callable without HTTP), and what stands in front of it.
        self.backend = SandboxBackend(status_delays=status_delays, listing=listing)
        self.gateway = Gateway(
            self.backend, latency=latency, max_posts_per_second=max_posts_per_second
        )
        self._server: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> BirdSandbox:
        if self._server is not None:
            return self
        server = _SandboxHTTPServer(self._address, self.gateway)
        # Keep the port: a restart after refuse_connections() must come back on it.
        self._address = (self._address[0], server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._server = server
        self._thread.start()
        return self

    def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stop(self) -> None:
        self._close_server()
        self.backend.close()

    def refuse_connections(self, seconds: float) -> None:
        """Stop listening for ``seconds``, closing idle keep-alive connections: until then
        every connection attempt is refused, so no request reaches the server (a connection
        dropped before the request was sent). Then listen again on the same port."""
        self._close_server()

        def reopen() -> None:
            time.sleep(seconds)
            self.start()

        threading.Thread(target=reopen, name="sandbox-reopen", daemon=True).start()

    def __enter__(self) -> BirdSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # addresses and connection ------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._address[1]:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._address[0]}:{self.port}"

    access_key = ACCESS_KEY
    workspace_id = WORKSPACE_ID
    mms_channel_id = MMS_CHANNEL_ID
    sms_channel_id = SMS_CHANNEL_ID
    delivery_fails_nl = DELIVERY_FAILS_NL
    delivery_fails_us = DELIVERY_FAILS_US
    sending_fails_nl = SENDING_FAILS_NL
    sending_fails_us = SENDING_FAILS_US
    stays_sent_nl = STAYS_SENT_NL
    stays_sent_us = STAYS_SENT_US

    def connection(self, channel_id: str | None = None) -> dict:
        """An Airflow connection (JSON form) pointing at this sandbox."""
        return {
            "conn_type": "bird",
            "host": self.base_url,
            "password": self.access_key,
            "extra": {
                "workspace_id": self.workspace_id,
                "channel_id": channel_id or self.mms_channel_id,
            },
        }

    def connection_env(
        self, conn_id: str = "bird_default", channel_id: str | None = None
    ) -> tuple[str, str]:
        """``(variable name, value)`` defining the connection through the environment."""
        return f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(self.connection(channel_id))

    # inspection --------------------------------------------------------------------------

    @property
    def messages(self) -> list[dict]:
        """Stored messages (copies) in arrival order, after pending batch items settle."""
        self.backend.wait_idle()
        return self.backend.messages()

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.gateway.requests()

    def posts_received(self, path_suffix: str = "/messages") -> int:
        return sum(
            1
            for r in self.gateway.requests()
            if r.method == "POST" and r.path.endswith(path_suffix)
        )

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until queued batch items are processed; False on timeout."""
        return self.backend.wait_idle(timeout)

    # behaviour ---------------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        status: int | None = None,
        retry_after: str | None = None,
        seconds: float = 30.0,
        after_messages: int = 0,
        method: str | None = None,
        body: str | None = None,
    ) -> None:
        """Make the next ``count`` requests fail: ``"status"``, ``"drop"`` or ``"hang"``;
        or process them as usual and answer oddly: ``"body"`` (answer `body`, raw JSON
        text, in place of Bird's) or ``"drip"`` (the answer over `seconds`, a byte at a
        time). With ``after_messages``, only once that many messages have been accepted;
        with ``method``, only requests of that method."""
        self.gateway.inject(
            kind,
            count,
            status=status,
            retry_after=retry_after,
            seconds=seconds,
            after_messages=after_messages,
            method=method,
            body=body,
        )

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self.gateway.clear_faults()

    @property
    def latency(self) -> float:
        return self.gateway.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.gateway.configure(latency=seconds)

    @property
    def max_posts_per_second(self) -> int | None:
        return self.gateway.max_posts_per_second

    @max_posts_per_second.setter
    def max_posts_per_second(self, value: int | None) -> None:
        self.gateway.configure(max_posts_per_second=value)

    @property
    def reject_recipients(self) -> set[str]:
        return set(self.backend.reject_recipients)

    @reject_recipients.setter
    def reject_recipients(self, numbers) -> None:
        self.gateway.configure(reject_recipients=list(numbers))

    @property
    def status_delays(self) -> dict[str, float] | None:
        """Seconds after acceptance at which messages become processing, sent, delivered
        (None: no progression). Setting some of the three, or None, applies to messages
        accepted afterwards."""
        return self.backend.status_delays

    @status_delays.setter
    def status_delays(self, delays: Mapping[str, float] | None) -> None:
        self.gateway.configure(status_delays=delays)

    @property
    def listing(self) -> dict[str, Any]:
        """How listing messages behaves where Bird's documentation is silent: ``order``
        (``newest_first`` or ``oldest_first``), ``page_token_field`` (None: no token) and
        ``batch_filter`` (False: ``batchId`` is ignored). Setting some keys keeps the rest."""
        return self.backend.listing

    @listing.setter
    def listing(self, value: Mapping[str, Any]) -> None:
        self.gateway.configure(listing=value)

    def reset(self) -> None:
        """Clear messages, requests, faults and rejections; restore constructor settings."""
        self.gateway.reset()
