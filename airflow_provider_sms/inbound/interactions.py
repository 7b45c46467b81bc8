"""What recipients did with the messages a send returned: clicks, opt-outs (STOP or an
opt-out link) and opt-ins (START), read from Bird's interactions of each message, summed up
compactly for an XCom: a suppression list and a click report."""

from __future__ import annotations

import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_provider_sms.bird.errors import (
    BirdMessagesUnseenError,
    BirdNotFoundError,
)
from airflow_provider_sms.bird.listing import timestamp
from airflow_provider_sms.bird.objects import recipient_of
from airflow_provider_sms.hooks.bird import BirdHook

OPTED_OUT = "unsubscribe-request"
OPTED_IN = "subscribe-consent"
CLICKED = "clicked"
# Clicks listed one by one in the summary; beyond, only counted.
LISTED_CLICKS = 1000
# Messages whose interactions are read at once (the client keeps to Bird's 50 GET/s).
READERS = 8
# Message ids a failed report names for each reason; beyond, only counted.
NAMED_MESSAGES = 5
NOT_FOUND = "not found there (another channel's, or no longer kept by Bird)"
NO_NUMBER = "holding an opt-out or opt-in that names no number"


def _read(
    hook: BirdHook,
    channel_id: str,
    message_id: str,
    recipient: str | None,
    cancel: threading.Event | None,
) -> tuple[list[dict], str | None, str | None]:
    """A message's interactions read on the channel, the message's own receiver when it had
    to be read, and why the message cannot be seen there (None when it can)."""
    try:
        found = hook.message_interactions(channel_id, message_id, cancel=cancel)
    except BirdNotFoundError:
        return [], None, NOT_FOUND
    for interaction in found:
        if (interaction.get("messageId") or message_id) != message_id:
            return found, None, "answered with another message's interactions"
        channel = interaction.get("channelId") or channel_id
        if channel != channel_id:
            return found, None, _elsewhere(channel)
    named = recipient is not None or all(
        recipient_of(i) for i in found if i.get("type") in (OPTED_OUT, OPTED_IN)
    )
    if named and any(
        i.get("channelId") == channel_id and i.get("messageId") == message_id for i in found
    ):
        return found, None, None
    # Whether Bird answers an empty list for another channel's message, not a 404, is not
    # documented (API-NOTES section 5): the message itself tells, and names its receiver.
    try:
        message = hook.get_message(channel_id, message_id, cancel=cancel)
    except BirdNotFoundError:
        return found, None, NOT_FOUND
    channel = message.get("channelId")
    if message.get("id") != message_id:
        return found, None, "answered as another message"
    if channel != channel_id:
        return found, None, _elsewhere(channel)
    owner = recipient_of(message)
    return found, owner, None if named or owner else NO_NUMBER


def _elsewhere(channel: Any) -> str:
    """Why a message Bird shows as `channel`'s (its answer's ``channelId``) is not seen."""
    return f"sent on channel {channel!s:.60}" if channel else "naming no channel"


def _unseen_error(
    channel_id: str, total: int, unseen: dict[str, list[str]]
) -> BirdMessagesUnseenError:
    count = sum(len(ids) for ids in unseen.values())
    reasons = []
    for reason, ids in unseen.items():
        named = ", ".join(ids[:NAMED_MESSAGES]) + (", ..." if len(ids) > NAMED_MESSAGES else "")
        reasons.append(f"{len(ids)} {reason}: {named}")
    return BirdMessagesUnseenError(
        f"{count} of {total} message(s) cannot be read on channel {channel_id}: "
        f"{'; '.join(reasons)}. What recipients did with them (an opt-out) cannot be told, "
        "and an opt-out never seen is never taken for none: read the messages on the channel "
        "they were sent on (channel_id)"
    )


