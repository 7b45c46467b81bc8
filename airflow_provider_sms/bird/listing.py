"""What a listing shows of its own order. Bird documents neither the order of a channel's
messages nor which field names the next page (API-NOTES sections 5 and 6), so a scan may stop
early only once the listing has shown itself newest first. No Airflow imports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

# How much newer than the page before a page's newest message may be in a listing still taken
# for newest first (messages accepted together may be listed a few milliseconds out of order).
ORDER_TOLERANCE = 1.0


def timestamp(value) -> float | None:
    """An RFC 3339 time as a UNIX time; None when it cannot be read."""
    if not isinstance(value, str):
        return None
    try:
        # RFC 3339 allows a lowercase `t` and `z`, which fromisoformat does not read.
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class PageOrder:
    """Watches a listing page by page: `older_than(floor)` says, after a page, whether the
    listing has shown itself newest first and that page lies wholly before `floor`, so that
    the rest is older still."""

    def __init__(self) -> None:
        self._previous: tuple[float, float] | None = None  # the last page's (oldest, newest)
        self._falling = True  # no page newer than the one before
        self._fell = False  # some page older than the one before
        self.readable = True  # every timestamp could be read
        self.newest: float | None = None  # the newest timestamp seen
        self._page: tuple[float, float] | None = None  # the page just seen
        self._last: float | None = None  # the last timestamp read, message by message
        self._rose = self._dropped = False  # some message newer / older than the one before

    def see(self, stamps: Iterable[float | None]) -> None:
        """One page's timestamps (None: unreadable, after which no early stop is allowed)."""
        read = []
        for stamp in stamps:
            if stamp is None:
                self.readable = False
                continue
            if self._last is not None:
                self._rose = self._rose or stamp > self._last
                self._dropped = self._dropped or stamp < self._last
            self._last = stamp
            read.append(stamp)
        if not read:
            self._page = None
            return
        span = (min(read), max(read))
        self.newest = span[1] if self.newest is None else max(self.newest, span[1])
        if self._previous is not None:
            # Page over page, not message by message (see ORDER_TOLERANCE).
            self._falling = self._falling and span[1] <= self._previous[0] + ORDER_TOLERANCE
            self._fell = self._fell or span[1] < self._previous[0]
        self._previous = span
        self._page = span

    @property
    def oldest_first(self) -> bool:
        """Whether every message so far was listed after an older or equal one, some after
        an older one."""
        return self._rose and not self._dropped

    def older_than(self, floor: float | None) -> bool:
        """Whether the page just seen lies before `floor` in a listing seen newest first."""
        if floor is None or self._page is None:
            return False
        return self.readable and self._falling and self._fell and self._page[1] < floor
