"""Client-side rate limiter that keeps POSTs under Bird's per-workspace limit."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Spaces acquisitions evenly at `headroom` times `limit` per second, shared by threads.

    Even spacing (rather than letting a second's worth through in a burst) keeps Bird's
    per-second count under the limit even when network jitter bunches requests up on arrival;
    the headroom absorbs the rest of that jitter."""

    def __init__(self, limit: float, headroom: float = 0.9):
        self.interval = 1.0 / (limit * headroom)
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            time.sleep(delay)
