"""What recipients did with the messages a send returned: clicks, opt-outs (STOP or an
opt-out link) and opt-ins (START), read from Bird's interactions of each message, summed up
compactly for an XCom: a suppression list and a click report."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_provider_sms.bird.errors import BirdNotFoundError, InvalidMessageError
from airflow_provider_sms.bird.fanout import recipient_of
from airflow_provider_sms.bird.ids import checked_uuid
from airflow_provider_sms.bird.order import timestamp
from airflow_provider_sms.delivery.outcome import UNSENT_STATUSES
from airflow_provider_sms.hooks.bird import BirdHook

OPTED_OUT = "unsubscribe-request"
OPTED_IN = "subscribe-consent"
CLICKED = "clicked"
# Clicks listed one by one in the summary; beyond, only counted.
LISTED_CLICKS = 1000
# Messages whose interactions are read at once (the client keeps to Bird's 50 GET/s).
READERS = 8


def sent_messages(value: Any) -> list[tuple[str, str | None]]:
    """(message id, recipient) for each message a send returned (its per-recipient entries),
    or for message ids given as such; entries never sent are left out."""
    field = "messages"
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, dict):
        raise InvalidMessageError(
            field,
            "a send summary (more recipients than its xcom_entries_limit) names no message; "
            "raise the send's xcom_entries_limit to get each message id",
        )
    if not isinstance(value, list | tuple) or not value:
        raise InvalidMessageError(
            field, f"expected a send task's result or message ids, got {value!r:.80}"
        )
    found: dict[str, str | None] = {}
    for index, item in enumerate(value):
        if isinstance(item, str):
            found.setdefault(checked_uuid(item, f"{field}[{index}]"), None)
        elif isinstance(item, dict) and item.get("message_id"):
            message_id = checked_uuid(item["message_id"], f"{field}[{index}].message_id")
            found[message_id] = item.get("recipient")
        elif isinstance(item, dict) and item.get("status") in UNSENT_STATUSES:
            continue
        else:
            raise InvalidMessageError(
                f"{field}[{index}]", f"not a message id nor a send entry: {item!r:.80}"
            )
    return list(found.items())


def summarize(
    hook: BirdHook,
    channel_id: str,
    messages: list[tuple[str, str | None]],
    *,
    log: logging.Logger,
    cancel: threading.Event | None = None,
) -> dict:
    """Read every message's interactions and sum them up:

    ``{"messages", "not_found", "counts": {type: n}, "opted_out": [numbers],
    "opted_in": [numbers], "clicked": n recipients, "clicks": [{"recipient", "message_id",
    "url", "clicked_at"}] (the first LISTED_CLICKS, oldest first), "clicks_omitted"}``.

    A number counts as opted out when its latest opt interaction is an opt-out, in by an
    opt-in. A message Bird does not know is counted in ``not_found``; any other error, or a
    listing that cannot be read whole, raises: an opt-out never seen is never taken for
    none."""

    def read(item: tuple[str, str | None]):
        message_id, _ = item
        try:
            return hook.message_interactions(channel_id, message_id, cancel=cancel)
        except BirdNotFoundError:
            return None

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        answers = list(pool.map(read, messages))
    counts: dict[str, int] = {}
    opts: dict[str, tuple[float, str]] = {}  # recipient -> (time, latest opt type)
    timed_clicks: list[tuple[float, dict]] = []
    not_found = 0
    for (message_id, recipient), interactions in zip(messages, answers, strict=True):
        if interactions is None:
            not_found += 1
            continue
        for interaction in interactions:
            kind = interaction.get("type")
            if not isinstance(kind, str):
                continue
            counts[kind] = counts.get(kind, 0) + 1
            # The send's entry names the recipient; else the interaction's receiver.
            who = recipient or recipient_of(interaction)
            at = timestamp(interaction.get("createdAt")) or 0.0  # unreadable: the oldest
            if kind in (OPTED_OUT, OPTED_IN) and who and at >= opts.get(who, (-1.0, ""))[0]:
                opts[who] = (at, kind)
            elif kind == CLICKED:
                details = interaction.get("details")
                url = details.get("url") if isinstance(details, dict) else None
                click = {"recipient": who, "message_id": message_id, "url": url}
                timed_clicks.append((at, {**click, "clicked_at": interaction.get("createdAt")}))
    clicks = [click for _, click in sorted(timed_clicks, key=lambda c: c[0])]
    result = {
        "messages": len(messages),
        "not_found": not_found,
        "counts": counts,
        "opted_out": sorted(n for n, (_, kind) in opts.items() if kind == OPTED_OUT),
        "opted_in": sorted(n for n, (_, kind) in opts.items() if kind == OPTED_IN),
        "clicked": len({c["recipient"] for c in clicks if c["recipient"]}),
        "clicks": clicks[:LISTED_CLICKS],
        "clicks_omitted": max(0, len(clicks) - LISTED_CLICKS),
    }
    log.info(
        "Interactions of %d message(s): %s; %d opted out, %d opted in, %d clicked%s",
        len(messages),
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none",
        len(result["opted_out"]),
        len(result["opted_in"]),
        result["clicked"],
        f"; {not_found} message(s) Bird does not know" if not_found else "",
    )
    return result
