"""Where sent messages stand: Bird's status of each, tallied, read by listing batches or by
getting messages one by one. No Airflow imports."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.errors import BirdNotFoundError
from airflow_provider_sms.bird.facts import MESSAGE_STATUSES, NEVER_DELIVERED_STATUSES
from airflow_provider_sms.bird.objects import message_status
from airflow_provider_sms.redaction import mask_phone, redact_numbers

# The provider's own names, beside Bird's: a message Bird answered 404 for, a recipient the
# send never sent to, a message whose answer had no (or no readable) status.
NOT_FOUND = "not_found"
NOT_SENT = "not_sent"
NO_STATUS = "(no status)"
# A batch id whose listing stayed empty for the whole grace time.
BATCH_UNLISTED = "batch_lists_no_message"
# How many failures a summary lists by name.
LISTED_FAILURES = 20


def status_name(value: object) -> str:
    """Bird's status as the tally counts it: lower case; a missing, empty or non-string
    status gets a name of its own (never None, so that counts always sort)."""
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    if value is None or isinstance(value, str):
        return NO_STATUS
    return f"(not a string: {type(value).__name__})"


@dataclass
class Tally:
    """The last status seen of each message, and which of them are final.

    Statuses compare case-insensitively. Bird's `skipped` and `deleted` are failures unless
    listed as successes; a message Bird does not know (404) is a failure; a status Bird's
    enum does not have stays pending, and :meth:`newly_unknown` names it once."""

    success: frozenset[str]
    failure: frozenset[str]
    latest: dict[str, dict] = field(default_factory=dict)
    # Unknown statuses already named by newly_unknown (shareable between tallies).
    reported: set[str] = field(default_factory=set)
    # Batch id -> how many messages its last listing held.
    listed: dict[str, int] = field(default_factory=dict)
    # Batches given up on: their listing stayed empty for the grace time.
    unlisted: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.success = frozenset(status_name(s) for s in self.success)
        failure = {status_name(s) for s in self.failure} | {NOT_FOUND}
        self.failure = frozenset(failure | (NEVER_DELIVERED_STATUSES - self.success))

    @property
    def final(self) -> frozenset[str]:
        return self.success | self.failure

    def take(self, message: dict) -> None:
        read = message_status(message)
        if read is None:
            return
        self.latest[read.message_id] = {
            "status": status_name(read.status),
            "recipient": read.recipient,
            "reason": redact_numbers(str(read.reason)) if read.reason else None,
            "code": read.code,
        }
        if read.carrier_cap:
            self.latest[read.message_id]["carrier_cap"] = read.carrier_cap
        if read.due:
            self.latest[read.message_id]["due"] = read.due

    def to_read(
        self, message_ids: Sequence[str], batch_ids: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        """What the next look at Bird needs: the message ids still pending, and the batches
        not given up on (a batch is listed whole each time)."""
        wanted = set(message_ids)
        pending = [m for m in self.pending(message_ids) if m in wanted]
        return pending, [b for b in batch_ids if b not in self.unlisted]

    def absorb(self, reading: Reading) -> None:
        """Take what one look at Bird read."""
        for message in reading.messages:
            self.take(message)
        for message_id, error in reading.not_found.items():
            self.not_found(message_id, error)
        self.listed.update(reading.listed)

    def not_found(self, message_id: str, error: object) -> None:
        """Bird answered 404 for this message: its outcome, not everyone's."""
        self.latest[message_id] = {
            "status": NOT_FOUND,
            "recipient": None,
            "reason": redact_numbers(str(error)),
            "code": None,
        }

    def unknown(self) -> dict[str, int]:
        """Statuses seen that are neither Bird's nor final, with how many messages have each."""
        counts = Counter(seen["status"] for seen in self.latest.values())
        final = self.final
        return {s: n for s, n in sorted(counts.items()) if s not in MESSAGE_STATUSES | final}

    def newly_unknown(self) -> dict[str, int]:
        """:meth:`unknown` statuses not named before (each is named once)."""
        new = {s: n for s, n in self.unknown().items() if s not in self.reported}
        self.reported.update(new)
        return new

    def empty_batches(self, batch_ids: Iterable[str]) -> list[str]:
        """Batches whose listing has held no message so far (those given up on excluded)."""
        return [b for b in batch_ids if not self.listed.get(b) and b not in self.unlisted]

    def give_up(self, batch_ids: Iterable[str]) -> None:
        """These batches listed nothing for long enough: they end the wait as failures."""
        self.unlisted.extend(b for b in batch_ids if b not in self.unlisted)

    def pending(self, expected: Iterable[str] = ()) -> list[str]:
        """Messages not yet in a final status (`expected` ones not seen yet included)."""
        final = self.final
        unseen = [m for m in expected if m not in self.latest]
        return unseen + [m for m, seen in self.latest.items() if seen["status"] not in final]

    def outcome(self, message_ids: Sequence[str], batch_ids: Sequence[str]) -> dict | None:
        """``{"status": "success" | "failure", **summary}`` once every message is final and
        every batch has listed its messages (or was given up on); None while not.

        Nothing to follow is a failure, never a success."""
        if self.pending(message_ids) or self.empty_batches(batch_ids):
            return None
        summary = self.summary(message_ids, batch_ids)
        failed = summary["failed"] or not summary["total"]
        return {"status": "failure" if failed else "success", **summary}

    def summary(self, expected: Iterable[str] = (), batch_ids: Iterable[str] = ()) -> dict:
        """Small whatever the number of messages: counts by status, the first failures."""
        counts = Counter(seen["status"] for seen in self.latest.values())
        unseen = sum(1 for m in expected if m not in self.latest)
        if unseen:
            counts["not listed yet"] += unseen
        empty = self.empty_batches(batch_ids)
        if empty:
            counts["batch not listed yet"] += len(empty)
        if self.unlisted:
            counts[BATCH_UNLISTED] += len(self.unlisted)
        failed = [
            {
                "batch_id": batch_id,
                "recipient": "",
                "status": BATCH_UNLISTED,
                "reason": "Bird listed no message of this batch: an unknown batch id, or "
                "one of another channel",
                "code": None,
            }
            for batch_id in self.unlisted
        ]
        failed += [
            {
                "message_id": message_id,
                "recipient": mask_phone(seen["recipient"] or ""),
                "status": seen["status"],
                "reason": seen["reason"],
                "code": seen["code"],
                **({"carrier_cap": seen["carrier_cap"]} if "carrier_cap" in seen else {}),
            }
            for message_id, seen in self.latest.items()
            if seen["status"] in self.failure
        ]
        caps = Counter(f["carrier_cap"] for f in failed if "carrier_cap" in f)
        final = self.final | {BATCH_UNLISTED}
        summary = {
            "total": len(self.latest) + unseen,
            "counts": dict(sorted(counts.items())),
            "failed": len(failed),
            "failures": failed[:LISTED_FAILURES],
            "pending": {s: n for s, n in sorted(counts.items()) if s not in final},
        }
        if caps:
            # Failures on US carriers' caps, by code: each is charged, and worth naming.
            summary["carrier_caps"] = dict(sorted(caps.items()))
        if empty:
            summary["empty_batches"] = empty[:LISTED_FAILURES]
        due = sorted(
            seen["due"]
            for seen in self.latest.values()
            if seen["status"] == "scheduled" and seen.get("due")
        )
        if due:
            # Still held by Bird until their scheduledFor: when the first and last are due.
            summary["scheduled"] = {"count": len(due), "first_due": due[0], "last_due": due[-1]}
        return summary


