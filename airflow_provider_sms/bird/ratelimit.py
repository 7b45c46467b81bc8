"""Client-side rate limiter that keeps requests under Bird's per-workspace limit, and adapts
to the 429s of other senders sharing that workspace."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import struct
import tempfile
import threading
import time


class RateLimiter:
    """Spaces acquisitions evenly at `headroom` times `limit` per second, shared by threads.

    Even spacing (rather than letting a second's worth through in a burst) keeps Bird's
    per-second count under the limit even when network jitter bunches requests up on arrival;
    the headroom absorbs the rest of that jitter.

    Adaptive, in the spirit of the AWS SDKs' "adaptive" retry mode: Bird's limit is per
    workspace, so parallel tasks on one workspace overrun it together, and only Bird's 429s
    tell. A 429 (`throttled()`, at most once per `cooldown`) cuts the rate by `beta` and pauses
    sending for `pause` seconds (Bird counts the last second); then the rate climbs back by
    `recovery` of the ceiling per second. Senders that each back off like this converge on
    sharing the limit; `limit` stays the ceiling."""

    def __init__(
        self,
        limit: float,
        headroom: float = 0.9,
        *,
        beta: float = 0.5,
        pause: float = 1.0,
        cooldown: float = 1.0,
        recovery: float = 0.02,
        shared_by: str | None = None,
    ):
        self.ceiling = limit * headroom
        self.host = HostSlots.for_key(shared_by) if shared_by else None
        self.rate = self.ceiling
        self.beta, self.pause, self.cooldown, self.recovery = beta, pause, cooldown, recovery
        self.floor = min(1.0, self.ceiling)
        self._next = 0.0
        self._updated = time.monotonic()
        self._cut_at = -math.inf
        self._lock = threading.Lock()

    def acquire(self, cancel: threading.Event | None = None) -> bool:
        """Wait for this request's turn; False when `cancel` was set while waiting."""
        with self._lock:
            now = time.monotonic()
            self._recover(now)
            slot = max(self._next, now)
            self._next = slot + 1.0 / self.rate
            delay = slot - now
            if self.host is not None:
                delay = max(delay, self.host.reserve(1.0 / self.rate))
        if delay <= 0:
            return True
        if cancel is None:
            time.sleep(delay)
            return True
        return not cancel.wait(delay)

    def throttled(self) -> None:
        """Bird answered 429: slow down, unless this sender just did."""
        with self._lock:
            now = time.monotonic()
            self._recover(now)
            if now - self._cut_at < self.cooldown:
                return
            self._cut_at = now
            self.rate = max(self.floor, self.rate * self.beta)
            self._next = max(self._next, now + self.pause)

    def _recover(self, now: float) -> None:
        elapsed = now - self._updated
        self._updated = now
        if now - self._cut_at > self.pause and self.rate < self.ceiling:
            self.rate = min(self.ceiling, self.rate + self.recovery * self.ceiling * elapsed)


class HostSlots:
    """The timeline of request slots shared by every process on this host that sends to one
    workspace (all tasks of a LocalExecutor, say): the next free slot, in a small file under
    an exclusive lock. Where the file cannot be used, sharing quietly stops."""

    _open: dict[str, HostSlots] = {}
    _open_lock = threading.Lock()
    # A slot further ahead than this is stale (the clock moved): start over from now.
    MAX_AHEAD = 10.0

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        # flock excludes other processes, not other threads using the same file.
        self._lock = threading.Lock()

    @classmethod
    def for_key(cls, key: str) -> HostSlots | None:
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        path = os.path.join(tempfile.gettempdir(), f"airflow-provider-sms-{digest}.slots")
        with cls._open_lock:
            if path not in cls._open:
                try:
                    import fcntl  # noqa: F401 - POSIX only

                    cls._open[path] = cls(path)
                except (ImportError, OSError):
                    return None
            return cls._open[path]

    def reserve(self, interval: float) -> float:
        """Take the next slot, `interval` after the one before; seconds until it comes."""
        import fcntl

        with self._lock:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            except OSError:
                return 0.0
            try:
                return self._take(interval)
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(self.fd, fcntl.LOCK_UN)

    def _take(self, interval: float) -> float:
        raw = os.pread(self.fd, 8, 0)
        now = time.time()
        following = struct.unpack("d", raw)[0] if len(raw) == 8 else 0.0
        if not now - 1.0 < following < now + self.MAX_AHEAD:
            following = now
        slot = max(following, now)
        os.pwrite(self.fd, struct.pack("d", slot + interval), 0)
        return slot - now
