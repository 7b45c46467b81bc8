"""What the send operators do at run time, on plain values: skip what an earlier try already
sent, send, record, and shape the result. Imported inside `execute()`, never at DAG parse
time; it never imports the operators."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_sms.bird.errors import BirdAmbiguousError, BirdError, InvalidMessageError
from airflow_provider_sms.bird.fanout import SendReport
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.model import Outgoing, mask_phone, task_seed
from airflow_provider_sms.operators._ledger import SentLedger

# How many failures an error message and the XCom summary list by name.
_LISTED_FAILURES = 20
_LOGGED_FAILURES = 100


@dataclass(frozen=True)
class SendPolicy:
    """How to send and what to return; the operator's arguments, checked."""

    max_concurrency: int
    use_batch_api: bool = False
    check_batch_results: bool = False
    fail_on_partial_failure: bool = True
    xcom_entries_limit: int = 1000


@contextmanager
def invalid_input(kind: str) -> Iterator[None]:
    """Bad arguments or connection settings fail the task without retries: a retry would
    meet them again. Nothing has been sent at this point."""
    try:
        yield
    except (InvalidMessageError, BirdError) as exc:
        raise AirflowFailException(f"Invalid {kind}: {exc}") from None


@contextmanager
def pre_send_check() -> Iterator[None]:
    """A failed check sent nothing, so a passing outage may be retried by Airflow."""
    try:
        yield
    except BirdError as exc:
        raise (AirflowException if exc.retryable else AirflowFailException)(str(exc)) from None


def reference_seed(context: Any) -> tuple | None:
    """What default references derive from: the task instance, the same on every try."""
    ti = context.get("ti") if context else None
    if ti is None:
        return None
    return task_seed(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1))


def send(
    hook: BirdHook, outgoing: Outgoing, policy: SendPolicy, *, store: Any, log: logging.Logger
) -> list[dict] | dict:
    """Send `outgoing` to each recipient not already sent to, and report. With a task state
    `store`, what is accepted is recorded so that a retry of the task instance does not send
    it again."""
    ledger = _ledger(store, outgoing, log)
    checking = policy.use_batch_api and policy.check_batch_results
    already = ledger.load() if ledger else {}
    if checking and already:
        already = _recheck_batches(hook, outgoing.channel_id, ledger, already, durable=True)
    recipients = outgoing.recipients
    to_send = [r for r in recipients if r not in already]
    if already:
        log.info(
            "%d of %d recipient(s) already got this %s in an earlier try; sending to the other %d",
            len(recipients) - len(to_send),
            len(recipients),
            outgoing.kind,
            len(to_send),
        )
    log.info(
        "Sending %s to %d recipient(s) on channel %s%s",
        outgoing.kind,
        len(to_send),
        outgoing.channel_id,
        " through the batch API" if policy.use_batch_api else "",
    )
    report = hook.send(
        outgoing,
        to_send,
        max_concurrency=policy.max_concurrency,
        use_batch_api=policy.use_batch_api,
        on_accepted=ledger.record if ledger else None,
    )
    if checking and report.batch_ids:
        _check_batches(hook, outgoing.channel_id, ledger, report, durable=ledger is not None)
    earlier = [
        {"recipient": r, "message_id": already[r][0], "status": "already_sent"}
        for r in recipients
        if r in already
    ]
    result = _finish(outgoing, policy, report, earlier, log, durable=ledger is not None)
    if ledger:
        ledger.complete()
    return result


def _check_batches(hook, channel: str, ledger, report: SendReport, *, durable: bool) -> None:
    """List the batches just sent; rejected messages become failures (and are forgotten by
    the ledger, so a retry sends them)."""
    try:
        rejected = hook.confirm_batches(channel, report)
    except BirdError as exc:
        # The ledger still holds these batches as unchecked: a retry checks them first.
        retry = exc.retryable and durable
        raise (AirflowException if retry else AirflowFailException)(
            f"{len(report.accepted)} message(s) were accepted in batches, but listing the "
            f"batches to check them failed: {exc}"
        ) from None
    if ledger:
        ledger.record(report.accepted, forget=rejected)


def _recheck_batches(hook, channel: str, ledger, already: dict, *, durable: bool) -> dict:
    """Before skipping what an earlier try sent in batches but never checked, check it."""
    unchecked = [
        {"recipient": r, "message_id": None, "status": "submitted", "batch_id": entry[1]}
        for r, entry in already.items()
        if entry[1] and not entry[0]
    ]
    if not unchecked:
        return already
    report = SendReport(accepted=unchecked, batch_ids=sorted({e["batch_id"] for e in unchecked}))
    _check_batches(hook, channel, ledger, report, durable=durable)
    still_sent = {r: entry for r, entry in already.items() if not (entry[1] and not entry[0])}
    still_sent.update({e["recipient"]: [e["message_id"], e["batch_id"]] for e in report.accepted})
    return still_sent


