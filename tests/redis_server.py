"""A throw-away Redis server from Debian's packages (installed with apt-get when absent), on
a free loopback port, with no persistence: the broker of the Celery deployment and the
store of the rate budget shared across hosts. Stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from support import debian_install


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_bin() -> str:
    """Debian's redis-server, installed from Debian's packages if absent."""
    found = shutil.which("redis-server")
    if found:
        return found
    debian_install("redis-server", "Redis")
    # The package may start its own service; ours runs on a port of its own.
    return shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """`options`: more of redis-server's command-line options (a Unix socket, TLS...)."""

    def __init__(self, folder: Path, *options: str):
        self.folder = folder
        self.options = options
        self.port = free_port()
        self.log = folder / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_bin(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.log),
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self._tail()}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer in {timeout:.0f} s: {self._tail()}")

    def ping(self) -> bool:
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        return False

    def _tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class PlayedRedis:
    """A misbehaving Redis played on loopback in a few lines of RESP2. `answer(command)`
    gives the bytes answering each command read (its arguments, as bytes), or None for no
    answer at all; `trickle` sends those bytes one at a time that many seconds apart. The
    commands read are kept in `commands`. Closes every connection when stopped."""

    def __init__(self, answer, trickle: float = 0.0):
        self.answer, self.trickle = answer, trickle
        self.commands: list[list[bytes]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, credentials: str = "", options: str = "") -> str:
        return f"redis://{credentials}127.0.0.1:{self.port}/0{options}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError), connection.makefile("rb") as reader:
            while not self.stopped.is_set():
                header = reader.readline()
                if not header.startswith(b"*"):
                    return
                command = []
                for _ in range(int(header[1:])):
                    size = int(reader.readline()[1:])
                    command.append(reader.read(size + 2)[:-2])
                self.commands.append(command)
                answer = self.answer(command)
                if answer is None:
                    continue
                if not self.trickle:
                    connection.sendall(answer)
                    continue
                for byte in answer:
                    if self.stopped.wait(self.trickle):
                        return
                    connection.sendall(bytes([byte]))

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def __enter__(self) -> PlayedRedis:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
