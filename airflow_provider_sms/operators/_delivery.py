"""What the send operators do at run time, on plain values: skip what an earlier try already
sent, send, record, and shape the result. Imported inside `execute()`, never at DAG parse
time; it never imports the operators."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_sms.bird.errors import (
    BirdAmbiguousError,
    BirdError,
    BirdListingUnclearError,
    InvalidMessageError,
)
from airflow_provider_sms.bird.fanout import SendReport
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.model import Outgoing, mask_phone, task_seed
from airflow_provider_sms.operators._ledger import Earlier, Ledger

# How many failures an error message and the XCom summary list by name.
_LISTED_FAILURES = 20
_LOGGED_FAILURES = 100
# How far back to look for in-flight messages when the first try's start is unknown, and how
# long Bird is given to list a message it accepted.
RECONCILE_LOOKBACK = 24 * 3600.0
RECONCILE_SETTLE = 2.0


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


# How many request bodies a dry run logs and returns, as samples.
_PREVIEWED_REQUESTS = 3


def preview(outgoing: Outgoing, *, log: logging.Logger) -> dict:
    """What `send` would send, without any request: the request bodies of the first few
    recipients (numbers masked), and the message's encoding and segment count."""
    from airflow_provider_sms.model import count_segments

    samples = []
    for recipient in outgoing.recipients[:_PREVIEWED_REQUESTS]:
        body = outgoing.request(recipient)
        contact = body["receiver"]["contacts"][0]
        body["receiver"] = {"contacts": [{**contact, "identifierValue": mask_phone(recipient)}]}
        samples.append(body)
        log.info("Dry run: would send %s", json.dumps(body, ensure_ascii=False))
    message: dict[str, Any] = {"content": dict(outgoing.content), "options": dict(outgoing.options)}
    text = (outgoing.content.get("body") or {}).get("text", {}).get("text")
    if text is not None:
        count = count_segments(text)
        message.update(
            encoding=count.encoding, segments=count.segments, characters=count.characters
        )
    log.info(
        "Dry run: %s to %d recipient(s) on channel %s; nothing was sent",
        outgoing.kind,
        len(outgoing.recipients),
        outgoing.channel_id,
    )
    return {
        "dry_run": True,
        "kind": outgoing.kind,
        "channel_id": outgoing.channel_id,
        "total": len(outgoing.recipients),
        "messages": [message],
        "requests": samples,
    }


