"""Where sent messages stand: Bird's status of each, tallied, read by listing batches or by
getting messages one by one. No Airflow imports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from airflow_provider_sms._redact import mask_phone, redact_numbers
from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.fanout import recipient_of

DEFAULT_SUCCESS = ("delivered",)
DEFAULT_FAILURE = ("delivery_failed", "sending_failed", "rejected")
# How many failures a summary lists by name.
LISTED_FAILURES = 20


@dataclass
class Tally:
    """The last status seen of each message, and which of them are final."""

    success: frozenset[str]
    failure: frozenset[str]
    latest: dict[str, dict] = field(default_factory=dict)

    def take(self, message: dict) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("id"), str):
            return
        failure = message.get("failure") or {}
        reason = message.get("reason") or failure.get("description")
        self.latest[message["id"]] = {
            "status": message.get("status"),
            "recipient": recipient_of(message),
            "reason": redact_numbers(str(reason)) if reason else None,
            "code": failure.get("code"),
        }

    def pending(self, expected: Iterable[str] = ()) -> list[str]:
        """Messages not yet in a final status (`expected` ones not seen yet included)."""
        final = self.success | self.failure
        unseen = [m for m in expected if m not in self.latest]
        return unseen + [m for m, seen in self.latest.items() if seen["status"] not in final]

    def outcome(self, message_ids: Sequence[str], batch_ids: Sequence[str]) -> dict | None:
        """``{"status": "success" | "failure", **summary}`` once every message is final
        (a batch counts once its messages are listed); None while some are not."""
        if self.pending(message_ids) or not (self.latest or not (message_ids or batch_ids)):
            return None
        summary = self.summary(message_ids)
        return {"status": "failure" if summary["failed"] else "success", **summary}

    def summary(self, expected: Iterable[str] = ()) -> dict:
        """Small whatever the number of messages: counts by status, the first failures."""
        counts = Counter(seen["status"] for seen in self.latest.values())
        unseen = sum(1 for m in expected if m not in self.latest)
        if unseen:
            counts["not listed yet"] += unseen
        failed = [
            {
                "message_id": message_id,
                "recipient": mask_phone(seen["recipient"] or ""),
                "status": seen["status"],
                "reason": seen["reason"],
                "code": seen["code"],
            }
            for message_id, seen in self.latest.items()
            if seen["status"] in self.failure
        ]
        final = self.success | self.failure
        return {
            "total": len(self.latest) + unseen,
            "counts": dict(sorted(counts.items())),
            "failed": len(failed),
            "failures": failed[:LISTED_FAILURES],
            "pending": {s: n for s, n in sorted(counts.items()) if s not in final},
        }


def poll(
    client: BirdClient,
    channel_id: str,
    tally: Tally,
    *,
    message_ids: Iterable[str] = (),
    batch_ids: Iterable[str] = (),
) -> None:
    """Read the current status of every batch's messages (by listing it) and of each message
    id still pending, into `tally`."""
    for batch_id in batch_ids:
        for message in client.iter_messages(channel_id, batchId=batch_id):
            tally.take(message)
    ids = list(message_ids)
    wanted = set(ids)
    for message_id in tally.pending(ids):
        if message_id in wanted:  # a batch's messages were listed above
            tally.take(client.get_message(channel_id, message_id))