def _ledger(store: Any, outgoing: Outgoing, log: logging.Logger) -> SentLedger | None:
    if store is None:
        log.warning(
            "No task state store (it needs Airflow 3.3+): if this task is retried, recipients "
            "already sent to may get the message again."
        )
        return None
    return SentLedger(store, outgoing)


def _finish(
    outgoing: Outgoing,
    policy: SendPolicy,
    report: SendReport,
    earlier: list[dict],
    log: logging.Logger,
    *,
    durable: bool,
) -> list[dict] | dict:
    total = len(outgoing.recipients)
    sent = len(report.accepted) + len(earlier)
    log.info("Bird accepted %d of %d %s(s)", sent, total, outgoing.kind)
    # A BirdError's text already masks any number Bird's answer quoted.
    reasons = [str(f.error) for f in report.failures]
    for failure, reason in zip(report.failures[:_LOGGED_FAILURES], reasons, strict=False):
        log.warning("Not sent to %s: %s", mask_phone(failure.recipient), reason)
    if len(report.failures) > _LOGGED_FAILURES:
        log.warning("... and %d more not sent", len(report.failures) - _LOGGED_FAILURES)
    failed = [
        {"recipient": f.recipient, "message_id": None, "status": "failed", "error": reason}
        for f, reason in zip(report.failures, reasons, strict=True)
    ]
    if not report.ok:
        tolerable = report.aborted_by is None and not report.not_attempted
        if not tolerable or policy.fail_on_partial_failure:
            _fail(report, summary(outgoing.kind, report, len(earlier)), durable)
        log.warning(
            "%d %s(s) not sent; continuing (fail_on_partial_failure=False)",
            len(failed),
            outgoing.kind,
        )
    entries = earlier + report.accepted + failed
    if total <= policy.xcom_entries_limit:
        return entries
    return {
        "total": total,
        "accepted": len(report.accepted),
        "already_sent": len(earlier),
        "failed": len(failed),
        "failures": failed[:_LISTED_FAILURES],
        "batch_ids": report.batch_ids,
        "entries_omitted": f"more than xcom_entries_limit={policy.xcom_entries_limit} "
        "recipients; per-recipient entries are not pushed to XCom",
    }


def summary(kind: str, report: SendReport, already_sent: int = 0) -> str:
    """What was accepted and what failed and why (numbers masked), for a task's or a
    callback's failure."""
    total = len(report.accepted) + len(report.failures) + report.not_attempted + already_sent
    lines = [
        f"{len(report.accepted) + already_sent} of {total} {kind}(s) accepted, "
        f"{len(report.failures)} failed"
        + (f", {report.not_attempted} not attempted" if report.not_attempted else "")
        + (f" (stopped early: {report.aborted_by})" if report.aborted_by is not None else "")
        + (":" if report.failures else "")
    ]
    # A BirdError's text already masks any number Bird's answer quoted.
    lines += [f"  {mask_phone(f.recipient)}: {f.error}" for f in report.failures[:_LISTED_FAILURES]]
    if len(report.failures) > _LISTED_FAILURES:
        lines.append(f"  ... and {len(report.failures) - _LISTED_FAILURES} more")
    unknown = _unknown(report)
    if unknown:
        lines.append(
            f"{unknown} message(s) may have been accepted although no answer came: look them "
            "up in Bird by their reference before sending them again."
        )
    return "\n".join(lines)


def _unknown(report: SendReport) -> int:
    return sum(isinstance(f.error, BirdAmbiguousError) for f in report.failures)


def _fail(report: SendReport, text: str, durable: bool):
    """Raise the task's failure: a summary, and whether an Airflow retry may help."""
    errors = [f.error for f in report.failures]
    if report.aborted_by is not None:
        errors.append(report.aborted_by)
    # An Airflow retry is worth it when an error may pass (429, 5xx, connection), and safe
    # when the ledger stops it repeating what Bird accepted; a message whose fate is unknown
    # is never sent again automatically.
    aborted = report.aborted_by
    retryable = (
        (aborted is None or aborted.retryable)
        and any(e.retryable for e in errors)
        and not _unknown(report)
    )
    if retryable and not durable and report.accepted:
        retryable = False
        text += (
            "\nNot retried: without a task state store (Airflow 3.3+) a retry would send again "
            "to the recipients already accepted."
        )
    raise (AirflowException if retryable else AirflowFailException)(text)
