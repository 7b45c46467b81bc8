"""What the send operators do at run time: validate, skip what an earlier try already sent,
send, record, and shape the result. Imported inside `execute()`, never at DAG parse time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_sms.bird.errors import BirdAmbiguousError, BirdError
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.model import (
    InvalidMessageError,
    build_message,
    channel_id,
    content_key,
    default_reference,
    mask_phone,
    message_options,
    normalize_recipients,
)
from airflow_provider_sms.sending import SendReport, confirm_batches, deliver

if TYPE_CHECKING:
    from airflow_provider_sms.operators.sms import _BirdSendOperator

# How many failures an error message and the XCom summary list by name.
_LISTED_FAILURES = 20
_LOGGED_FAILURES = 100
_LEDGER_GROUP_MAX = 1000


class SentLedger:
    """The recipients an earlier, unfinished try of this task instance already sent this
    message to, kept in Airflow's task state store (Airflow 3.3+).

    Entries are written in groups under numbered keys: one state-store write per group
    instead of one per recipient keeps the store (about 10 ms a write) from capping the send
    rate. The content digest in the keys means a changed message is sent again. A try that
    completes starts a new generation, so clearing a finished task sends the message again,
    as whoever cleared it intends."""

    def __init__(self, store: Any, content: str):
        self.store = store
        self.base = f"bird-sent:{content}"
        self.generation = 0
        self.next_group = 0

    def _key(self, group: int) -> str:
        return f"{self.base}:{self.generation}:{group}"

    def load(self) -> dict[str, list]:
        self.generation = self.store.get(f"{self.base}:generation", 0)
        sent: dict[str, list] = {}
        while (group := self.store.get(self._key(self.next_group))) is not None:
            for recipient, entry in group.items():
                if entry is None:
                    sent.pop(recipient, None)
                else:
                    sent[recipient] = entry
            self.next_group += 1
        return sent

    def record(self, entries: list[dict], *, forget: list[str] = ()) -> None:
        """Add `entries` (later groups win); `forget` removes recipients recorded before."""
        group: dict[str, list | None] = dict.fromkeys(forget)
        group.update({e["recipient"]: [e["message_id"], e.get("batch_id")] for e in entries})
        items = list(group.items())
        # Keep each value small (the store warns above 64 KB): ~1,000 entries a key.
        for start in range(0, len(items), _LEDGER_GROUP_MAX):
            self.store.set(
                self._key(self.next_group), dict(items[start : start + _LEDGER_GROUP_MAX])
            )
            self.next_group += 1

    def complete(self) -> None:
        self.store.set(f"{self.base}:generation", self.generation + 1)


def run_send(
    operator: _BirdSendOperator, context: Any, *, remember_sent: bool = True
) -> list[dict] | dict:
    """Validate, send and report. With `remember_sent`, what is accepted is recorded so that a
    retry of the task instance does not send it again."""
    log = operator.log
    try:
        recipients = normalize_recipients(
            operator.recipients, default_region=operator.default_region
        )
        content = operator._content()
        options = message_options(reference=operator.reference, tags=operator.tags)
        hook = BirdHook(operator.bird_conn_id, pool_size=operator.max_concurrency)
        channel = operator.channel_id or hook.default_channel_id
        if not channel:
            raise InvalidMessageError(
                "channel_id",
                f"not given, and the connection {operator.bird_conn_id!r} has no default "
                "channel_id extra",
            )
        channel = channel_id(channel)
    except (InvalidMessageError, BirdError) as exc:
        raise AirflowFailException(f"Invalid {operator.message_kind}: {exc}") from None
    try:
        operator._check_channel(hook, channel)
    except BirdError as exc:
        # A failed check sent nothing, so a passing outage may be retried by Airflow.
        raise (AirflowException if exc.retryable else AirflowFailException)(str(exc)) from None

    ti = context.get("ti") if context else None
    build = _builder(content, options, ti)
    ledger = (
        _ledger(context, content_key(channel, content, options), log) if remember_sent else None
    )
    checking = operator.use_batch_api and operator.check_batch_results
    try:
        already = ledger.load() if ledger else {}
        if checking and already:
            already = _recheck_batches(hook, channel, ledger, already, durable=True)
        to_send = [r for r in recipients if r not in already]
        if already:
            log.info(
                "%d of %d recipient(s) already got this %s in an earlier try; sending to the "
                "other %d",
                len(recipients) - len(to_send),
                len(recipients),
                operator.message_kind,
                len(to_send),
            )
        log.info(
            "Sending %s to %d recipient(s) on channel %s%s",
            operator.message_kind,
            len(to_send),
            channel,
            " through the batch API" if operator.use_batch_api else "",
        )
        report = deliver(
            hook.client,
            channel,
            to_send,
            build,
            max_concurrency=operator.max_concurrency,
            use_batch_api=operator.use_batch_api,
            on_accepted=ledger.record if ledger else None,
        )
        if checking and report.batch_ids:
            _check_batches(hook, channel, ledger, report, durable=ledger is not None)
    finally:
        hook.client.close()
    earlier = [
        {"recipient": r, "message_id": already[r][0], "status": "already_sent"}
        for r in recipients
        if r in already
    ]
    result = _finish(operator, report, earlier, len(recipients), durable=ledger is not None)
    if ledger:
        ledger.complete()
    return result


def _check_batches(hook, channel: str, ledger, report: SendReport, *, durable: bool) -> None:
    """List the batches just sent; rejected messages become failures (and are forgotten by
    the ledger, so a retry sends them)."""
    try:
        rejected = confirm_batches(hook.client, channel, report)
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


def _builder(content: dict, options: dict, ti: Any):
    if "reference" in options or ti is None:
        return lambda recipient: build_message(recipient, options=options, **content)
    ids = (ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1))

    def build(recipient: str) -> dict:
        reference = default_reference(*ids, recipient)
        return build_message(recipient, options={**options, "reference": reference}, **content)

    return build


def _ledger(context: Any, content: str, log: logging.Logger) -> SentLedger | None:
    store = context.get("task_state_store") if context else None
    if store is None:
        log.warning(
            "No task state store (it needs Airflow 3.3+): if this task is retried, recipients "
            "already sent to may get the message again."
        )
        return None
    return SentLedger(store, content)


def _finish(
    operator: _BirdSendOperator,
    report: SendReport,
    earlier: list[dict],
    total: int,
    *,
    durable: bool,
) -> list[dict] | dict:
    log = operator.log
    sent = len(report.accepted) + len(earlier)
    log.info("Bird accepted %d of %d %s(s)", sent, total, operator.message_kind)
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
        if not tolerable or operator.fail_on_partial_failure:
            _fail(operator, report, reasons, sent, total, durable)
        log.warning(
            "%d %s(s) not sent; continuing (fail_on_partial_failure=False)",
            len(failed),
            operator.message_kind,
        )
    entries = earlier + report.accepted + failed
    if total <= operator.xcom_entries_limit:
        return entries
    return {
        "total": total,
        "accepted": len(report.accepted),
        "already_sent": len(earlier),
        "failed": len(failed),
        "failures": failed[:_LISTED_FAILURES],
        "batch_ids": report.batch_ids,
        "entries_omitted": f"more than xcom_entries_limit={operator.xcom_entries_limit} "
        "recipients; per-recipient entries are not pushed to XCom",
    }


def _fail(operator, report: SendReport, reasons: list[str], sent: int, total: int, durable):
    """Raise the task's failure: a summary, and whether an Airflow retry may help."""
    lines = [
        f"{sent} of {total} {operator.message_kind}(s) accepted, {len(report.failures)} failed"
        + (f", {report.not_attempted} not attempted" if report.not_attempted else "")
        + (f" (stopped early: {report.aborted_by})" if report.aborted_by is not None else "")
        + (":" if report.failures else "")
    ]
    lines += [
        f"  {mask_phone(f.recipient)}: {reason}"
        for f, reason in zip(report.failures[:_LISTED_FAILURES], reasons, strict=False)
    ]
    if len(report.failures) > _LISTED_FAILURES:
        lines.append(f"  ... and {len(report.failures) - _LISTED_FAILURES} more")
    errors = [f.error for f in report.failures]
    if report.aborted_by is not None:
        errors.append(report.aborted_by)
    unknown = sum(isinstance(f.error, BirdAmbiguousError) for f in report.failures)
    if unknown:
        lines.append(
            f"{unknown} message(s) may have been accepted although no answer came: look them "
            "up in Bird by their reference before sending them again."
        )
    # An Airflow retry is worth it when an error may pass (429, 5xx, connection), and safe
    # when the ledger stops it repeating what Bird accepted; a message whose fate is unknown
    # is never sent again automatically.
    aborted = report.aborted_by
    retryable = (
        (aborted is None or aborted.retryable) and any(e.retryable for e in errors) and not unknown
    )
    if retryable and not durable and report.accepted:
        retryable = False
        lines.append(
            "Not retried: without a task state store (Airflow 3.3+) a retry would send again "
            "to the recipients already accepted."
        )
    raise (AirflowException if retryable else AirflowFailException)("\n".join(lines))
