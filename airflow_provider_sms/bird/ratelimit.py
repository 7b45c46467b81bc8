"""Client-side rate limiter that keeps requests under Bird's per-workspace limit, and adapts
to the 429s of other senders sharing that workspace."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import stat
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from airflow_provider_sms.bird.budget import SharedBudget

T = TypeVar("T")

log = logging.getLogger(__name__)


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
    sharing the limit; `limit` stays the ceiling.

    With a `budget` shared across hosts (SharedBudget), every sender of the workspace also
    takes its slots from one timeline at `BUDGET_HEADROOM` of the limit; whenever the budget
    cannot be used, the host's slots (`shared_by`) are that timeline, at `HOST_HEADROOM`. Either
    way its own pace applies to the sender alone, and comes first: a sender slowed by 429s
    neither stretches the others' slots nor holds slots it cannot use yet. On a shared timeline
    a 429 is every sender's: each leaves `SLOTS_LEFT_PER_429` slots of the timeline unused, a
    gap as long as the window's overrun; the request that met it waits `pause` before it is
    sent again, and the sender's other requests go on at the timeline's pace."""

    # One timeline (the budget's or the host's) spaces every request evenly, so only arrival
    # jitter needs room. The host's senders share its cores with each other, which bunches
    # their arrivals more: at 96% four tasks on one 2-core host met bursts of 429s (and the
    # 1 s pauses that follow) and went at 384 msg/s; at 93%, 447.
    BUDGET_HEADROOM = 0.96
    HOST_HEADROOM = 0.93
    # A burst of 429s meets every sender with a request in flight; each pausing for a second
    # emptied the timeline (four tasks on one host: 465 msg/s, then 176 in the second after).
    # The slots left unused instead let Bird's window drain by more than it ran over.
    SLOTS_LEFT_PER_429 = 2

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
        budget: SharedBudget | None = None,
    ):
        self.ceiling = limit * headroom
        self.budget = budget
        self.budget_ceiling = limit * self.BUDGET_HEADROOM
        self.host_ceiling = limit * self.HOST_HEADROOM
        self.host = HostSlots.for_key(shared_by) if shared_by else None
        self.rate = self.ceiling
        self.beta, self.pause, self.cooldown, self.recovery = beta, pause, cooldown, recovery
        self.floor = min(1.0, self.ceiling)
        self._next = 0.0
        self._updated = time.monotonic()
        self._cut_at = -math.inf
        self._paused = pause
        self._lock = threading.Lock()

    def acquire(self, cancel: threading.Event | None = None) -> bool:
        """Wait for this request's turn; False when `cancel` was set while waiting."""
        with self._lock:
            now = time.monotonic()
            self._recover(now)
            slot = max(self._next, now)
            self._next = slot + 1.0 / self.rate
            delay = slot - now
        if self.budget is not None and self.budget.usable():
            # This sender's own pace first (its 429 pauses included), then the slot on the
            # shared timeline: a slot taken before a pause would be wasted for every host.
            if delay > 0 and not _slept(delay, cancel):
                return False
            across_hosts = self.budget.reserve(1.0 / self.budget_ceiling)
            if across_hosts is not None:
                return across_hosts <= 0 or _slept(across_hosts, cancel)
            delay = 0.0
        # The host's slots after this sender's own pace, as for the budget, and outside this
        # limiter's lock: the file's lock may be slow to come.
        if self.host is not None:
            if delay > 0 and not _slept(delay, cancel):
                return False
            on_host = self.host.reserve(1.0 / self.host_ceiling, cancel)
            if cancel is not None and cancel.is_set():
                return False
            delay = on_host or 0.0
        return delay <= 0 or _slept(delay, cancel)

    def throttled(self) -> float:
        """Bird answered 429: hold the shared timeline back, and slow down unless this sender
        just did. Returns the seconds the request that met it waits before it is sent again,
        beyond what `acquire` will make it wait."""
        shared = self._leave_shared_slots(self.SLOTS_LEFT_PER_429)
        with self._lock:
            now = time.monotonic()
            self._recover(now)
            if now - self._cut_at >= self.cooldown:
                self._cut_at = now
                self._paused = 0.0 if shared else self.pause
                self.rate = max(self.floor, self.rate * self.beta)
                self._next = max(self._next, now + self._paused)
        # Alone, the whole sender pauses (above). On a shared timeline only this request does:
        # a sender that keeps meeting 429s still sends each request at most once per pause,
        # while one burst no longer stops every request of every sender caught in it.
        return self.pause if shared else 0.0

    def _leave_shared_slots(self, count: int) -> bool:
        """Leave `count` slots of the timeline this sender shares unused; False when it shares
        none now."""
        budget = self.budget
        if budget is not None and budget.reserve(count / self.budget_ceiling) is not None:
            return True
        if self.host is not None:
            return self.host.reserve(count / self.host_ceiling) is not None
        return False

    def _recover(self, now: float) -> None:
        elapsed = now - self._updated
        self._updated = now
        if now - self._cut_at > self._paused and self.rate < self.ceiling:
            self.rate = min(self.ceiling, self.rate + self.recovery * self.ceiling * elapsed)


