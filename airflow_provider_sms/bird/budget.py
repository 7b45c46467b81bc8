"""A workspace's request budget shared by every sender on every host, kept in Redis (the
store a Celery deployment already runs): one timeline of request slots per workspace and
method, advanced atomically by a Lua script on Redis's own clock (GCRA with no burst).

The store only ever speeds nothing up: when it cannot be reached, answers slowly or
misbehaves, this process stops using it for a while (said once) and its requests go on
under the host's slots and Bird's 429s, as without it."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# The URL schemes a Redis client connects by.
SCHEMES = ("redis", "rediss", "unix")

# KEYS[1] the timeline; ARGV: interval, longest credible lead, key lifetime (microseconds).
# Returns microseconds until the slot taken. A lead beyond the credible one is a timeline left
# by a far faster sender (or a restored snapshot): start over from now.
_TAKE_SLOT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local following = tonumber(redis.call('GET', KEYS[1]) or '0')
if following < now or following > now + tonumber(ARGV[2]) then
  following = now
end
redis.call('SET', KEYS[1], string.format('%d', following + tonumber(ARGV[1])),
           'PX', math.floor(tonumber(ARGV[3]) / 1000))
return following - now
"""


def describe(url: str) -> str:
    """The store's address as logs may show it: no user, no password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    where = parts.hostname or "localhost"
    if parts.port:
        where = f"{where}:{parts.port}"
    return f"{parts.scheme}://{where}{parts.path or ''}"


class SharedBudget:
    """The slots of one workspace's limit for one method, taken by every process of every
    host that uses the same store. `reserve` answers within `TIMEOUT` seconds or not at all."""

    # Credible lead: no sender waits this long for its slot unless something is wrong.
    MAX_AHEAD = 10.0
    # A loopback or LAN Redis answers in well under a millisecond; slower is a store in
    # trouble, and a send must not wait on it.
    TIMEOUT = 0.25
    # After a failure, how long this process sends without the store before trying it again.
    RETRY_AFTER = 30.0
    KEY_LIFETIME = 60.0

    _open: dict[tuple[str, str], SharedBudget] = {}
    _open_lock = threading.Lock()

    def __init__(self, url: str, key: str):
        self.url = url
        self.where = describe(url)
        self.key = "airflow-provider-sms:budget:" + hashlib.sha256(key.encode()).hexdigest()[:24]
        self._script = None
        self._off_until = 0.0
        self._lock = threading.Lock()

    @classmethod
    def for_store(cls, url: str, key: str) -> SharedBudget:
        """One budget per store and key in this process (they share one connection pool)."""
        with cls._open_lock:
            budget = cls._open.get((url, key))
            if budget is None:
                budget = cls._open[(url, key)] = cls(url, key)
            return budget

    def usable(self) -> bool:
        return time.monotonic() >= self._off_until

    def reserve(self, interval: float) -> float | None:
        """Take the next slot, `interval` seconds after the one before on every host: seconds
        until it comes, or None when the store cannot be used now."""
        if not self.usable():
            return None
        try:
            script = self._connected()
            waited = script(
                keys=[self.key],
                args=[
                    int(interval * 1e6),
                    int(self.MAX_AHEAD * 1e6),
                    int(self.KEY_LIFETIME * 1e6),
                ],
            )
            return max(0.0, int(waited) / 1e6)
        except Exception as exc:  # noqa: BLE001 - any failure of the store means: go on without
            self._unusable(exc)
            return None

    def _connected(self):
        with self._lock:
            if self._script is None:
                import redis

                client = redis.Redis.from_url(
                    self.url,
                    socket_timeout=self.TIMEOUT,
                    socket_connect_timeout=self.TIMEOUT,
                    retry_on_timeout=False,
                )
                self._script = client.register_script(_TAKE_SLOT)
                log.info(
                    "Requests to this workspace take turns with every host's in Redis at %s",
                    self.where,
                )
            return self._script

    def _unusable(self, exc: Exception) -> None:
        self._off_until = time.monotonic() + self.RETRY_AFTER
        _say_once(
            f"The rate budget shared across hosts in Redis at {self.where} cannot be used "
            f"({type(exc).__name__}: {_reason(exc, self.url)}); requests go on without it, "
            "under this host's shared limit and slowing down on Bird's 429s"
        )

    @classmethod
    def _forget_all(cls) -> None:
        cls._open = {}
        cls._open_lock = threading.Lock()


def _reason(exc: Exception, url: str) -> str:
    """The error's text without the store's credentials (a redis error may quote the URL)."""
    text = str(exc)[:200]
    parts = urlsplit(url)
    for secret in (url, parts.password, parts.username):
        if secret:
            text = text.replace(secret, "***")
    return text


class _Said:
    done = False


_said = _Said()


def _say_once(message: str) -> None:
    if _said.done:
        return
    _said.done = True
    log.warning(message)


def _after_fork() -> None:
    # A forked child starts with its own connections (redis-py's pool also checks the PID).
    SharedBudget._forget_all()
    _said.done = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