def send(
    hook: BirdHook,
    outgoing: Outgoing,
    policy: SendPolicy,
    *,
    store: Any,
    generation: int,
    log: logging.Logger,
) -> list[dict] | dict:
    """Send `outgoing` to each recipient not already sent to, and report.

    With a task state `store`, recipients are recorded in flight before they are sent and
    as sent once Bird accepts them, so that a later try of this run of the task instance
    (`generation`) never sends twice: it skips what was sent and reconciles with Bird what
    was in flight."""
    ledger = Ledger(store, generation) if store is not None else None
    if ledger is None:
        log.warning(
            "No task state store (it needs Airflow 3.3+): if this task is retried, recipients "
            "already sent to may get the message again."
        )
    earlier = ledger.load() if ledger else Earlier()
    if ledger:
        ledger.begin(started=time.time(), digest=outgoing.digest, earlier=earlier)
    if earlier.digest and earlier.digest != outgoing.digest:
        log.warning(
            "This %s renders differently from the first try's; recipients an earlier try "
            "sent it to are not sent it again (clear the task to send the new one to all)",
            outgoing.kind,
        )
    wanted = set(outgoing.recipients)
    already = {r: entry for r, entry in earlier.sent.items() if r in wanted}
    unknown: dict[str, str] = {}
    in_doubt = [r for r in earlier.in_flight if r in wanted]
    if earlier.lost_groups:
        # Whoever the lost part held may have been sent to: only Bird can tell.
        log.warning(
            "Part of this send's record in the task state store is gone (%d group(s)); every "
            "recipient not recorded as sent is looked up in Bird before anything is sent to it",
            len(earlier.lost_groups),
        )
        in_doubt = [r for r in outgoing.recipients if r not in earlier.sent]
    if in_doubt:
        found, unknown = _reconcile(hook, outgoing, ledger, in_doubt, earlier.started, log)
        already.update(found)
    checking = policy.use_batch_api and policy.check_batch_results
    if checking and already:
        already = _recheck_batches(hook, outgoing.channel_id, ledger, already)
    recipients = outgoing.recipients
    to_send = [r for r in recipients if r not in already and r not in unknown]
    if already:
        log.info(
            "%d of %d recipient(s) already got this %s in an earlier try; sending to the other %d",
            len(already),
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
    accepted_unrecorded = [0]

    def count(accepted: list[dict], refused: list[str]) -> None:
        accepted_unrecorded[0] += len(accepted)

    try:
        report = hook.send(
            outgoing,
            to_send,
            max_concurrency=policy.max_concurrency,
            use_batch_api=policy.use_batch_api,
            before_send=ledger.before_send if ledger else None,
            on_settled=ledger.settle if ledger else count,
        )
    except BaseException as exc:
        if ledger is None and accepted_unrecorded[0]:
            # Nothing would stop a retry from sending these again.
            raise AirflowFailException(
                f"{accepted_unrecorded[0]} {outgoing.kind}(s) were accepted before the send "
                f"was cut short ({type(exc).__name__}); not retried: without a task state "
                "store (Airflow 3.3+) a retry would send them again."
            ) from exc
        raise
    if checking and report.accepted:
        _check_batches(hook, outgoing.channel_id, ledger, report)
    earlier_entries = [
        {"recipient": r, "message_id": already[r][0], "status": "already_sent"}
        for r in recipients
        if r in already
    ]
    return _finish(outgoing, policy, report, earlier_entries, unknown, log, durable=ledger)


def _reconcile(
    hook: BirdHook,
    outgoing: Outgoing,
    ledger: Ledger,
    in_doubt: list[str],
    started: float | None,
    log: logging.Logger,
) -> tuple[dict[str, list], dict[str, str]]:
    """Settle recipients an earlier try left in flight: found in Bird, they count as sent
    (with Bird's id); not found after a settle time, they are sent again; when Bird cannot
    tell, they are `unknown` and nothing is sent to them."""
    log.info(
        "%d recipient(s) were in flight when an earlier try ended; looking them up in Bird",
        len(in_doubt),
    )
    if outgoing.reference_seed is None:
        reason = (
            "the task sets its own `reference`, which is not unique to a recipient, so "
            "Bird's messages cannot be matched to them"
        )
        return {}, dict.fromkeys(in_doubt, reason)
    since = started if started is not None else time.time() - RECONCILE_LOOKBACK
    found: dict[str, dict] = {}
    unknown: dict[str, str] = {}
    missing = in_doubt
    pages = 0
    try:
        for attempt in range(2):
            if attempt:
                # Bird may list a just-accepted message a moment later.
                time.sleep(RECONCILE_SETTLE)
            lookup = hook.find_sent(outgoing, missing, since)
            pages += lookup.pages
            found.update(lookup.found)
            missing = [r for r in missing if r not in found]
            unknown = lookup.unknown(missing)
            # "Not found" counts only where the lookup saw the whole window.
            if not missing or unknown:
                break
    except BirdError as exc:
        reason = f"listing the channel's messages failed: {exc}"
        unknown = {r: reason for r in in_doubt if r not in found}
    missing = [r for r in missing if r not in unknown]
    ledger.settle(_entries(found), missing)
    log.info(
        "Of them, %d were found in Bird (not sent again), %d were not (sent now) and %d "
        "cannot be told (not sent); %d page(s) of the channel's messages read",
        len(found),
        len(missing),
        len(unknown),
        pages,
    )
    return {r: [m.get("id"), m.get("batchId")] for r, m in found.items()}, unknown


def _entries(found: dict[str, dict]) -> list[dict]:
    return [
        {"recipient": r, "message_id": m.get("id"), "batch_id": m.get("batchId")}
        for r, m in found.items()
    ]


def _check_batches(hook, channel: str, ledger, report: SendReport) -> None:
    """List the batches just sent; rejected messages become failures (and are forgotten by
    the ledger, so a retry sends them)."""
    try:
        rejected = hook.confirm_batches(channel, report)
    except BirdListingUnclearError as exc:
        # Neither sent nor rejected: a retry would meet the same answers.
        raise AirflowFailException(
            f"{len(report.accepted)} message(s) were accepted in batches, but whether Bird "
            f"rejected some of them cannot be told: {exc}. Nothing is sent to them again; "
            f"check them in Bird (GET /workspaces/<workspace>/channels/{channel}/messages, "
            "by batch id or reference) and send to those rejected in a new run."
        ) from None
    except BirdError as exc:
        # The ledger still holds these batches as unchecked: a retry checks them first.
        retry = exc.retryable and ledger is not None
        raise (AirflowException if retry else AirflowFailException)(
            f"{len(report.accepted)} message(s) were accepted in batches, but listing the "
            f"batches to check them failed: {exc}"
        ) from None
    if ledger:
        ledger.settle(report.accepted, rejected)


def _recheck_batches(hook, channel: str, ledger, already: dict) -> dict:
    """Before skipping what an earlier try sent in batches but never checked, check it."""
    unchecked = [
        {"recipient": r, "message_id": None, "status": "submitted", "batch_id": entry[1]}
        for r, entry in already.items()
        if entry[1] and not entry[0]
    ]
    if not unchecked:
        return already
    report = SendReport(accepted=unchecked, batch_ids=sorted({e["batch_id"] for e in unchecked}))
    _check_batches(hook, channel, ledger, report)
    still_sent = {r: entry for r, entry in already.items() if not (entry[1] and not entry[0])}
    still_sent.update({e["recipient"]: [e["message_id"], e["batch_id"]] for e in report.accepted})
    return still_sent


def _finish(
    outgoing: Outgoing,
    policy: SendPolicy,
    report: SendReport,
    earlier: list[dict],
    unknown: dict[str, str],
    log: logging.Logger,
    *,
    durable: Any,
) -> list[dict] | dict:
    total = len(outgoing.recipients)
    # With a ledger and default references, a retry looks up in Bird what got no answer.
    reconcilable = bool(durable) and outgoing.reference_seed is not None
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
    if unknown:
        raise AirflowFailException(
            summary(outgoing.kind, report, len(earlier), reconcilable=reconcilable)
            + "\n"
            + _unknown_summary(outgoing, unknown)
        )
    if not report.ok:
        tolerable = report.aborted_by is None and not report.not_attempted
        if not tolerable or policy.fail_on_partial_failure:
            text = summary(outgoing.kind, report, len(earlier), reconcilable=reconcilable)
            _fail(report, text, durable=bool(durable), reconcilable=reconcilable)
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


def _unknown_summary(outgoing: Outgoing, unknown: dict[str, str]) -> str:
    reasons = sorted(set(unknown.values()))
    lines = [
        f"{len(unknown)} recipient(s) were in flight when an earlier try ended and may or may "
        f"not have received this {outgoing.kind}; nothing was sent to them again, because "
        + "; ".join(reasons)
        + ". Look them up in Bird (GET /workspaces/<workspace>/channels/"
        f"{outgoing.channel_id}/messages, by recipient and reference) and send to those "
        "missing in a new run. Not retried: a retry could not tell either:"
    ]
    listed = list(unknown)[:_LISTED_FAILURES]
    lines += [f"  {mask_phone(r)}: unknown" for r in listed]
    if len(unknown) > len(listed):
        lines.append(f"  ... and {len(unknown) - len(listed)} more")
    return "\n".join(lines)


def summary(
    kind: str, report: SendReport, already_sent: int = 0, *, reconcilable: bool = False
) -> str:
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
    in_doubt = len(report.in_doubt)
    if in_doubt and reconcilable:
        lines.append(
            f"{in_doubt} message(s) got no answer and may have been accepted: a retry looks "
            "them up in Bird by their reference before sending to them."
        )
    elif in_doubt:
        lines.append(
            f"{in_doubt} message(s) may have been accepted although no answer came: look them "
            "up in Bird by their reference before sending them again."
        )
    return "\n".join(lines)


def _fail(report: SendReport, text: str, *, durable: bool, reconcilable: bool):
    """Raise the task's failure: a summary, and whether an Airflow retry may help."""
    errors = [f.error for f in report.failures]
    if report.aborted_by is not None:
        errors.append(report.aborted_by)
    # An Airflow retry is worth it when an error may pass (429, 5xx, connection, no answer),
    # and safe when the ledger stops it repeating what Bird accepted; a message whose fate is
    # unknown is only sent again once the retry has looked it up in Bird.
    aborted = report.aborted_by
    in_doubt = bool(report.in_doubt)
    retryable = (
        (aborted is None or aborted.retryable or isinstance(aborted, BirdAmbiguousError))
        and any(e.retryable or isinstance(e, BirdAmbiguousError) for e in errors)
        and (reconcilable or not in_doubt)
    )
    if retryable and not durable and report.accepted:
        retryable = False
        text += (
            "\nNot retried: without a task state store (Airflow 3.3+) a retry would send again "
            "to the recipients already accepted."
        )
    raise (AirflowException if retryable else AirflowFailException)(text)
