"""What a send returns, its XCom: written and read back only by `SendResult` (an entry per
recipient, or a summary; a dry run's preview), and the texts of a send's failures: what was
accepted, what failed and why (numbers masked), whether a retry helps."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_sms.bird.errors import (
    BirdAmbiguousError,
    BirdDestinationBlockedError,
    InvalidMessageError,
)
from airflow_provider_sms.bird.fanout import Accepted, SendReport
from airflow_provider_sms.bird.ids import checked_uuid
from airflow_provider_sms.bird.status import NOT_SENT
from airflow_provider_sms.compat import AirflowException, AirflowFailException
from airflow_provider_sms.message.outgoing import Outgoing
from airflow_provider_sms.message.recipients import region_of
from airflow_provider_sms.message.schedule import due_hours
from airflow_provider_sms.message.segments import count_segments
from airflow_provider_sms.outbound.ledger import ALREADY_SENT
from airflow_provider_sms.outbound.prepare import SendPolicy
from airflow_provider_sms.redaction import mask_phone

if TYPE_CHECKING:
    from airflow_provider_sms.outbound.uploads import Media

# The statuses of a send's entries whose recipient was sent nothing: no message to follow,
# to read interactions of, or to be replied to.
FAILED, SUPPRESSED = "failed", "suppressed"
UNSENT_STATUSES = frozenset({FAILED, SUPPRESSED})
# How many failures an error message and the XCom summary list by name, and the log.
LISTED_FAILURES = 20
_LOGGED_FAILURES = 100


class SendResult:
    """A send's XCom. Written only by the class methods below: up to `xcom_entries_limit`
    recipients, an entry each (``recipient``, ``message_id``, ``status``; ``batch_id`` for
    a batch member, ``error`` for a failure, ``due`` when scheduled), above it a summary, and
    for a dry run a preview. Read back only through `SendResult.read`, by what follows a
    send (the status wait, the reply sensor, the interactions report, the approval), which
    also take message ids (a list or a comma-separated string) in its place."""

    def __init__(self, field: str, items: tuple = (), summary: dict | None = None):
        self.field = field
        self._items = items
        self._summary = summary

    # -- writing --------------------------------------------------------------------

    @staticmethod
    def entries(
        outgoing: Outgoing,
        earlier: list[Accepted] = (),
        accepted: list[Accepted] = (),
        failed: list[tuple[str, str]] = (),
    ) -> list[dict]:
        """One entry per recipient: what an earlier try sent, what Bird accepted now, what
        failed (``(recipient, reason)``) and whom ``exclude_recipients`` left out."""
        entries = [
            *({"recipient": a.recipient, "message_id": a.message_id, "status": ALREADY_SENT}
              for a in earlier),
            *(_accepted_entry(a) for a in accepted),
            *(_failed_entry(r, reason) for r, reason in failed),
            *({"recipient": r, "message_id": None, "status": SUPPRESSED}
              for r in outgoing.suppressed),
        ]  # fmt: skip
        due = outgoing.schedule.due
        if not due:
            return entries
        return [{**e, "due": due[e["recipient"]]} if e["recipient"] in due else e for e in entries]

    @staticmethod
    def summary(
        outgoing: Outgoing,
        report: SendReport,
        *,
        already_sent: int,
        failed: list[tuple[str, str]],
        limit: int,
    ) -> dict:
        """Counts instead of entries, for more recipients than `limit`."""
        result = {
            "total": len(outgoing.recipients),
            "accepted": len(report.accepted),
            "already_sent": already_sent,
            "failed": len(failed),
            "failures": [_failed_entry(r, reason) for r, reason in failed[:LISTED_FAILURES]],
            "suppressed": len(outgoing.suppressed),
            "batch_ids": report.batch_ids,
            "entries_omitted": f"more than xcom_entries_limit={limit} "
            "recipients; per-recipient entries are not pushed to XCom",
        }
        return _with_due_by_hour(outgoing, result)

    @staticmethod
    def was_dry_run(value: Any) -> bool:
        """Whether `value` is what a dry run returned."""
        return isinstance(value, dict) and value.get("dry_run") is True

    @staticmethod
    def dry_run(
        outgoing: Outgoing, message: dict, samples: list[dict], media: Media | None
    ) -> dict:
        """What a dry run returns: the message, sample requests, the files to upload."""
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
        return _with_due_by_hour(outgoing, result)

    # -- reading --------------------------------------------------------------------

    @classmethod
    def read(cls, value: Any, field: str) -> SendResult:
        """A send's result (or message ids in its place) given as `field`; what is wrong
        with it is reported naming `field`."""
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, dict):
            return cls(field, summary=value)
        if not isinstance(value, list | tuple) or not value:
            raise InvalidMessageError(
                field, f"expected a send task's result or message ids, got {value!r:.80}"
            )
        return cls(field, items=tuple(value))

    def _no_entries(self, what: str, instead: str) -> InvalidMessageError:
        return InvalidMessageError(
            self.field,
            f"a send summary (more recipients than its xcom_entries_limit) names no {what}; "
            f"{instead}",
        )

    def _entries(self) -> list[tuple[int, dict]]:
        return [(i, e) for i, e in enumerate(self._items) if isinstance(e, dict)]

    def targets(self) -> tuple[list[str], list[str]]:
        """``(message ids, batch ids)`` to follow, each checked (a UUID); a summary follows
        its batches. Recipients never sent to are left out (see `unsent`)."""
        summary = self._summary
        if summary is not None:
            batch_ids = summary.get("batch_ids")
            if not isinstance(batch_ids, list) or not batch_ids:
                if summary.get("failed") and summary.get("failed") == summary.get("total"):
                    raise InvalidMessageError(
                        self.field, f"the send sent nothing: all {summary['failed']} failed"
                    )
                raise self._no_entries(
                    "message", "send with use_batch_api=True, or raise its xcom_entries_limit"
                )
            for index, batch_id in enumerate(batch_ids):
                checked_uuid(batch_id, f"batch_ids[{index}]")
            return [], list(dict.fromkeys(batch_ids))
        message_ids: list[str] = []
        batch_ids = []
        for index, item in enumerate(self._items):
            if isinstance(item, str):
                message_ids.append(checked_uuid(item, f"{self.field}[{index}]"))
            elif isinstance(item, dict) and item.get("message_id"):
                path = f"{self.field}[{index}].message_id"
                message_ids.append(checked_uuid(item["message_id"], path))
            elif isinstance(item, dict) and item.get("batch_id"):
                path = f"{self.field}[{index}].batch_id"
                batch_ids.append(checked_uuid(item["batch_id"], path))
            elif not _unsent(item):
                raise self._not_an_entry(index, item)
        return list(dict.fromkeys(message_ids)), list(dict.fromkeys(batch_ids))

    def messages(self) -> list[tuple[str, str | None]]:
        """(message id, recipient) of each message sent (the recipient None for an id given
        as such); entries never sent are left out."""
        if self._summary is not None:
            raise self._no_entries("message", "raise its xcom_entries_limit to get each id")
        found: dict[str, str | None] = {}
        for index, item in enumerate(self._items):
            if isinstance(item, str):
                found.setdefault(checked_uuid(item, f"{self.field}[{index}]"), None)
            elif isinstance(item, dict) and item.get("message_id"):
                path = f"{self.field}[{index}].message_id"
                found[checked_uuid(item["message_id"], path)] = item.get("recipient")
            elif not _unsent(item):
                raise self._not_an_entry(index, item)
        return list(found.items())

    def recipients(self) -> list[str]:
        """The recipients the send reached (Bird took their message)."""
        if self._summary is not None:
            raise self._no_entries("number", "give the numbers, or raise its xcom_entries_limit")
        return [e["recipient"] for _, e in self._entries() if e.get("recipient") and not _unsent(e)]

    def message_ids(self, first: int) -> list[str]:
        """The ids of the first `first` messages sent (unchecked: ids to look up)."""
        ids = [
            e["message_id"]
            for _, e in self._entries()
            if isinstance(e.get("message_id"), str) and not _unsent(e)
        ]
        return ids[:first]

    def unsent(self) -> tuple[int, list[dict]]:
        """How many recipients the send never sent to, and the first of them as a status
        wait's failures (recipients masked): they count as failed, never as delivered."""

        def failure(entry: dict) -> dict:
            return {
                "recipient": mask_phone(str(entry.get("recipient") or "")),
                "status": NOT_SENT,
                "reason": entry.get("error"),
                "code": None,
            }

        if self._summary is not None:
            count = self._summary.get("failed")
            count = count if isinstance(count, int) and not isinstance(count, bool) else 0
            listed = [e for e in self._summary.get("failures") or [] if isinstance(e, dict)]
            return count, [failure(e) for e in listed[:LISTED_FAILURES]]
        failed = [
            e
            for _, e in self._entries()
            if e.get("status") == FAILED and not (e.get("message_id") or e.get("batch_id"))
        ]
        return len(failed), [failure(e) for e in failed[:LISTED_FAILURES]]

    def _not_an_entry(self, index: int, item: Any) -> InvalidMessageError:
        return InvalidMessageError(
            f"{self.field}[{index}]", f"not a message id nor a send entry: {item!r:.80}"
        )


