"""Client-side rate limiter that keeps POSTs under Bird's per-workspace limit."""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindowLimiter:
    """At most `limit` acquisitions in any window of `window` seconds, shared by threads.

    A sliding window (not a token bucket) because Bird counts requests per second; the
    window is a little longer than one second so that network jitter cannot push two
    requests into the same server-side second."""

    def __init__(self, limit: float, window: float = 1.05):
        self.limit = max(1, int(limit))
        self.window = window
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                wait = self.window - (now - self._sent[0])
            time.sleep(wait)
