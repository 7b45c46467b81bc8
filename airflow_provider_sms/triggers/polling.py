"""What the provider's triggers share while they poll Bird: a cancel signal set at their end
time (it ends the client's waits there: backoff, Retry-After, the rate limit) and the pause
before the next poll."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# The longest pause between two polls while Bird answers with transient errors (unless the
# poll interval itself is longer).
MAX_BACKOFF = 300.0


@contextmanager
def cancelled_at(end_time: float | None) -> Iterator[threading.Event]:
    """An event set at `end_time` (a UNIX time; never for None), and set on leaving, so that
    a poll still running on a worker thread stops waiting. Needs a running event loop."""
    cancel = threading.Event()
    timer = None
    if end_time is not None:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(max(0.0, end_time - time.time()), cancel.set)
    try:
        yield cancel
    finally:
        if timer is not None:
            timer.cancel()
        cancel.set()


def next_delay(
    poll_interval: float, errors: int, *, end_time: float | None = None, now: float = 0.0
) -> float:
    """Seconds until the next poll: the interval, backing off after `errors` failed polls in
    a row, and never past `end_time`."""
    delay = poll_interval
    if errors:
        delay = min(max(poll_interval, MAX_BACKOFF), poll_interval * 2**errors)
    if end_time is not None:
        delay = min(delay, max(0.0, end_time - now))
    return delay
