"""Finding messages again in Bird by their reference: what settles a send whose answer never
came. No Airflow imports.

A wrong "not sent" is a duplicate SMS, and Bird documents neither the listing's order nor
the field naming its next page (API-NOTES section 5). So the lookup trusts only what it sees:
it stops before the end of the listing only once the listing has shown itself newest first,
and anything it cannot see to the end is "cannot tell", never "not sent"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.errors import BirdListingUnclearError
from airflow_provider_sms.bird.listing import NewestFirst
from airflow_provider_sms.bird.objects import recipient_of

# Clocks differ between the worker and Bird: list back this much further than asked.
CLOCK_SLACK = 300.0
# Pages of 100 read at most per lookup (20,000 messages, about 4 s at Bird's 50 GET/s): a
# huge channel listed oldest first costs a known amount, then "cannot tell".
MAX_PAGES = 200


@dataclass
class Lookup:
    """What a lookup established: recipient -> message for those found; recipient -> reason
    for those it cannot tell about; and, when it could not see the whole window, why (then
    every recipient not found is in doubt)."""

    found: dict[str, dict] = field(default_factory=dict)
    doubtful: dict[str, str] = field(default_factory=dict)
    unclear: str | None = None
    pages: int = 0
    newest_first: bool = False  # the listing showed itself newest first, and was cut short

    def unknown(self, recipients) -> dict[str, str]:
        """Of `recipients` not found, those whose absence proves nothing: recipient -> why."""
        unknown = {r: self.doubtful[r] for r in recipients if r in self.doubtful}
        if self.unclear is not None:
            reason = f"the channel's listing cannot show whether they were sent ({self.unclear})"
            for r in recipients:
                if r not in self.found:
                    unknown.setdefault(r, reason)
        return unknown


def find_sent(
    client: BirdClient,
    channel_id: str,
    expected: Mapping[str, str],
    since: float,
    *,
    max_pages: int = MAX_PAGES,
    prefix: int | None = None,
    slack: float = CLOCK_SLACK,
) -> Lookup:
    """Bird's messages on the channel whose reference and recipient match `expected`
    (reference -> recipient; with `prefix`, the references' first `prefix` characters),
    created after `since` (a UNIX time, less `slack`).

    Reads the listing to its end, or until every expected message is found, or, once the
    timestamps have fallen page over page (newest first), until a page reaches back before
    `since`. Rejected messages do not count as sent."""
    lookup = Lookup()
    if not expected:
        return lookup
    oldest = since - slack
    # An undated message forbids an early stop: "not found" must be sure.
    walk = NewestFirst.of_channel(client, channel_id, max_pages=max_pages)
    try:
        for page, stamps in walk:
            lookup.pages += 1
            for message, created in zip(page, stamps, strict=True):
                _match(lookup, expected, message, created, oldest, prefix)
            if len(lookup.found) == len(expected):
                break
            if walk.past(oldest):
                # Seen newest first, and a whole page older than the window: the rest is
                # older still.
                lookup.newest_first = True
                break
    except BirdListingUnclearError as exc:
        lookup.unclear = exc.message
    return lookup


def _match(lookup: Lookup, expected, message, created: float | None, oldest: float, prefix):
    reference = message.get("reference")
    if prefix is not None and isinstance(reference, str):
        reference = reference[:prefix]
    recipient = expected.get(reference)
    if recipient is None or recipient_of(message) != recipient:
        return
    if created is None:
        if recipient not in lookup.found:
            lookup.doubtful[recipient] = (
                "a message of theirs with this reference has no readable createdAt, so "
                "whether this run of the task sent it cannot be told"
            )
        return
    if created < oldest:
        return  # the same reference, from before the task instance was cleared
    if message.get("status") != "rejected":
        lookup.found.setdefault(recipient, message)
        lookup.doubtful.pop(recipient, None)
