"""What a listing shows of its own order, and the one walk of a channel's messages that stops
early on it. Bird documents neither the order of a channel's messages nor which field names
the next page (API-NOTES sections 5 and 6), so a reader may stop early only once the listing
has shown itself newest first. No Airflow imports."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_sms.bird.client import BirdClient, Page

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


class NewestFirst:
    """A channel's messages walked page by page: each page with the createdAt of each of its
    messages (None where unreadable), and after each page `past(floor)`: whether the listing
    has shown itself newest first and that page lies wholly before `floor`, so that the rest
    is older still and a reader may stop there. The one walk that builds a PageOrder.

    With `skip_undated`, an undated message says nothing of the order (a reader that leaves
    such messages out); otherwise one forbids any early stop (a reader for whom a message not
    seen must be surely absent)."""

    def __init__(self, pages: Iterable[Page], *, skip_undated: bool = False):
        self._pages = pages
        self._skip_undated = skip_undated
        self._order = PageOrder()

    @classmethod
    def of_channel(
        cls,
        client: BirdClient,
        channel_id: str,
        *,
        max_pages: int,
        cancel: threading.Event | None = None,
        page_token: str | None = None,
        skip_undated: bool = False,
    ) -> NewestFirst:
        """The channel's messages, `max_pages` pages of them at most, from `page_token` on
        when given; a listing that cannot be seen to its end raises BirdListingUnclearError
        (``BirdClient.pages``)."""
        pages = client.pages(
            client.messages_path(channel_id),
            max_pages=max_pages,
            cancel=cancel,
            page_token=page_token,
        )
        return cls(pages, skip_undated=skip_undated)

    def __iter__(self) -> Iterator[tuple[Page, list[float | None]]]:
        for page in self._pages:
            stamps = [timestamp(message.get("createdAt")) for message in page]
            # Seen before the reader takes the page: what it does with it tells nothing of
            # the order, and `past` then speaks of this page.
            self._order.see([s for s in stamps if s is not None] if self._skip_undated else stamps)
            yield page, stamps

    def past(self, floor: float | None) -> bool:
        """Whether the page just walked lies before `floor` in a listing seen newest first."""
        return self._order.older_than(floor)

    @property
    def oldest_first(self) -> bool:
        """Whether the listing so far showed itself oldest first (see PageOrder)."""
        return self._order.oldest_first
