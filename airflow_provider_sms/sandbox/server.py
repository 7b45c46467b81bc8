"""Thin HTTP/1.1 front for :class:`~.backend.SandboxBackend` and the public :class:`BirdSandbox`."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import seed
from .backend import Fault, RecordedRequest, SandboxBackend

_MAX_BODY = 10 * 1024 * 1024
_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100


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
        backend = self.server.backend
        if "?" in self.path:
            url = urlsplit(self.path)
            path, query = url.path, dict(parse_qsl(url.query, keep_blank_values=True))
        else:
            path, query = self.path, {}
        headers = dict(self.headers.items())
        fault = backend.take_fault(self.command, path, query, headers)
        if fault is not None and fault.kind != "status":
            self._abort(fault)
            return
        body = self._read_body()
        if body is None:
            return
        status, response_headers, payload = backend.handle(
            self.command, path, query, headers, body, fault=fault
        )
        if path.startswith("/workspaces") and backend.latency > 0:
            # Latency counts from receipt, so processing time is not added on top of it.
            delay = backend.latency - (time.monotonic() - self.received)
            if delay > 0:
                time.sleep(delay)
        self._respond(status, response_headers, payload)

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

    def _respond(self, status: int, headers: dict[str, str], payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('Error',))[0]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(data)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + data)  # a single send: no delayed-ACK stall between parts
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


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: SandboxBackend):
        self.backend = backend
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


class BirdSandbox:
    """A local, Bird-compatible Channels API server for tests and demos.

    Serves on a free loopback port in a background thread. Accepted messages, every request
    and the behaviour knobs (latency, rate limit, rejected recipients, injected faults) are
    available on the instance; the same is exposed over HTTP under ``/_sandbox/``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        max_posts_per_second: int | None = None,
    ):
        self._address = (host, port)
        self.backend = SandboxBackend(latency=latency, max_posts_per_second=max_posts_per_second)
        self._server: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> BirdSandbox:
        if self._server is not None:
            return self
        server = _SandboxHTTPServer(self._address, self.backend)
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

    access_key = seed.ACCESS_KEY
    workspace_id = seed.WORKSPACE_ID
    mms_channel_id = seed.MMS_CHANNEL_ID
    sms_channel_id = seed.SMS_CHANNEL_ID

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
        return self.backend.requests()

    def posts_received(self, path_suffix: str = "/messages") -> int:
        return sum(
            1
            for r in self.backend.requests()
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
    ) -> None:
        """Make the next ``count`` requests fail: ``"status"``, ``"drop"`` or ``"hang"``;
        with ``after_messages``, only once that many messages have been accepted; with
        ``method``, only requests of that method."""
        self.backend.inject(
            kind,
            count,
            status=status,
            retry_after=retry_after,
            seconds=seconds,
            after_messages=after_messages,
            method=method,
        )

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self.backend.clear_faults()

    @property
    def latency(self) -> float:
        return self.backend.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.backend.configure(latency=seconds)

    @property
    def max_posts_per_second(self) -> int | None:
        return self.backend.max_posts_per_second

    @max_posts_per_second.setter
    def max_posts_per_second(self, value: int | None) -> None:
        self.backend.configure(max_posts_per_second=value)

    @property
    def reject_recipients(self) -> set[str]:
        return set(self.backend.reject_recipients)

    @reject_recipients.setter
    def reject_recipients(self, numbers) -> None:
        self.backend.configure(reject_recipients=list(numbers))

    def reset(self) -> None:
        """Clear messages, requests, faults and rejections; restore constructor settings."""
        self.backend.reset()
