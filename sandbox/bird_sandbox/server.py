"""The sandbox's raw HTTP transport: a threading HTTP/1.1 server with keep-alive, a lean
request parser, answers in one write, and the transport's side of faults (a dropped or hung
connection reset, an answer dripped a byte at a time). What a request means is the gateway's
(:class:`~.gateway.Gateway`); this module only moves bytes."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .faults import UNANSWERED, Fault, RawBody

if TYPE_CHECKING:
    from .gateway import Gateway

_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100

log = logging.getLogger(__name__)


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
    server: SandboxHTTPServer

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
        refusal = gateway.refuse_host(self.headers.get("Host"))
        if refusal is not None:
            # Before anything else (a queued fault, the body): the request is not for us.
            self.close_connection = True
            self._respond(*refusal)
            return
        headers = dict(self.headers.items())
        fault = gateway.take_fault(self.command, path, query, headers)
        if fault is not None and fault.kind in UNANSWERED:
            self._abort(fault)
            return
        body = self._read_body(path)
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

    def _read_body(self, path: str) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    self.close_connection = True
                    return None
                chunks.append(chunk)
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        refusal = self.server.gateway.refuse_length(path, length)
        if refusal is not None:
            self.close_connection = True
            self._respond(*refusal)
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # The client went away mid-request (killed, say): like Bird, never act on half a
            # request, and record nothing.
            self.close_connection = True
            return None
        return body

    def _respond(
        self, status: int, headers: dict[str, str], payload: Any, *, drip: float = 0.0
    ) -> None:
        if isinstance(payload, RawBody):
            data = payload.encode()
        elif isinstance(payload, bytes):  # a stored file, or the storage's XML
            data = payload
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('Error',))[0]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if status != 204:  # a 204 has no body, and no Content-Length (RFC 9110, 8.6)
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


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], gateway: Gateway):
        # An IPv6 address (::1) needs an IPv6 socket; names and IPv4 addresses an IPv4 one.
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.gateway = gateway
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._aborted: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)
        gateway.listen_at(self.server_name, self.server_port, name=address[0])

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