def is_send_result(value: Any) -> bool:
    """Whether `value` is what a send returned (entries or a summary), not numbers or ids."""
    if isinstance(value, dict):
        return True
    return (
        isinstance(value, list | tuple) and bool(value) and all(isinstance(v, dict) for v in value)
    )


def _unsent(item: Any) -> bool:
    return isinstance(item, dict) and item.get("status") in UNSENT_STATUSES


def _reason(failure: Any) -> str:
    """Why a recipient was not sent to. A BirdError's text already masks any number Bird's
    answer quoted."""
    if isinstance(failure.error, BirdDestinationBlockedError):
        return (
            f"the workspace blocks destination {region_of(failure.recipient)} (not retried): "
            f"{failure.error}"
        )
    return str(failure.error)


def _blocked_destinations(report: SendReport) -> list[str]:
    """A line naming each destination country Bird refused, and its recipients (masked)."""
    by_region: dict[str, list[str]] = {}
    for failure in report.failures:
        if isinstance(failure.error, BirdDestinationBlockedError):
            by_region.setdefault(region_of(failure.recipient), []).append(failure.recipient)
    if not by_region:
        return []
    named = []
    for region, recipients in sorted(by_region.items()):
        recipients.sort()
        shown = ", ".join(mask_phone(r) for r in recipients[:5])
        more = f" and {len(recipients) - 5} more" if len(recipients) > 5 else ""
        named.append(f"{region}: {len(recipients)} recipient(s) ({shown}{more})")
    return [
        "Bird refused destinations this workspace does not allow (not retried; allow them in "
        "the workspace's settings, or leave them out): " + "; ".join(named)
    ]


