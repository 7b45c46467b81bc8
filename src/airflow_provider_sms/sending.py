"""Fan one message out to many recipients through a Bird client; no Airflow imports.

Every recipient is attempted (unless an error shows that no send can succeed, such as a
wrong access key); the report says which were accepted and which failed and why."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.errors import (
    BirdAuthenticationError,
    BirdConflictError,
    BirdError,
    BirdNotFoundError,
)

# Errors that will repeat for every other recipient: stop submitting new sends.
_ABORTING = (BirdAuthenticationError, BirdNotFoundError, BirdConflictError)


@dataclass
class Failure:
    recipient: str
    error: BirdError


@dataclass
class SendReport:
    accepted: list[dict] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    aborted_by: BirdError | None = None
    not_attempted: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures and self.aborted_by is None


def send_each(
    client: BirdClient,
    channel_id: str,
    recipients: Iterable[str],
    build: Callable[[str], dict],
    *,
    max_concurrency: int,
    on_accepted: Callable[[str, dict], None] | None = None,
) -> SendReport:
    """One request per recipient, `max_concurrency` at a time, through the shared session."""
    report = SendReport()
    stop = threading.Event()
    remaining = list(recipients)

    def send(message: dict) -> dict:
        return client.send_message(message, channel_id)

    items = ((recipient, build(recipient)) for recipient in remaining)
    results = client.map_concurrently(send, items, max_concurrency=max_concurrency, stop=stop)
    done = 0
    for recipient, answer, error in results:
        done += 1
        if error is None:
            entry = {
                "recipient": recipient,
                "message_id": answer.get("id"),
                "status": answer.get("status"),
            }
            report.accepted.append(entry)
            if on_accepted:
                on_accepted(recipient, entry)
        else:
            report.failures.append(Failure(recipient, error))
            if isinstance(error, _ABORTING) and report.aborted_by is None:
                report.aborted_by = error
                stop.set()
    report.not_attempted = len(remaining) - done
    return report
