"""An HTTP server on loopback that answers every request badly, on purpose: its head or its
body trickled a byte at a time, or a body of any size. It counts what it sent, and whether
the client hung up before the answer ended, so a test can tell how much a client read, not
only how long it took.

Every answer is bounded (`seconds`, `body_size`), and leaving the `with` block ends every
thread at once: nothing outlives a test."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

_BLOCK = memoryview(b"x" * 65536)


@dataclass
class Answer:
    """What the server answers: `status` with `body` (the body's start), padded to
    `body_size` bytes; `head_drip` / `body_drip` are the seconds between two bytes of the
    head's last header / of the body (0: sent at once); no answer lasts over `seconds`."""

    status: int = 200
    body: bytes = b"{}"
    body_size: int = 0
    content_type: str = "application/json"
    headers: tuple[str, ...] = ()  # more header lines, e.g. "Content-Encoding: gzip"
    head_drip: float = 0.0
    body_drip: float = 0.0
    seconds: float = 20.0


@dataclass
class Served:
    """One request and what became of its answer."""

    request: bytes = b""
    body_sent: int = 0
    hung_up: float | None = None  # seconds after the request, if the client closed first
    finished: bool = False


class HostileServer:
    def __init__(self, answer: Answer):
        self.answer = answer
        self.served: list[Served] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> HostileServer:
        self._start(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def outcome(self, wait: float = 3.0) -> Served:
        """The one request served, once its answer ended or its client hung up (the server
        sees a hang-up at its next send), waiting at most `wait` seconds for that."""
        [served] = self.served
        until = time.monotonic() + wait
        while not (served.finished or served.hung_up) and time.monotonic() < until:
            time.sleep(0.02)
        return served

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            served = Served()
            self.served.append(served)
            self._start(self._serve, conn, served)

    def _serve(self, conn: socket.socket, served: Served) -> None:
        with conn:
            conn.settimeout(5)
            try:
                served.request = _read_request(conn)
            except OSError:
                return
            started = time.monotonic()
            try:
                self._answer(conn, served, started + self.answer.seconds)
                served.finished = True
            except OSError:
                served.hung_up = time.monotonic() - started

    def _answer(self, conn: socket.socket, served: Served, until: float) -> None:
        answer = self.answer
        size = max(answer.body_size, len(answer.body))
        head = (
            f"HTTP/1.1 {answer.status} Hostile\r\nContent-Type: {answer.content_type}\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n"
        ).encode()
        head += "".join(f"{line}\r\n" for line in answer.headers).encode()
        if answer.head_drip:
            conn.sendall(head + b"X-Slow: ")
            self._drip(conn, b"x" * 10**6, answer.head_drip, until, Served())
            head = b"\r\n"
        conn.sendall(head + b"\r\n")
        if answer.body_drip:
            self._drip(conn, answer.body, answer.body_drip, until, served)
            return
        conn.sendall(answer.body)
        served.body_sent = len(answer.body)
        while served.body_sent < size and not self._stop.is_set() and time.monotonic() < until:
            served.body_sent += conn.send(_BLOCK[: size - served.body_sent])

    def _drip(
        self, conn: socket.socket, data: bytes, every: float, until: float, served: Served
    ) -> None:
        """Send `data` a byte every `every` seconds, until it or the time runs out, counting
        each byte sent in `served.body_sent`."""
        for index in range(len(data)):
            if self._stop.wait(every) or time.monotonic() >= until:
                return
            conn.sendall(data[index : index + 1])
            served.body_sent += 1


def _read_request(conn: socket.socket) -> bytes:
    """The request's head and its body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the client left before its request ended")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the client left before its request ended")
        body += chunk
    return head + b"\r\n\r\n" + body
