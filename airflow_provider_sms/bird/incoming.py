"""Reading what comes back: a channel's incoming messages since a cursor, and a message's
interactions. No Airflow imports.

Bird lists inbound SMS among the channel's messages (``direction: "incoming"``); it documents
neither the listing's order nor a direction filter (API-NOTES section 5). So, as for
reconciliation, the scan trusts what it sees: it stops early only once the listing has shown
itself newest first, and a listing it cannot see to the end is "cannot tell" (raised), never
"nothing new"."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.errors import BirdListingUnclearError, BirdValidationError
from airflow_provider_sms.bird.listing import NewestFirst

# Messages may be listed a little after their createdAt, and out of order with their
# neighbours: each scan looks this many seconds behind the newest message it already had,
# and the ids seen in that window are kept so that none is taken twice. Once a scan that
# began this long after another one has read to its end, every message created before the
# newest one the other read is listed and was read: the window then closes there (`settled`),
# so that a burst of sent messages is not read again at every poll.
OVERLAP = 60.0
# Pages of 100 one scan reads at most, so one poll costs at most this many GETs (of the
# workspace's 50 GET/s): a longer window is read over several scans, each going on from the
# page the one before stopped at (`Cursor.resume`).
MAX_PAGES = 50


@dataclass(frozen=True)
class Resume:
    """A window read part-way: the page to go on from, when (UNIX time, this machine's clock)
    its first page was read, the newest createdAt read so far, how many messages were read,
    and the incoming ones among them (id -> [createdAt, place in the listing, message])."""

    token: str
    began: float
    newest: float | None
    read: int
    found: Mapping[str, list] = field(default_factory=dict)


@dataclass(frozen=True)
class Cursor:
    """Where a reader of a channel's incoming messages stands: every message created before
    its `floor` (``after - OVERLAP``, or `settled` when later) is behind it, and so is every
    id in ``seen`` (id -> createdAt, those within the overlap). ``after`` None: nothing was
    on the channel when reading began. ``mark`` (newest createdAt read, when that scan began)
    becomes ``settled`` once a scan begun OVERLAP seconds later reads to its end; ``resume``
    is a window read part-way."""

    after: float | None = None
    seen: Mapping[str, float] = field(default_factory=dict)
    settled: float | None = None
    mark: tuple[float, float] | None = None
    resume: Resume | None = None

    @classmethod
    def since(cls, moment: float) -> Cursor:
        """A cursor behind which lies every message created before `moment` (UNIX time)."""
        return cls(float(moment) + OVERLAP)

    @property
    def floor(self) -> float | None:
        """Messages created before this are behind the cursor."""
        window = None if self.after is None else self.after - OVERLAP
        return _latest(window, self.settled)

    def passed(self, messages: Iterable[tuple[str, float] | Cursor]) -> Cursor:
        """The cursor moved past `messages`: (id, createdAt) pairs, and last, after every
        message a scan returned, that scan's own cursor (``Scan.cursor``), which moves it past
        everything the scan read, outgoing messages included."""
        after, settled, mark, resume = self.after, self.settled, self.mark, self.resume
        seen = dict(self.seen)
        for item in messages:
            if isinstance(item, Cursor):
                seen.update(item.seen)
                after = _latest(after, item.after)
                settled, mark, resume = _latest(settled, item.settled), item.mark, item.resume
                continue
            message_id, created = item
            seen[message_id] = created
            after = _latest(after, created)
        if after is not None:
            seen = {m: t for m, t in seen.items() if t >= after - OVERLAP}
        return Cursor(after, seen, settled, mark, resume)

    def behind(self, message_id: str, created: float) -> bool:
        """Whether a message is behind the cursor (already taken, or too old to be new)."""
        if message_id in self.seen:
            return True
        floor = self.floor
        return floor is not None and created < floor

    def to_json(self) -> dict:
        value: dict = {"after": self.after, "seen": dict(self.seen)}
        if self.settled is not None:
            value["settled"] = self.settled
        if self.mark is not None:
            value["mark"] = list(self.mark)
        if self.resume is not None:
            value["resume"] = {
                "token": self.resume.token,
                "began": self.resume.began,
                "newest": self.resume.newest,
                "read": self.resume.read,
                "found": {k: list(v) for k, v in self.resume.found.items()},
            }
        return value

    @classmethod
    def from_json(cls, value) -> Cursor | None:
        """A stored cursor; None for anything else (a value that is not one is not trusted:
        the caller starts afresh and says so)."""
        if not isinstance(value, dict):
            return None
        after, seen = value.get("after"), value.get("seen")
        settled, mark = value.get("settled"), value.get("mark")
        if not (_time(after, none=True) and _time(settled, none=True)) or not isinstance(
            seen, dict
        ):
            return None
        if not all(_time(t) for t in seen.values()):
            return None
        if mark is not None and not (
            isinstance(mark, list) and len(mark) == 2 and all(_time(t) for t in mark)
        ):
            return None
        resume = _resume(value.get("resume"))
        if resume is False:
            return None
        return cls(
            None if after is None else float(after),
            {str(k): float(t) for k, t in seen.items()},
            None if settled is None else float(settled),
            None if mark is None else (float(mark[0]), float(mark[1])),
            resume,
        )


def _latest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _time(value, *, none: bool = False) -> bool:
    if value is None:
        return none
    return isinstance(value, int | float) and not isinstance(value, bool)


def _resume(value) -> Resume | None | bool:
    """A stored Resume, None for none, False for a value that is not one."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return False
    token, found = value.get("token"), value.get("found")
    if not (isinstance(token, str) and token and _time(value.get("began"))):
        return False
    if not (_time(value.get("newest"), none=True) and isinstance(value.get("read"), int)):
        return False
    if not isinstance(found, dict) or not all(
        isinstance(v, list) and len(v) == 3 and _time(v[0]) and isinstance(v[2], dict)
        for v in found.values()
    ):
        return False
    return Resume(token, float(value["began"]), value["newest"], value["read"], found)


@dataclass
class Scan:
    """What one scan found: incoming messages not behind the cursor, oldest first (each
    Bird's message object), with ``positions`` beside them ((id, createdAt) of each, what a
    cursor moves past); the pages read; ``cursor``, where the reader stands once it passed
    every message returned (or, for a scan that started a cursor, where that stands);
    ``complete``, False for a window read only part-way (nothing is returned until the rest
    is read, by later scans from ``cursor``); and ``left_out``, the incoming messages that
    cannot be taken, as (key, why): no readable createdAt, or no id."""

    messages: list[dict] = field(default_factory=list)
    positions: list[tuple[str, float]] = field(default_factory=list)
    pages: int = 0
    cursor: Cursor | None = None
    complete: bool = True
    left_out: list[tuple[str, str]] = field(default_factory=list)


def scan_incoming(
    client: BirdClient,
    channel_id: str,
    cursor: Cursor | None,
    *,
    max_pages: int = MAX_PAGES,
    cancel=None,
    clock: Callable[[], float] = time.time,
) -> Scan:
    """The channel's incoming messages that are not behind `cursor`, oldest first.

    With `cursor` None, starts one at the present instead: nothing is returned, and
    ``scan.cursor`` stands after every message listed now.

    Reads until the listing has shown itself newest first and a whole page is older than
    the cursor's window, or to the end, `max_pages` pages at most: a longer window is read
    over several scans (``scan.complete`` False, ``scan.cursor`` going on where it stopped).
    Raises BirdListingUnclearError when the listing cannot be seen to its end (see
    ``BirdClient.pages``)."""
    resume = None if cursor is None else cursor.resume
    try:
        return _scan(client, channel_id, cursor, resume, max_pages, cancel, clock())
    except BirdValidationError:
        if resume is None or cancel is not None and cancel.is_set():
            raise
    # Bird no longer takes the page token a scan stopped at (a token's life is not
    # documented): the window is read again from the top, from the next scan on.
    return Scan(pages=1, cursor=replace(cursor, resume=None), complete=False)


def _scan(client, channel_id, cursor, resume, max_pages, cancel, began) -> Scan:
    result = Scan()
    # id -> [createdAt, place in the listing, message]
    found: dict[str, list] = {} if resume is None else dict(resume.found)
    newest = None if resume is None else resume.newest
    read = 0 if resume is None else resume.read
    floor = None if cursor is None else cursor.floor
    # An undated message says nothing of the order (and is left out): the others do.
    walk = NewestFirst.of_channel(
        client,
        channel_id,
        max_pages=max_pages,
        cancel=cancel,
        page_token=None if resume is None else resume.token,
        skip_undated=True,
    )
    for page, stamps in walk:
        result.pages += 1
        for message, created in zip(page, stamps, strict=True):
            read += 1
            if created is not None:
                newest = _latest(newest, created)
            if message.get("direction") != "incoming":
                continue
            message_id = message.get("id")
            if created is None or not isinstance(message_id, str) or not message_id:
                result.left_out.append(_left_out(message, message_id, created))
            elif message_id not in found:
                found[message_id] = [created, read, message]
        if cursor is None:
            floor = None if newest is None else newest - OVERLAP
        if walk.past(floor):
            break  # seen newest first, and a whole page older than the window
        if result.pages >= max_pages and page.next_token is not None:
            if cursor is None:
                if not walk.past(math.inf):
                    raise BirdListingUnclearError(
                        f"the listing showed no order in {max_pages} pages of messages, so "
                        "where the present is cannot be told",
                        method="GET",
                        path=channel_id,
                    )
                # Starting: what this scan did not reach is older still, and behind.
                dated = [s for s in stamps if s is not None]
                result.cursor = _started(found, newest, min(dated, default=newest), began)
                return result
            result.complete = False
            result.cursor = replace(
                cursor,
                resume=Resume(
                    page.next_token, began if resume is None else resume.began, newest, read, found
                ),
            )
            return result
    # Messages of the same millisecond keep the listing's order: read backwards unless the
    # listing showed itself oldest first.
    rising = walk.oldest_first
    ordered = sorted(
        ((t, p, m, message) for m, (t, p, message) in found.items()),
        key=lambda item: (item[0], item[1] if rising else -item[1]),
    )
    if cursor is None:
        result.cursor = _started(found, newest, None, began)
        return result
    for created, _, message_id, message in ordered:
        if not cursor.behind(message_id, created):
            result.messages.append(message)
            result.positions.append((message_id, created))
    window_began = began if resume is None else resume.began
    moved = replace(cursor, resume=None).passed(result.positions)
    settled, mark = moved.settled, moved.mark
    if mark is not None and window_began >= mark[1] + OVERLAP:
        settled, mark = _latest(settled, mark[0]), None
    if mark is None and newest is not None:
        mark = (newest, window_began)
    end = Cursor(_latest(moved.after, newest), moved.seen, settled, mark)
    result.cursor = end.passed([])  # the overlap's ids, for the new `after`
    return result


def _started(found: dict, newest: float | None, settled: float | None, began: float) -> Cursor:
    """A cursor started at the present: every message read is behind it, and so is every
    message older than `settled`."""
    cursor = Cursor(newest, settled=settled, mark=None if newest is None else (newest, began))
    return cursor.passed((m, t) for m, (t, _, _) in found.items())


def _left_out(message: dict, message_id, created: float | None) -> tuple[str, str]:
    """(key, why) for an incoming message that cannot be taken: its id, or for one without,
    a digest of the message, so that it is reported once however often it is read."""
    has_id = isinstance(message_id, str) and bool(message_id)
    if has_id:
        key = message_id
    else:
        text = json.dumps(message, sort_keys=True, default=str)
        key = "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    lacks = [("no id", not has_id), ("no readable createdAt", created is None)]
    return key, " and ".join(what for what, missing in lacks if missing)


# Pages of a message's interactions read at most (Bird lists them with the message's page
# size; a message rarely has more than a few).
MAX_INTERACTION_PAGES = 20


def interactions(
    client: BirdClient, channel_id: str, message_id: str, *, cancel=None
) -> list[dict]:
    """A message's interactions (clicks, opt-outs, opt-ins), every page of them. Raises
    BirdListingUnclearError for an answer without a `results` list or more pages than
    MAX_INTERACTION_PAGES: an opt-out not seen is never taken for none. Bird's page size is
    kept, so a page without a next one is the last."""
    found: list[dict] = []
    for page in client.pages(
        client.interactions_path(channel_id, message_id),
        limit=None,
        max_pages=MAX_INTERACTION_PAGES,
        full_page="end",
        cancel=cancel,
    ):
        found.extend(page)
    return found