@dataclass
class Reading:
    """One look at Bird: the messages read (each with its status), the message ids Bird
    answered 404 for (with the error), and how many messages each batch listed."""

    messages: list[dict] = field(default_factory=list)
    not_found: dict[str, str] = field(default_factory=dict)
    listed: dict[str, int] = field(default_factory=dict)


def poll(
    client: BirdClient,
    channel_id: str,
    *,
    message_ids: Iterable[str] = (),
    batch_ids: Iterable[str] = (),
    cancel: threading.Event | None = None,
) -> Reading:
    """Read the current status of every batch's messages (by listing it) and of each message
    id. A message Bird does not know (404) is read as such; other errors are raised (`cancel`
    ends the client's waits between retries)."""
    reading = Reading()
    for batch_id in batch_ids:
        count = 0
        # Leniently: to a status wait a batch not listed yet is pending, while an unclear
        # listing (not retryable) would end the wait.
        for page in client.pages(
            client.messages_path(channel_id),
            filters={"batchId": batch_id},
            full_page="end",
            results="empty",
            cancel=cancel,
        ):
            reading.messages.extend(page)
            count += len(page)
        reading.listed[batch_id] = count
    for message_id in message_ids:
        try:
            reading.messages.append(client.get_message(channel_id, message_id, cancel=cancel))
        except BirdNotFoundError as exc:
            reading.not_found[message_id] = str(exc)
    return reading
