"""Fan one message out to many recipients through a Bird client; no Airflow imports.

Every recipient is attempted unless an error shows that no send can succeed (a wrong access
key, an unknown channel, or Bird failing request after request); the report says which
recipients were accepted and which failed and why.

Requests run on worker threads; the calling thread receives the accepted recipients in groups
(`on_accepted`), so a slow durable record of them (Airflow's task state store is only usable
from the task's own thread) never stalls the sending."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.errors import (
    BirdAmbiguousError,
    BirdAuthenticationError,
    BirdConflictError,
    BirdError,
    BirdNotFoundError,
    BirdUnavailableError,
    BirdValidationError,
)
from airflow_provider_sms.bird.facts import MAX_BATCH_SIZE

# Errors that will repeat for every other recipient: stop submitting new sends.
_ABORTING = (BirdAuthenticationError, BirdNotFoundError, BirdConflictError)
_DONE = object()


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
    batch_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.aborted_by is None and not self.not_attempted


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fan_out(
    client: BirdClient,
    channel_id: str,
    recipients: Sequence[str],
    build: Callable[[str], dict],
    *,
    max_concurrency: int,
    use_batch_api: bool = False,
    batch_size: int = MAX_BATCH_SIZE,
    on_accepted: Callable[[list[dict]], None] | None = None,
    flush_interval: float = 0.1,
    breaker_threshold: int | None = None,
) -> SendReport:
    """Send `build(recipient)` to each recipient: one request each, or batches of up to
    `batch_size` through Bird's batch endpoint.

    :param on_accepted: called on this thread with the newly accepted entries, at most every
        `flush_interval` seconds and once more at the end.
    :param breaker_threshold: consecutive failed requests (after the client's own retries)
        after which the rest are not attempted; default twice `max_concurrency`, at least 10.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size: must be 1 to {MAX_BATCH_SIZE}, got {batch_size}")
    threshold = breaker_threshold or max(10, 2 * max_concurrency)
    report = SendReport()
    stop = threading.Event()
    results: queue.SimpleQueue = queue.SimpleQueue()

    def produce() -> None:
        try:
            if use_batch_api:
                items = (
                    (tuple(chunk), [build(r) for r in chunk])
                    for chunk in _chunks(recipients, batch_size)
                )

                def call(messages: list[dict]) -> dict:
                    return client.send_batch(channel_id, messages, cancel=stop)
            else:
                items = ((recipient, build(recipient)) for recipient in recipients)

                def call(message: dict) -> dict:
                    return client.send_message(channel_id, message, cancel=stop)

            for outcome in client.map_concurrently(
                call, items, max_concurrency=max_concurrency, stop=stop
            ):
                if isinstance(outcome[2], _ABORTING):
                    stop.set()  # here, not on the consuming thread: submit nothing more
                results.put(outcome)
        except BaseException as exc:  # surfaced on the calling thread
            results.put(exc)
        finally:
            results.put(_DONE)

    producer = threading.Thread(target=produce, name="bird-sender", daemon=True)
    producer.start()
    collector = _Collector(report, use_batch_api, threshold, stop, on_accepted)
    finished = False
    try:
        while not finished:
            try:
                outcome = results.get(timeout=flush_interval)
            except queue.Empty:
                outcome = None
            while outcome is not None:
                finished = collector.take(outcome) or finished
                outcome = _next_or_none(results)
            collector.flush(finished or time.monotonic() - collector.flushed_at >= flush_interval)
    finally:
        # Also when this thread is interrupted (a task timeout, a failed record): every send
        # that Bird accepted must still reach `on_accepted`, or a retry would repeat it.
        stop.set()
        producer.join()
        while (outcome := _next_or_none(results)) is not None:
            if outcome is not _DONE and not isinstance(outcome, BaseException):
                collector.take(outcome)
        collector.flush(True)
    report.not_attempted = len(recipients) - collector.attempted
    return report


def _next_or_none(results: queue.SimpleQueue):
    try:
        return results.get_nowait()
    except queue.Empty:
        return None


class _Collector:
    """Folds request outcomes into the report, on the calling thread."""

    def __init__(self, report, batch, threshold, stop, on_accepted):
        self.report = report
        self.batch = batch
        self.threshold = threshold
        self.stop = stop
        self.on_accepted = on_accepted
        self.unrecorded: list[dict] = []
        self.attempted = 0
        self.consecutive_failures = 0
        self.flushed_at = time.monotonic()

    def take(self, outcome) -> bool:
        """Record one outcome; True when the producer is done."""
        if outcome is _DONE:
            return True
        if isinstance(outcome, BaseException):
            raise outcome
        key, answer, error = outcome
        keys = key if self.batch else (key,)
        self.attempted += len(keys)
        report = self.report
        if error is None:
            self.consecutive_failures = 0
            entries = _accepted_entries(keys, answer, self.batch)
            if self.batch and answer.get("batchId"):
                report.batch_ids.append(answer["batchId"])
            report.accepted.extend(entries)
            self.unrecorded.extend(entries)
            return False
        report.failures.extend(Failure(r, error) for r in keys)
        if isinstance(error, _ABORTING):
            report.aborted_by = report.aborted_by or error
            return False
        if not (error.retryable or isinstance(error, BirdAmbiguousError)):
            return False  # a problem with this message, not with Bird
        self.consecutive_failures += 1
        if report.aborted_by is None and self.consecutive_failures >= self.threshold:
            report.aborted_by = BirdUnavailableError(
                f"Bird failed {self.consecutive_failures} requests in a row; the last: {error}"
            )
            self.stop.set()
        return False

    def flush(self, due: bool) -> None:
        if self.unrecorded and self.on_accepted and due:
            # Cleared only once recorded: a failed record is tried again at the end.
            self.on_accepted(self.unrecorded)
            self.unrecorded = []
            self.flushed_at = time.monotonic()


def _accepted_entries(keys: Sequence[str], answer: dict, batch: bool) -> list[dict]:
    if batch:
        # Bird validates batch items asynchronously: accepted for processing, not yet final.
        batch_id = answer.get("batchId")
        return [
            {"recipient": r, "message_id": None, "status": "submitted", "batch_id": batch_id}
            for r in keys
        ]
    return [{"recipient": keys[0], "message_id": answer.get("id"), "status": answer.get("status")}]


def confirm_batches(client: BirdClient, channel_id: str, report: SendReport) -> list[str]:
    """Replace the `submitted` entries of `report` with each message's id and status as
    Bird lists them by batch id; messages Bird rejected become failures, and their
    recipients are returned."""
    listed: dict[str, dict] = {}
    for batch_id in report.batch_ids:
        for message in client.iter_messages(channel_id, batchId=batch_id):
            contacts = (message.get("receiver") or {}).get("contacts") or [{}]
            listed[contacts[0].get("identifierValue")] = message
    confirmed, rejected = [], []
    for entry in report.accepted:
        message = listed.get(entry["recipient"])
        if message is None:
            confirmed.append(entry)  # not validated yet: stays "submitted"
        elif message.get("status") == "rejected":
            rejected.append(entry["recipient"])
            failure = message.get("failure") or {}
            report.failures.append(
                Failure(
                    entry["recipient"],
                    BirdValidationError(
                        failure.get("description") or message.get("reason") or "rejected",
                        code=str(failure.get("code") or "rejected"),
                        method="POST",
                        path=f"batch {entry['batch_id']}",
                    ),
                )
            )
        else:
            confirmed.append(
                {**entry, "message_id": message.get("id"), "status": message["status"]}
            )
    report.accepted = confirmed
    return rejected