def _slept(seconds: float, cancel: threading.Event | None) -> bool:
    """Sleep; False when `cancel` was set meanwhile."""
    if cancel is None:
        time.sleep(seconds)
        return True
    return not cancel.wait(seconds)


class HostSlots:
    """The timeline of request slots shared by every process of this user on this host that
    sends to one workspace (all tasks of a LocalExecutor, say): the next free slot, in a small
    file under an exclusive lock. (`update` serves other numbers kept so: an alert's claim,
    ``bird.cooldown``.)

    The file lives in a folder only this user may use (created 0700, its owner and mode
    checked), is opened without following links, and must be a regular file of ours. The lock
    is waited on for at most `LOCK_WAIT` seconds. Whatever goes wrong with the folder, the
    file or the lock turns sharing off for this process, logged once: requests then go on at
    this process's own pace, adapting to Bird's 429s."""

    _open: dict[str, HostSlots] = {}
    _open_lock = threading.Lock()
    # A slot further ahead than this is stale (the clock moved): start over from now.
    MAX_AHEAD = 10.0
    # Holders keep the lock for microseconds; longer means something else holds it.
    LOCK_WAIT = 1.0

    def __init__(self, path: str):
        self.path = path
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        self.fd = os.open(path, flags, 0o600)
        try:
            info = os.fstat(self.fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                raise SlotsUnusable("not a regular file of this user's")
            if info.st_nlink != 1:
                raise SlotsUnusable("a hard link to another file")
        except BaseException:
            os.close(self.fd)
            raise
        # flock excludes other processes, not other threads using the same file.
        self._lock = threading.Lock()

    @staticmethod
    def folder() -> str:
        """This user's folder for slots files, made on first use; refused unless it is a real
        folder owned by this user that nobody else may enter."""
        path = os.path.join(tempfile.gettempdir(), f"airflow-provider-sms-{os.getuid()}")
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise SlotsUnusable(f"{path} is not a folder of this user's")
        if info.st_mode & 0o077:
            raise SlotsUnusable(f"{path} is open to other users (mode {info.st_mode & 0o777:o})")
        return path

    @classmethod
    def path_for(cls, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return os.path.join(cls.folder(), f"{digest}.slots")

    @classmethod
    def for_key(cls, key: str) -> HostSlots | None:
        with cls._open_lock:
            if _sharing.off:
                return None
            if key not in cls._open:
                try:
                    import fcntl  # noqa: F401 - POSIX only

                    cls._open[key] = cls(cls.path_for(key))
                except ImportError:
                    return None
                except (OSError, SlotsUnusable) as exc:
                    _sharing_off(exc)
                    return None
            return cls._open[key]

    @classmethod
    def _forget_all(cls) -> None:
        # A forked child shares its parent's open file, so flock would not tell them apart.
        cls._open = {}
        cls._open_lock = threading.Lock()

    def reserve(self, interval: float, cancel: threading.Event | None = None) -> float | None:
        """Take the next slot, `interval` after the one before: seconds until it comes, or
        None when the file cannot be used (sharing is then off for this process)."""

        def take(following: float) -> tuple[float, float]:
            now = time.time()
            if not now - 1.0 < following < now + self.MAX_AHEAD:
                following = now
            slot = max(following, now)
            return slot + interval, slot - now

        return self.update(take, cancel)

    def update(
        self, change: Callable[[float], tuple[float, T]], cancel: threading.Event | None = None
    ) -> T | None:
        """Under the file's lock, `change` the number it holds (0.0 in a new file) into the
        first of what it returns, and return the second; None when the file cannot be used
        (sharing is then off for this process) or `cancel` was set while waiting."""
        import fcntl

        deadline = time.monotonic() + self.LOCK_WAIT
        if not self._lock.acquire(timeout=self.LOCK_WAIT):
            # The thread holding it waits on the file's lock for as long, then says why.
            return None
        try:
            if _sharing.off:
                return None
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        return self._disable(f"its lock was held for over {self.LOCK_WAIT:g} s")
                    if cancel is not None and cancel.is_set():
                        return None
                    time.sleep(0.002)
                except OSError as exc:
                    return self._disable(exc)
            try:
                raw = os.pread(self.fd, 8, 0)
                value, result = change(struct.unpack("d", raw)[0] if len(raw) == 8 else 0.0)
                if os.pwrite(self.fd, struct.pack("d", value), 0) != 8:
                    raise OSError("short write")
                return result
            except OSError as exc:
                return self._disable(exc)
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _disable(self, why) -> None:
        _sharing_off(why)
        return None


class SlotsUnusable(Exception):
    """The slots file or its folder is not safe to use."""


class _Sharing:
    off = False


_sharing = _Sharing()


def _sharing_off(why) -> None:
    """Turn sharing off for this process; the first time, say why."""
    if _sharing.off:
        return
    _sharing.off = True
    log.warning(
        "Rate limit sharing with other processes on this host is off for this process (%s); "
        "requests go on at this process's own pace, slowing down on Bird's 429s",
        why,
    )


def _after_fork() -> None:
    HostSlots._forget_all()
    _sharing.off = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
