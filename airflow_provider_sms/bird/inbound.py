"""Reading what comes back: a channel's incoming messages since a cursor, and a message's
interactions. No Airflow imports.

Bird lists inbound SMS among the channel's messages (``direction: "incoming"``); it documents
neither the listing's order nor a direction filter (API-NOTES section 5). So, as for
reconciliation, the scan trusts what it sees: it stops early only once the listing has shown
itself newest first, and a listing it cannot see to the end is "cannot tell" (raised), never
"nothing new"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from airflow_provider_sms.bird.client import NEXT_PAGE_FIELD, BirdClient
from airflow_provider_sms.bird.errors import BirdListingUnclearError
from airflow_provider_sms.bird.order import PageOrder, timestamp

# Messages may be listed a little after their createdAt, and out of order with their
# neighbours: each scan looks this many seconds behind the newest message it already had,
# and the ids seen in that window are kept so that none is taken twice.
OVERLAP = 60.0
# Pages of 100 read at most per scan: a channel listed oldest first costs a known amount.
MAX_PAGES = 200


@dataclass(frozen=True)
class Cursor:
    """Where a reader of a channel's incoming messages stands: every message created before
    ``after - OVERLAP`` is behind it, and so is every id in ``seen`` (id -> createdAt, those
    within the overlap). ``after`` None: nothing was on the channel when reading began."""

    after: float | None = None
    seen: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def since(cls, moment: float) -> Cursor:
        """A cursor behind which lies every message created before `moment` (UNIX time)."""
        return cls(float(moment) + OVERLAP)

    def passed(self, messages: Iterable[tuple[str, float]]) -> Cursor:
        """The cursor moved past `messages` ((id, createdAt) pairs)."""
        after = self.after
        seen = dict(self.seen)
        for message_id, created in messages:
            seen[message_id] = created
            after = created if after is None else max(after, created)
        if after is not None:
            seen = {m: t for m, t in seen.items() if t >= after - OVERLAP}
        return Cursor(after, seen)

    def behind(self, message_id: str, created: float) -> bool:
        """Whether a message is behind the cursor (already taken, or too old to be new)."""
        if message_id in self.seen:
            return True
        return self.after is not None and created < self.after - OVERLAP

    def to_json(self) -> dict:
        return {"after": self.after, "seen": dict(self.seen)}

    @classmethod
    def from_json(cls, value) -> Cursor | None:
        """A stored cursor; None for anything else (a value that is not one is not trusted:
        the caller starts afresh and says so)."""
        if not isinstance(value, dict):
            return None
        after, seen = value.get("after"), value.get("seen")
        if not (after is None or isinstance(after, int | float)) or not isinstance(seen, dict):
            return None
        if not all(isinstance(t, int | float) for t in seen.values()):
            return None
        return cls(
            None if after is None else float(after), {str(k): float(t) for k, t in seen.items()}
        )


@dataclass
class Scan:
    """What one scan found: incoming messages not behind the cursor, oldest first (each
    Bird's message object), with ``positions`` beside them ((id, createdAt) of each, what a
    cursor moves past); the pages read; for a scan that started a cursor, where it stands;
    and how many incoming messages had no readable createdAt (left out)."""

    messages: list[dict] = field(default_factory=list)
    positions: list[tuple[str, float]] = field(default_factory=list)
    pages: int = 0
    cursor: Cursor | None = None
    undated: int = 0


def scan_incoming(
    client: BirdClient,
    channel_id: str,
    cursor: Cursor | None,
    *,
    max_pages: int = MAX_PAGES,
    cancel=None,
) -> Scan:
    """The channel's incoming messages that are not behind `cursor`, oldest first.

    With `cursor` None, starts one at the present instead: nothing is returned, and
    ``scan.cursor`` stands after every message listed now.

    Reads until the listing has shown itself newest first and a whole page is older than
    the cursor's window, or to the end. Raises BirdListingUnclearError when it cannot see
    that far (see ``BirdClient.list_pages``)."""
    result = Scan()
    order = PageOrder()
    found: list[tuple[float, int, str, dict]] = []  # (createdAt, place in the listing, id, m)
    for page in client.list_pages(channel_id, max_pages=max_pages, cancel=cancel):
        result.pages += 1
        stamps = []
        for message in page:
            created = timestamp(message.get("createdAt"))
            stamps.append(created)
            incoming = message.get("direction") == "incoming"
            message_id = message.get("id")
            if created is None:
                result.undated += incoming
            elif incoming and isinstance(message_id, str):
                found.append((created, len(found), message_id, message))
        order.see(stamps)
        if cursor is None:
            floor = None if order.newest is None else order.newest - OVERLAP
        else:
            floor = None if cursor.after is None else cursor.after - OVERLAP
        if order.older_than(floor):
            break  # seen newest first, and a whole page older than the window
    # Messages of the same millisecond keep the listing's order: read backwards unless the
    # listing showed itself oldest first.
    rising = order.oldest_first
    found.sort(key=lambda item: (item[0], item[1] if rising else -item[1]))
    if cursor is None:
        result.cursor = Cursor(order.newest).passed((m, t) for t, _, m, _ in found)
        return result
    for created, _, message_id, message in found:
        if not cursor.behind(message_id, created):
            result.messages.append(message)
            result.positions.append((message_id, created))
    return result


# Pages of a message's interactions read at most (Bird lists them with the message's page
# size; a message rarely has more than a few).
MAX_INTERACTION_PAGES = 20


def interactions(
    client: BirdClient, channel_id: str, message_id: str, *, cancel=None
) -> list[dict]:
    """A message's interactions (clicks, opt-outs, opt-ins), every page of them. Raises
    BirdListingUnclearError for an answer without a `results` list or more pages than
    MAX_INTERACTION_PAGES: an opt-out not seen is never taken for none."""
    found: list[dict] = []
    token = None
    for _ in range(MAX_INTERACTION_PAGES):
        answer = client.list_interactions(channel_id, message_id, page_token=token, cancel=cancel)
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or not all(isinstance(i, dict) for i in results):
            raise BirdListingUnclearError(
                "an interactions answer held no `results` list", method="GET", path=message_id
            )
        found.extend(results)
        token = answer.get(NEXT_PAGE_FIELD)
        if not isinstance(token, str) or not token:
            return found
    raise BirdListingUnclearError(
        f"more than {MAX_INTERACTION_PAGES} pages of interactions", method="GET", path=message_id
    )


def inbound_message(message: dict) -> dict | None:
    """Bird's inbound message as events and XComs carry it: ``message_id``, ``from`` (the
    sender's number, ``sender.contact.identifierValue``), ``text`` (empty for a message
    without text), ``received_at`` (Bird's ``createdAt``) and ``channel_id``; None for a
    message that is not incoming."""
    if not isinstance(message, dict) or message.get("direction") != "incoming":
        return None
    sender = message.get("sender")
    contact = sender.get("contact") if isinstance(sender, dict) else None
    number = contact.get("identifierValue") if isinstance(contact, dict) else None
    body = message.get("body")
    text = None
    if isinstance(body, dict) and isinstance(body.get("text"), dict):
        text = body["text"].get("text")
    return {
        "message_id": message.get("id"),
        "from": number if isinstance(number, str) else None,
        "text": text if isinstance(text, str) else "",
        "received_at": message.get("createdAt"),
        "channel_id": message.get("channelId"),
    }
