"""Finding messages again in Bird by their reference: what settles a send whose answer never
came. No Airflow imports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.fanout import recipient_of

# Clocks differ between the worker and Bird: list back this much further than asked.
CLOCK_SLACK = 300.0


def find_sent(
    client: BirdClient, channel_id: str, expected: Mapping[str, str], since: float
) -> dict[str, dict]:
    """Bird's messages on the channel whose reference and recipient match `expected`
    (reference -> recipient), created after `since` (a UNIX time): recipient -> message.

    Bird lists a channel's messages newest first, so the listing stops at the first message
    older than `since` (less the clock slack), or once every expected message is found.
    Rejected messages do not count as sent."""
    found: dict[str, dict] = {}
    if not expected:
        return found
    oldest = since - CLOCK_SLACK
    for message in client.iter_messages(channel_id):
        created = _timestamp(message.get("createdAt"))
        if created is not None and created < oldest:
            break
        recipient = expected.get(message.get("reference"))
        if recipient is not None and recipient_of(message) == recipient:
            if message.get("status") != "rejected":
                found.setdefault(recipient, message)
            if len(found) == len(expected):
                break
    return found


def _timestamp(value) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