def _failed_entry(recipient: str, reason: str) -> dict:
    return {"recipient": recipient, "message_id": None, "status": FAILED, "error": reason}


def _accepted_entry(accepted: Accepted) -> dict:
    entry = {
        "recipient": accepted.recipient,
        "message_id": accepted.message_id,
        "status": accepted.status,
    }
    if accepted.in_batch:
        entry["batch_id"] = accepted.batch_id
    return entry


def _with_due_by_hour(outgoing: Outgoing, result: dict) -> dict:
    if outgoing.schedule:
        due = outgoing.schedule.due
        result["due_by_hour"] = due_hours(due.get(r) for r in outgoing.recipients)
    return result


def finish(
    outgoing: Outgoing,
    policy: SendPolicy,
    report: SendReport,
    earlier: list[Accepted],
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
    reasons = [_reason(f) for f in report.failures]
    for failure, reason in zip(report.failures[:_LOGGED_FAILURES], reasons, strict=False):
        log.warning("Not sent to %s: %s", mask_phone(failure.recipient), reason)
    if len(report.failures) > _LOGGED_FAILURES:
        log.warning("... and %d more not sent", len(report.failures) - _LOGGED_FAILURES)
    failed = [(f.recipient, reason) for f, reason in zip(report.failures, reasons, strict=True)]
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
    if total + len(outgoing.suppressed) <= policy.xcom_entries_limit:
        return SendResult.entries(outgoing, earlier, report.accepted, failed)
    return SendResult.summary(
        outgoing,
        report,
        already_sent=len(earlier),
        failed=failed,
        limit=policy.xcom_entries_limit,
    )


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
    lines += _blocked_destinations(report)
    lines += [
        f"  {mask_phone(f.recipient)}: {_reason(f)}" for f in report.failures[:LISTED_FAILURES]
    ]
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
            "\nNot retried: without a task state store (Airflow 3.3+), a `reference` of the "
            "task's own leaves a retry unable to tell whom Bird accepted it for."
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
    return SendResult.dry_run(outgoing, message, samples, media)
