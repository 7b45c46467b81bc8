"""What a send returns (an XCom entry per recipient, or a summary; a dry run's preview), and
the texts of its failures: what was accepted, what failed and why (numbers masked), whether a
retry helps."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_sms.bird.errors import BirdAmbiguousError
from airflow_provider_sms.bird.fanout import SendReport
from airflow_provider_sms.message.outgoing import Outgoing
from airflow_provider_sms.message.schedule import due_hours
from airflow_provider_sms.message.segments import count_segments
from airflow_provider_sms.outbound.prepare import SendPolicy
from airflow_provider_sms.redaction import mask_phone

if TYPE_CHECKING:
    from airflow_provider_sms.outbound.uploads import Media

# The statuses of a send's entries whose recipient was sent nothing: no message to follow,
# to read interactions of, or to be replied to.
UNSENT_STATUSES = frozenset({"failed", "suppressed"})
# How many failures an error message and the XCom summary list by name, and the log.
LISTED_FAILURES = 20
_LOGGED_FAILURES = 100


def finish(
    outgoing: Outgoing,
    policy: SendPolicy,
    report: SendReport,
    earlier: list[dict],
    unknown: dict[str, str],
    log: logging.Logger,
    *,
    durable: Any,
) -> list[dict] | dict:
    """The send's result, or its failure: recipients still `unknown` after reconciliation
    fail the task for good; failures fail it (retryable where a retry may help) unless the
    policy tolerates them."""
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
    entries = earlier + report.accepted + failed + suppressed_entries(outgoing)
    if total + len(outgoing.suppressed) <= policy.xcom_entries_limit:
        return _with_due(outgoing, entries)
    result = {
        "total": total,
        "accepted": len(report.accepted),
        "already_sent": len(earlier),
        "failed": len(failed),
        "failures": failed[:LISTED_FAILURES],
        "suppressed": len(outgoing.suppressed),
        "batch_ids": report.batch_ids,
        "entries_omitted": f"more than xcom_entries_limit={policy.xcom_entries_limit} "
        "recipients; per-recipient entries are not pushed to XCom",
    }
    if outgoing.schedule:
        due = outgoing.schedule.due
        result["due_by_hour"] = due_hours(due.get(r) for r in outgoing.recipients)
    return result


def suppressed_entries(outgoing: Outgoing) -> list[dict]:
    """An entry for each recipient ``exclude_recipients`` left out."""
    return [
        {"recipient": r, "message_id": None, "status": "suppressed"} for r in outgoing.suppressed
    ]


def log_suppressed(outgoing: Outgoing, log: logging.Logger) -> None:
    if outgoing.suppressed:
        log.info(
            "%d recipient(s) are in exclude_recipients: nothing is sent to them (reported "
            "suppressed); %d left to send to",
            len(outgoing.suppressed),
            len(outgoing.recipients),
        )


def log_schedule(outgoing: Outgoing, log: logging.Logger) -> None:
    """Say when the messages are due: how many each local-window rule applied to, and
    whether Bird may send some at once."""
    schedule = outgoing.schedule
    if schedule.window is not None:
        rules = ", ".join(f"{rule}: {count}" for rule, count in sorted(schedule.rules.items()))
        log.info(
            "local_window %s: %d of %d recipient(s) scheduled, the others inside it now "
            "(zone rules: %s)",
            schedule.window,
            len(schedule.due),
            len(outgoing.recipients),
            rules or "none",
        )
    elif schedule.send_at is not None:
        log.info("send_at: every %s is due at %s", outgoing.kind, schedule.send_at)
    if schedule.soon:
        log.warning(
            "%d %s(s) are due less than 10 minutes from now: Bird may send at once",
            schedule.soon,
            outgoing.kind,
        )


def _with_due(outgoing: Outgoing, entries: list[dict]) -> list[dict]:
    due = outgoing.schedule.due
    if not due:
        return entries
    return [{**e, "due": due[e["recipient"]]} if e.get("recipient") in due else e for e in entries]


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
    listed = list(unknown)[:LISTED_FAILURES]
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
    lines += [f"  {mask_phone(f.recipient)}: {f.error}" for f in report.failures[:LISTED_FAILURES]]
    if len(report.failures) > LISTED_FAILURES:
        lines.append(f"  ... and {len(report.failures) - LISTED_FAILURES} more")
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


# How many request bodies a dry run logs and returns, as samples.
_PREVIEWED_REQUESTS = 3


def preview(outgoing: Outgoing, *, log: logging.Logger, media: Media | None = None) -> dict:
    """What `send` would send, without any request: the request bodies of the first few
    recipients (numbers masked), the message's encoding and segment count, and the files
    an MMS would upload (read and checked; their media URLs show as placeholders)."""

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
    for item in media.files if media else ():
        log.info(
            "Dry run: would upload %s (%s, %s, %d bytes) once, as %s",
            item.field,
            item.source,
            item.content_type,
            item.size,
            item.placeholder,
        )
    result = {
        "dry_run": True,
        "kind": outgoing.kind,
        "channel_id": outgoing.channel_id,
        "total": len(outgoing.recipients),
        "suppressed": len(outgoing.suppressed),
        "messages": [message],
        "requests": samples,
    }
    if media:
        result["uploads"] = media.described()
    if outgoing.schedule:
        due = outgoing.schedule.due
        result["due_by_hour"] = due_hours(due.get(r) for r in outgoing.recipients)
    return result