def _opt_rank(kind: str, at: float | None) -> tuple[float, bool]:
    """How an opt interaction ranks against the others of its number, the latest winning:
    an undated opt-out outranks every opt-in, an undated opt-in none, and at one instant the
    opt-out wins."""
    if at is None:
        at = math.inf if kind == OPTED_OUT else -math.inf
    return (at, kind == OPTED_OUT)


def summarize(
    hook: BirdHook,
    channel_id: str,
    messages: list[tuple[str, str | None]],
    *,
    log: logging.Logger,
    cancel: threading.Event | None = None,
) -> dict:
    """Read every message's interactions and sum them up:

    ``{"messages", "not_found" (0), "counts": {type: n}, "opted_out": [numbers],
    "opted_in": [numbers], "clicked": n recipients, "clicks": [{"recipient", "message_id",
    "url", "clicked_at"}] (the first LISTED_CLICKS, oldest first), "clicks_omitted"}``.

    A number counts as opted out when its latest opt interaction is an opt-out, in by an
    opt-in; an undated opt-out, or one at the same instant as an opt-in, counts as the
    latest. Raises BirdMessagesUnseenError when a message cannot be read on the channel (not
    found there, another channel's, or an opt-out on it naming no number), and any other
    error, or a listing that cannot be read whole, raises too: an opt-out never seen is never
    taken for none."""

    def read(item: tuple[str, str | None]):
        return _read(hook, channel_id, item[0], item[1], cancel)

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        answers = list(pool.map(read, messages))
    unseen: dict[str, list[str]] = {}
    for (message_id, _), (_, _, problem) in zip(messages, answers, strict=True):
        if problem is not None:
            unseen.setdefault(problem, []).append(message_id)
    if unseen:
        raise _unseen_error(channel_id, len(messages), unseen)
    counts: dict[str, int] = {}
    opts: dict[str, tuple[float, bool]] = {}  # number -> rank of its latest (see _opt_rank)
    undated = 0
    timed_clicks: list[tuple[float, dict]] = []
    for (message_id, recipient), (interactions, owner, _) in zip(messages, answers, strict=True):
        for interaction in interactions:
            kind = interaction.get("type")
            if not isinstance(kind, str):
                continue
            counts[kind] = counts.get(kind, 0) + 1
            # The send's entry names the recipient; the interaction its receiver; else the
            # message its own. An opt names each number it names.
            named = {recipient, recipient_of(interaction)} - {None} or {owner}
            at = timestamp(interaction.get("createdAt"))
            if kind in (OPTED_OUT, OPTED_IN):
                undated += at is None
                rank = _opt_rank(kind, at)
                for number in named:
                    opts[number] = max(opts.get(number, rank), rank)
            elif kind == CLICKED:
                details = interaction.get("details")
                url = details.get("url") if isinstance(details, dict) else None
                who = recipient or recipient_of(interaction) or owner
                click = {"recipient": who, "message_id": message_id, "url": url}
                clicked_at = interaction.get("createdAt")
                timed_clicks.append((at or 0.0, {**click, "clicked_at": clicked_at}))
    clicks = [click for _, click in sorted(timed_clicks, key=lambda c: c[0])]
    result = {
        "messages": len(messages),
        "not_found": 0,
        "counts": counts,
        "opted_out": sorted(n for n, (_, out) in opts.items() if out),
        "opted_in": sorted(n for n, (_, out) in opts.items() if not out),
        "clicked": len({c["recipient"] for c in clicks if c["recipient"]}),
        "clicks": clicks[:LISTED_CLICKS],
        "clicks_omitted": max(0, len(clicks) - LISTED_CLICKS),
    }
    log.info(
        "Interactions of %d message(s): %s; %d opted out, %d opted in, %d clicked",
        len(messages),
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none",
        len(result["opted_out"]),
        len(result["opted_in"]),
        result["clicked"],
    )
    if undated:
        log.warning(
            "%d opt-out or opt-in interaction(s) had no readable time: an undated opt-out "
            "counts as the latest, an undated opt-in as the oldest",
            undated,
        )
    return result
