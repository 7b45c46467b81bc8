"""Fan one message out to many recipients through a Bird client; no Airflow imports.

Every recipient is attempted unless an error shows that no send can succeed (a wrong access
key, an unknown channel, or Bird failing request after request); the report says which
recipients were accepted and which failed and why.

Requests run on worker threads. The calling thread keeps the books, so that a slow durable
record (Airflow's task state store is only usable from the task's own thread) never stalls
the sending: it is told of each group of recipients before any of them is sent
(`before_send`, a write-ahead record), and of what Bird accepted or refused as answers
arrive (`on_settled`). A recipient whose request left but whose answer never came is in
neither: in doubt."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from airflow_provider_sms.bird.client import BirdClient
from airflow_provider_sms.bird.errors import (
    BirdAmbiguousError,
    BirdAuthenticationError,
    BirdConflictError,
    BirdError,
    BirdListingUnclearError,
    BirdNotFoundError,
    BirdUnavailableError,
    BirdValidationError,
)
from airflow_provider_sms.bird.facts import MAX_BATCH_SIZE
from airflow_provider_sms.bird.objects import recipient_of

# Errors that will repeat for every other recipient: stop submitting new sends.
_ABORTING = (BirdAuthenticationError, BirdNotFoundError, BirdConflictError)
_DONE = object()
# Recipients released to the senders per write-ahead record: few enough that one record
# stays well under the task state store's 64 KB guidance once their message ids are in it.
DEFAULT_GROUP_SIZE = 800


class Accepted(NamedTuple):
    """A message Bird accepted for `recipient`: its id (None for a batch member not listed
    yet, or an answer that named none), its status, and its batch when it went in one."""

    recipient: str
    message_id: str | None
    status: str
    batch_id: str | None = None
    in_batch: bool = False

    @property
    def unchecked(self) -> bool:
        """Sent in a batch that was never listed: Bird may still have rejected it."""
        return bool(self.batch_id) and not self.message_id


Settled = Callable[[list[Accepted], list[str]], None]


@dataclass
class Failure:
    recipient: str
    error: BirdError


@dataclass
class SendReport:
    accepted: list[Accepted] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    aborted_by: BirdError | None = None
    not_attempted: int = 0
    batch_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.aborted_by is None and not self.not_attempted

    @property
    def in_doubt(self) -> list[str]:
        """Recipients whose request left but whose answer never came."""
        return [f.recipient for f in self.failures if isinstance(f.error, BirdAmbiguousError)]


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Gate:
    """How many recipients (a prefix of the list) the senders may send."""

    def __init__(self, released: int):
        self.released = released
        self._changed = threading.Condition()

    def release(self, count: int) -> None:
        with self._changed:
            self.released = count
            self._changed.notify_all()

    def wait_for(self, count: int, stop: threading.Event) -> bool:
        with self._changed:
            while self.released < count and not stop.is_set():
                self._changed.wait(0.05)
            return not stop.is_set()


def fan_out(
    client: BirdClient,
    channel_id: str,
    recipients: Sequence[str],
    build: Callable[[str], dict],
    *,
    max_concurrency: int,
    use_batch_api: bool = False,
    batch_size: int = MAX_BATCH_SIZE,
    before_send: Callable[[list[str]], None] | None = None,
    on_settled: Settled | None = None,
    group_size: int = DEFAULT_GROUP_SIZE,
    flush_interval: float = 0.1,
    breaker_threshold: int | None = None,
    drain_timeout: float = 5.0,
) -> SendReport:
    """Send `build(recipient)` to each recipient: one request each, or batches of up to
    `batch_size` through Bird's batch endpoint.

    :param before_send: called on this thread with each group of up to `group_size`
        recipients, in order, before any request carrying them leaves.
    :param on_settled: called on this thread with the newly accepted entries and the
        recipients Bird certainly did not accept (refused, or never sent), at most every
        `flush_interval` seconds and once more at the end, also when interrupted.
    :param breaker_threshold: consecutive failed requests (after the client's own retries)
        after which the rest are not attempted; default twice `max_concurrency`, at least 10.
    :param drain_timeout: when this thread is interrupted, how long answers still on their
        way are waited for; the recipients of any later answer stay in doubt.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size: must be 1 to {MAX_BATCH_SIZE}, got {batch_size}")
    size = batch_size if use_batch_api else 1
    group_size = max(size, group_size - group_size % size)
    threshold = breaker_threshold or max(10, 2 * max_concurrency)
    report = SendReport()
    stop = threading.Event()
    results: queue.SimpleQueue = queue.SimpleQueue()
    gate = _Gate(0 if before_send else len(recipients))
    submitted = [0]  # recipients handed to the senders, a prefix of the list

    def items() -> Iterator[tuple[tuple[str, ...], Any]]:
        for chunk in _chunks(recipients, size):
            if not gate.wait_for(submitted[0] + len(chunk), stop):
                return
            submitted[0] += len(chunk)
            if use_batch_api:
                yield tuple(chunk), [build(r) for r in chunk]
            else:
                yield tuple(chunk), build(chunk[0])

    def call(item: Any) -> dict:
        if use_batch_api:
            return client.send_batch(channel_id, item, cancel=stop)
        return client.send_message(channel_id, item, cancel=stop)

    def produce() -> None:
        try:
            for outcome in concurrently(
                call, items(), workers=min(max_concurrency, client.pool_size), stop=stop
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
    collector = _Collector(report, use_batch_api, threshold, stop, on_settled)
    finished = False
    released = gate.released
    try:
        while not finished:
            # Write ahead: keep up to two groups released beyond what is being sent.
            while before_send and released < len(recipients) and not stop.is_set():
                if released - submitted[0] >= 4 * group_size:
                    break
                group = list(recipients[released : released + group_size])
                before_send(group)
                released += len(group)
                gate.release(released)
            try:
                outcome = results.get(timeout=flush_interval)
            except queue.Empty:
                outcome = None
            while outcome is not None:
                finished = collector.take(outcome) or finished
                outcome = _next_or_none(results)
            collector.flush(finished or time.monotonic() - collector.flushed_at >= flush_interval)
    finally:
        # Also when this thread is interrupted (a task timeout, a failed record): every
        # answer that arrives in time is recorded, and whatever was released but never
        # sent is said to be so. Bounded: a hung request cannot hold the task.
        stop.set()
        producer.join(drain_timeout)
        while (outcome := _next_or_none(results)) is not None:
            if outcome is not _DONE and not isinstance(outcome, BaseException):
                collector.take(outcome)
        if not producer.is_alive():
            collector.refused.extend(recipients[submitted[0] : released])
        collector.flush(True)
    report.not_attempted = len(recipients) - submitted[0]
    return report


def concurrently(
    call: Callable[[Any], Any],
    items: Iterable[tuple[Any, Any]],
    *,
    workers: int,
    stop: threading.Event,
) -> Iterator[tuple[Any, Any, BirdError | None]]:
    """Run `call(item)` for each `(key, item)` on up to `workers` threads; yields
    `(key, result, error)` as each finishes.

    At most `workers` calls are pending at once, so a list of 100,000 messages is never
    turned into 100,000 futures, and setting `stop` submits no more. When submitting fails
    (no thread can be started, say), the calls already submitted are still waited for and
    reported before the failure is raised: none of their answers is lost. The threads are
    daemons: a request hanging after the task gave up on it cannot keep the process alive."""
    work: queue.SimpleQueue = queue.SimpleQueue()
    finished: queue.SimpleQueue = queue.SimpleQueue()
    threads: list[threading.Thread] = []

    def serve() -> None:
        while (job := work.get()) is not None:
            key, item = job
            try:
                finished.put((key, call(item), None))
            except BirdError as error:
                finished.put((key, None, error))
            except Exception as exc:  # never lose track of a send
                finished.put((key, None, BirdAmbiguousError(f"unexpected {type(exc).__name__}")))

    pending = 0
    source = iter(items)
    failure: BaseException | None = None
    try:
        while True:
            while failure is None and pending < max(1, workers) and not stop.is_set():
                try:
                    key, item = next(source)
                    if len(threads) < pending + 1:
                        thread = threading.Thread(target=serve, name="bird-send", daemon=True)
                        thread.start()
                        threads.append(thread)
                except StopIteration:
                    break
                except BaseException as exc:
                    failure = exc
                    stop.set()
                    break
                work.put((key, item))
                pending += 1
            if not pending:
                break
            yield finished.get()
            pending -= 1
    finally:
        for _ in threads:
            work.put(None)
    if failure is not None:
        raise failure


def _next_or_none(results: queue.SimpleQueue):
    try:
        return results.get_nowait()
    except queue.Empty:
        return None


class _Collector:
    """Folds request outcomes into the report, on the calling thread."""

    def __init__(self, report: SendReport, batch: bool, threshold: int, stop, on_settled):
        self.report = report
        self.batch = batch
        self.threshold = threshold
        self.stop = stop
        self.on_settled = on_settled
        self.accepted: list[Accepted] = []
        self.refused: list[str] = []
        self.consecutive_failures = 0
        self.flushed_at = time.monotonic()

    def take(self, outcome) -> bool:
        """Record one outcome; True when the producer is done."""
        if outcome is _DONE:
            return True
        if isinstance(outcome, BaseException):
            raise outcome
        keys, answer, error = outcome
        report = self.report
        if error is None:
            self.consecutive_failures = 0
            entries = _accepted(keys, answer, self.batch)
            if entries[0].batch_id:
                report.batch_ids.append(entries[0].batch_id)
            report.accepted.extend(entries)
            self.accepted.extend(entries)
            return False
        report.failures.extend(Failure(r, error) for r in keys)
        if not isinstance(error, BirdAmbiguousError):
            self.refused.extend(keys)
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
        if (self.accepted or self.refused) and self.on_settled and due:
            # Cleared only once recorded: a failed record is tried again at the end.
            self.on_settled(self.accepted, self.refused)
            self.accepted, self.refused = [], []
            self.flushed_at = time.monotonic()


def _accepted(keys: Sequence[str], answer: Any, batch: bool) -> list[Accepted]:
    # A 2xx means accepted, whatever its body says; an unreadable body only loses the id.
    answer = answer if isinstance(answer, dict) else {}
    if batch:
        # Bird validates batch items asynchronously: accepted for processing, not yet final.
        batch_id = answer.get("batchId") if isinstance(answer.get("batchId"), str) else None
        return [Accepted(r, None, "submitted", batch_id, in_batch=True) for r in keys]
    message_id = answer.get("id") if isinstance(answer.get("id"), str) else None
    status = answer.get("status") if isinstance(answer.get("status"), str) else "accepted"
    return [Accepted(keys[0], message_id, status)]


# Pages of 100 read at most per batch (a batch holds 100): room for a listing that ignores
# the batch filter and shows other messages too, within a known cost.
MAX_BATCH_PAGES = 50


@dataclass
class BatchCheck:
    """What listing the batches of a send showed: its accepted entries with each listed
    message's id and status (entries not listed yet stay `submitted`), the messages Bird
    rejected as failures, and their recipients."""

    accepted: list[Accepted]
    failures: list[Failure]
    rejected: list[str]

    def applied_to(self, report: SendReport) -> SendReport:
        """`report` as this check leaves it: rejected messages among its failures."""
        return replace(report, accepted=self.accepted, failures=[*report.failures, *self.failures])


def confirm_batches(
    client: BirdClient, channel_id: str, report: SendReport, *, max_pages: int = MAX_BATCH_PAGES
) -> BatchCheck:
    """List the batches of `report` by batch id: each `submitted` entry's message id and
    status, and the messages Bird rejected.

    Only a listed message that names the batch asked for counts for it: that Bird filters
    the listing by `batchId` is inferred (API-NOTES section 6), and a listing of other
    batches, or of the whole channel, must not settle this one. Raises
    BirdListingUnclearError when a batch answer named no batch id (those messages cannot be
    checked) or a listing cannot be read to its end."""
    wanted: dict[str, set[str]] = {}
    for entry in report.accepted:
        if entry.status == "submitted" and entry.batch_id:
            wanted.setdefault(entry.batch_id, set()).add(entry.recipient)
    listed: dict[tuple[str, str], dict] = {}
    for batch_id in report.batch_ids:
        members = wanted.get(batch_id, set())
        seen: set[str] = set()
        listing = client.pages(
            client.messages_path(channel_id), filters={"batchId": batch_id}, max_pages=max_pages
        )
        for page in listing:
            for message in page:
                recipient = recipient_of(message)
                if message.get("batchId") == batch_id and recipient in members:
                    listed[(batch_id, recipient)] = message
                    seen.add(recipient)
            if seen >= members:
                break  # every member found: the rest of a listing that ignored the filter
    check = BatchCheck(accepted=[], failures=[], rejected=[])
    for entry in report.accepted:
        message = listed.get((entry.batch_id, entry.recipient))
        if message is None:
            check.accepted.append(entry)  # not validated yet: stays "submitted"
        elif message.get("status") == "rejected":
            check.rejected.append(entry.recipient)
            failure = message.get("failure") or {}
            check.failures.append(
                Failure(
                    entry.recipient,
                    BirdValidationError(
                        failure.get("description") or message.get("reason") or "rejected",
                        code=str(failure.get("code") or "rejected"),
                        method="POST",
                        path=f"batch {entry.batch_id}",
                    ),
                )
            )
        else:
            check.accepted.append(
                entry._replace(message_id=message.get("id"), status=message["status"])
            )
    unnamed = [e for e in check.accepted if e.status == "submitted" and not e.batch_id]
    if unnamed:
        raise BirdListingUnclearError(
            f"Bird accepted {len(unnamed)} message(s) in batches whose answer named no batch id "
            "(no `batchId`), so whether it rejected any of them cannot be checked"
        )
    return check
