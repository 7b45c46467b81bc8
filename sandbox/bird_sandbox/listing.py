"""Listing: ``limit`` and ``pageToken`` as Bird takes them, page tokens, and
listChannelMessages with the ways it can behave where Bird's documentation is silent (the
``listing`` setting, :data:`.settings.DEFAULT_LISTING`)."""

from __future__ import annotations

import base64
from bisect import bisect_left, bisect_right
from typing import Any

from airflow_provider_sms.bird.facts import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT

from .errors import ApiError, invalid
from .messages import copy_json

# How long a list by batchId waits for that batch's items to be processed, so that a client
# listing right after the 202 sees a complete batch (processing takes milliseconds).
BATCH_SETTLE_TIMEOUT = 5.0


def check_limit(limit: Any, maximum: int = MAX_LIST_LIMIT) -> int:
    """``limit`` as a list operation takes it: an integer from 1 to ``maximum``, else 422."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise invalid({"limit": [f"must be an integer between 1 and {maximum}"]})
    return limit


# Page tokens name the position a page ends at: "the messages stored before this one". New
# messages are stored after every existing one, so a token stays valid while they arrive.
# The generation makes a token from before reset() invalid instead of wrong.


def encode_token(*parts: object) -> str:
    raw = ":".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, kind: str, size: int) -> list[int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, *numbers = raw.split(":")
        values = [int(n) for n in numbers]
        if prefix != kind or len(values) != size or any(v < 0 for v in values):
            raise ValueError
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise ApiError(400, "InvalidPageToken", "pageToken is not valid") from exc
    return values


class ListingOperations:
    """listChannelMessages, over the backend's stored messages (see :class:`.SandboxBackend`)."""

    def list_messages(
        self,
        workspace_id: str,
        channel_id: str,
        *,
        limit: int = DEFAULT_LIST_LIMIT,
        page_token: str | None = None,
        batch_id: str | None = None,
    ) -> dict:
        """listChannelMessages: the channel's messages (in their current status), newest first,
        ``limit`` a page; ``nextPageToken`` while older ones remain. ``batch_id`` keeps one
        batch's messages (waiting, up to a few seconds, for its items to be processed).
        :attr:`listing` can change the order, the token's field and the batch filter."""
        self.require(workspace_id, channel_id)
        limit = check_limit(limit)
        if batch_id:
            self.wait_idle(BATCH_SETTLE_TIMEOUT, batch_id=batch_id)
        now = self._clock()
        with self._lock:
            self._settle_locked(now)
            listing = self._settings["listing"]
            oldest_first = listing["order"] == "oldest_first"
            # A token names the last position shown; the kind keeps the two orders apart.
            kind = "messages-asc" if oldest_first else "messages"
            last = None
            if page_token:
                generation, last = decode_token(page_token, kind, 2)
                if generation != self._generation:
                    raise ApiError(400, "InvalidPageToken", "pageToken has expired")
            if batch_id and listing["batch_filter"]:
                same = self._batch_channel.get(batch_id) == channel_id
                positions = self._by_batch.get(batch_id, []) if same else []
            else:
                positions = self._by_channel.get(channel_id, [])
            if oldest_first:
                start = 0 if last is None else bisect_right(positions, last)
                chosen = positions[start : start + limit]
                more = start + limit < len(positions)
            else:
                stop = bisect_left(positions, len(self._messages) if last is None else last)
                chosen = positions[max(0, stop - limit) : stop][::-1]
                more = stop > limit
            shown = [self._view_locked(p, now) for p in chosen]
            token = None
            # Token paging may name a next page after a full last page (it is then empty),
            # or only while more follow: the listing setting says which.
            full = bool(chosen) and len(chosen) == limit
            if more or (full and listing["full_last_page_token"]):
                token = encode_token(kind, self._generation, chosen[-1])
            field = listing["page_token_field"]
        # Stored messages are never changed, so the copies can be made outside the lock.
        result: dict[str, Any] = {"results": copy_json(shown)}
        if token is not None and field is not None:
            result[field] = token
        return result
