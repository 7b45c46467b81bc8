"""The exactly-once send: `deliver()` is the one call a send operator or the notifier makes.

A send skips what an earlier try of this run of the task instance already sent, reconciles
with Bird what an earlier try left in flight, sends the rest (recorded in the write-ahead
ledger before and after), checks batches, and shapes the result (`outcome`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import compat, metrics
from airflow_provider_sms.bird.cooldown import Claim, claim
from airflow_provider_sms.bird.errors import BirdError, BirdListingUnclearError
from airflow_provider_sms.bird.fanout import Accepted, SendReport
from airflow_provider_sms.bird.reconcile import MAX_PAGES
from airflow_provider_sms.compat import AirflowException, AirflowFailException
from airflow_provider_sms.message.outgoing import Outgoing, group_prefix
from airflow_provider_sms.outbound.ledger import (
    ALREADY_SENT,
    Earlier,
    Ledger,
    TryStore,
    max_tries_of,
)
from airflow_provider_sms.outbound.prepare import SendPolicy, pre_send_check
from airflow_provider_sms.outbound.result import (
    SendResult,
    finish,
    log_suppressed,
    preview,
    summary,
)
from airflow_provider_sms.outbound.uploads import Media, upload
from airflow_provider_sms.redaction import mask_phone

if TYPE_CHECKING:
    # Only named in annotations: the hook's TaskFlow verbs call into this layer.
    from airflow_provider_sms.hooks.bird import BirdHook

# How far back to look for in-flight messages when the first try's start is unknown, and how
# long Bird is given to list a message it accepted.
RECONCILE_LOOKBACK = 24 * 3600.0
RECONCILE_SETTLE = 2.0
# How far back an alert looks for itself (a callback Airflow ran twice runs again within
# minutes), and at most how many pages of the channel's messages it reads for that.
ALERT_LOOKBACK = 3600.0
ALERT_PAGES = 20


@dataclass(frozen=True)
class ThisTry:
    """What a send knows of its try from the task's context: when it `began` (any earlier
    try had ended by then), when its DAG run began (no try of it sent anything before), and
    whether Airflow counts an earlier try (`retry`)."""

    began: float
    run_began: float
    retry: bool

    @classmethod
    def of(cls, context: Any) -> ThisTry | None:
        ti = context.get("ti")
        if ti is None:
            return None
        now = time.time()
        began = getattr(ti, "start_date", None)
        run_began = getattr(context.get("dag_run"), "start_date", None)
        try_number = getattr(ti, "try_number", None)
        return cls(
            began=min(began.timestamp(), now) if began is not None else now,
            run_began=run_began.timestamp() if run_began is not None else now - RECONCILE_LOOKBACK,
            retry=isinstance(try_number, int) and try_number > 1,
        )


def deliver(
    hook: BirdHook,
    outgoing: Outgoing,
    policy: SendPolicy,
    *,
    context: Any,
    log: logging.Logger,
    check: Callable[[BirdHook, str], None] | None = None,
    media: Media | None = None,
) -> list[dict] | dict:
    """Send `outgoing` once per recipient, whatever happens to the try (or, with
    ``policy.dry_run``, only show what would be sent). `check` runs first against the
    channel (a failed check sends nothing); `media` (files read by ``outbound.uploads``) is
    uploaded next, once; `context` is the task's (its task state store keeps the ledger).
    Its figures go to the provider's metrics (``airflow_provider_sms.metrics``)."""
    tags = metrics.tags(outgoing.kind, hook.bird_conn_id, context)
    metrics.count("messages.suppressed", len(outgoing.suppressed), tags)
    try:
        return _deliver(hook, outgoing, policy, context, log, check, media, tags)
    finally:
        metrics.requests(hook.request_figures(), tags)


def _deliver(hook, outgoing, policy, context, log, check, media, tags) -> list[dict] | dict:
    log_suppressed(outgoing, log)
    if hook.settings.dry_run:
        log.warning(
            "The connection %r is a staging one (extra.dry_run): this %s is a dry run, and "
            "nothing is sent through it, whatever the task says",
            hook.bird_conn_id,
            outgoing.kind,
        )
    if policy.dry_run or hook.settings.dry_run:
        # Rendered and checked; nothing is asked of Bird, not even the channel.
        metrics.count("messages.dry_run", len(outgoing.recipients), tags)
        return preview(outgoing, log=log, media=media)
    if not outgoing.recipients:
        log.info("Every recipient is in exclude_recipients: nothing to send")
        return SendResult.entries(outgoing)
    if check is not None:
        with pre_send_check():
            check(hook, outgoing.channel_id)
    context = context or {}
    store = compat.task_state_store(context)
    max_tries = max_tries_of(context.get("ti"))
    if media:
        outgoing = upload(
            hook, outgoing, media, store=store, max_tries=max_tries, log=log, record=policy.record
        )
    if policy.alert:
        return alert(hook, outgoing, policy, log=log, tags=tags)
    return send(
        hook,
        outgoing,
        policy,
        store=store,
        max_tries=max_tries,
        log=log,
        this_try=ThisTry.of(context),
        tags=tags,
    )


def alert(
    hook: BirdHook,
    outgoing: Outgoing,
    policy: SendPolicy,
    *,
    log: logging.Logger,
    tags: dict[str, str] | None = None,
) -> None:
    """Send a callback's alert, unless Bird already lists it: Airflow may run a callback
    twice for one event (apache/airflow#56942), and the alert's references are the same both
    times; with ``policy.cooldown``, unless another alert of the notifier's group reached the
    recipient within it (`_outside_cooldown`). When Bird cannot tell, the alert goes out: a
    lost alert costs more than a second one."""
    recipients = list(outgoing.recipients)
    if outgoing.reference_seed is not None:
        found = _look_up_alert(hook, outgoing, recipients, time.time() - ALERT_LOOKBACK, log=log)
        if found:
            log.info(
                "This alert is already in Bird for %d recipient(s) (%s): not sent again "
                "(the callback ran before for this event)",
                len(found),
                ", ".join(mask_phone(r) for r in list(found)[:5]),
            )
            recipients = [r for r in recipients if r not in found]
    claims: dict[str, Claim] = {}
    if policy.cooldown and recipients:
        due, claims = _outside_cooldown(hook, outgoing, recipients, policy.cooldown, log=log)
        metrics.count("messages.suppressed", len(recipients) - len(due), tags or {})
        recipients = due
    if not recipients:
        return
    report = hook.send(outgoing, recipients, max_concurrency=policy.max_concurrency)
    # An alert surely not sent leaves its cooldown to the next; one in doubt keeps it.
    in_doubt = set(report.in_doubt)
    for failure in report.failures:
        if failure.recipient in claims and failure.recipient not in in_doubt:
            claims[failure.recipient].release()
    metrics.sent(len(report.accepted), len(report.failures), outgoing.segments, tags or {})
    # A refusal must show in the logs: the callback's failure is all there is.
    if not report.ok:
        raise AirflowException(f"SmsNotifier: {summary(outgoing.kind, report)}")
    log.info("Bird accepted the %s for %d recipient(s)", outgoing.kind, len(report.accepted))


def _outside_cooldown(
    hook: BirdHook, outgoing: Outgoing, recipients: list[str], cooldown: float, *, log
) -> tuple[list[str], dict[str, Claim]]:
    """Of `recipients`, those no other alert of the group reached within `cooldown`, and
    their claims: Bird's listing is asked first (the record, across hosts and restarts), then
    each left is claimed (``bird.cooldown``), so that of alerts going out at once, before
    Bird lists any, one does."""
    say = (
        "Not sent to %s: an alert of this notifier went out to them at %s, within its "
        "cooldown of %s"
    )
    window = timedelta(seconds=cooldown)
    earlier = _look_up_alert(
        hook, outgoing, recipients, time.time() - cooldown, log=log, of_group=True
    )
    for recipient, message in earlier.items():
        log.info(say, mask_phone(recipient), message.get("createdAt", "a time not given"), window)
    due: list[str] = []
    claims: dict[str, Claim] = {}
    settings = hook.settings
    for recipient in recipients:
        if recipient in earlier:
            continue
        taken = claim(
            f"{settings.base_url}|{settings.workspace_id}|{outgoing.channel_id}|"
            + group_prefix(outgoing.reference_group, recipient),
            cooldown,
            redis_url=settings.rate_limit_redis_url,
            redis_password=settings.rate_limit_redis_password,
        )
        if taken is not None and not taken.granted:
            log.info(
                say + " (claimed in %s; Bird does not list it yet)",
                mask_phone(recipient),
                datetime.fromtimestamp(taken.held_since, UTC).isoformat(timespec="milliseconds"),
                window,
                taken.where,
            )
            continue
        if taken is not None:
            claims[recipient] = taken
        due.append(recipient)
    return due, claims


def _look_up_alert(
    hook: BirdHook,
    outgoing: Outgoing,
    recipients: list[str],
    since: float,
    *,
    log: logging.Logger,
    of_group: bool = False,
) -> dict[str, dict]:
    """The recipients Bird lists this alert for (of its group, with `of_group`) since
    `since`: recipient -> message. Those it cannot tell about are not among them."""
    if of_group:
        what = "an alert of this notifier went out within its cooldown"
        # A claim may still hold the alert back (`_outside_cooldown`).
        then = "; going by this alert's claim, if any"
    else:
        what, then = "this alert was sent before", "; sending"
    try:
        lookup = hook.find_sent(
            outgoing,
            recipients,
            since,
            max_pages=MAX_PAGES if of_group else ALERT_PAGES,
            of_group=of_group,
        )
    except BirdError as exc:
        log.warning("Could not check whether %s (%s)%s", what, exc, then)
        return {}
    unclear = lookup.unknown([r for r in recipients if r not in lookup.found])
    if unclear:
        log.warning(
            "Could not tell whether %s, for %d recipient(s) (%s)%s",
            what,
            len(unclear),
            next(iter(unclear.values())),
            then,
        )
    return lookup.found


def send(
    hook: BirdHook,
    outgoing: Outgoing,
    policy: SendPolicy,
    *,
    store: Any,
    max_tries: int,
    log: logging.Logger,
    this_try: ThisTry | None = None,
    tags: dict[str, str] | None = None,
) -> list[dict] | dict:
    """Send `outgoing` to each recipient not already sent to, and report.

    With a task state `store`, recipients are recorded in flight before they are sent and
    as sent once Bird accepts them, so that a later try of this run of the task instance
    (the same `max_tries`) never sends twice: it skips what was sent and reconciles with Bird what
    was in flight. Without one (Airflow before 3.3), Bird is the record: every try looks each
    recipient up in Bird by reference (an earlier try may have sent to anyone, and Airflow
    does not always count one: `airflow tasks test` runs a task instance again as its first
    try), as a try with a store looks up those in flight."""
    # A seed (default references) comes from the task instance, so there is a try to know of.
    bird_is_record = store is None and outgoing.reference_seed is not None and this_try is not None
    if bird_is_record:
        store = TryStore()
    ledger = Ledger(store, max_tries=max_tries, record=policy.record) if store is not None else None
    if ledger is None:
        log.warning(
            "No task state store (it needs Airflow 3.3+) and a `reference` of the task's own: "
            "once Bird accepted any of this %s, a failed try is not retried.",
            outgoing.kind,
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
    since = earlier.started
    if bird_is_record:
        # An earlier try may have sent to anyone: only Bird can tell whom.
        log.info(
            "No task state store (it needs Airflow 3.3+): every recipient is looked up in "
            "Bird, in case an earlier try sent to it, before anything is sent to it"
        )
        in_doubt, since = list(outgoing.recipients), this_try.run_began
    elif earlier.lost_groups:
        # Whoever the lost part held may have been sent to: only Bird can tell.
        log.warning(
            "Part of this send's record in the task state store is gone (%d group(s)); every "
            "recipient not recorded as sent is looked up in Bird before anything is sent to it",
            len(earlier.lost_groups),
        )
        in_doubt = [r for r in outgoing.recipients if r not in earlier.sent]
    if in_doubt:
        began = this_try.began if this_try else time.time()
        # Where Airflow counts no earlier try, the look in Bird is only in case the task
        # instance was run again outside its count (`airflow tasks test`): one look, and a
        # look that cannot tell does not stop the send.
        first_try = bird_is_record and not this_try.retry
        found, unknown = _reconcile(
            hook,
            outgoing,
            ledger,
            in_doubt,
            since,
            began,
            log,
            every=bird_is_record,
            second_look=not first_try,
        )
        already.update(found)
        if unknown and first_try:
            log.warning(
                "Bird could not tell whether %d recipient(s) got this %s before (%s); sending "
                "to them, as this is the task instance's first try",
                len(unknown),
                outgoing.kind,
                next(iter(unknown.values())),
            )
            unknown = {}
    if ledger is None and this_try is not None and this_try.retry:
        reason = (
            "an earlier try may have sent it, and neither a task state store (Airflow 3.3+) "
            "nor Bird (the task sets its own `reference`) can tell"
        )
        unknown = dict.fromkeys(outgoing.recipients, reason)
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

    def count(accepted: list[Accepted], refused: list[str]) -> None:
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
                "store (Airflow 3.3+) and with a `reference` of the task's own, a retry could "
                "not tell whom they went to."
            ) from exc
        raise
    if checking and report.accepted:
        report = _check_batches(hook, outgoing.channel_id, ledger, report)
    earlier = [already[r] for r in recipients if r in already]
    metrics.sent(len(report.accepted), len(report.failures), outgoing.segments, tags or {})
    return finish(outgoing, policy, report, earlier, unknown, log, durable=ledger)


def _reconcile(
    hook: BirdHook,
    outgoing: Outgoing,
    ledger: Ledger,
    in_doubt: list[str],
    started: float | None,
    try_began: float,
    log: logging.Logger,
    *,
    every: bool = False,
    second_look: bool = True,
) -> tuple[dict[str, Accepted], dict[str, str]]:
    """Settle recipients an earlier try left in flight: found in Bird, they count as sent
    (with Bird's id); not found after a settle time, they are sent again; when Bird cannot
    tell, they are `unknown` and nothing is sent to them."""
    log.info(
        "%d recipient(s) %s; looking them up in Bird",
        len(in_doubt),
        "may have been sent to by an earlier try"
        if every
        else "were in flight when an earlier try ended",
    )
    if outgoing.reference_seed is None:
        reason = (
            "the task sets its own `reference`, which is not unique to a recipient, so "
            "Bird's messages cannot be matched to them"
        )
        return {}, dict.fromkeys(in_doubt, reason)
    since = started if started is not None else time.time() - RECONCILE_LOOKBACK
    found: dict[str, Accepted] = {}
    unknown: dict[str, str] = {}
    missing = in_doubt
    pages = 0
    try:
        for attempt in range(2 if second_look else 1):
            if attempt:
                # Bird may list a just-accepted message a moment later: the earlier try
                # ended before this one began.
                time.sleep(max(0.0, try_began + RECONCILE_SETTLE - time.time()))
            lookup = hook.find_sent(outgoing, missing, since)
            pages += lookup.pages
            found.update(
                (r, Accepted(r, m.get("id"), ALREADY_SENT, m.get("batchId")))
                for r, m in lookup.found.items()
            )
            missing = [r for r in missing if r not in found]
            unknown = lookup.unknown(missing)
            # "Not found" counts only where the lookup saw the whole window.
            if not missing or unknown:
                break
    except BirdError as exc:
        reason = f"listing the channel's messages failed: {exc}"
        unknown = {r: reason for r in in_doubt if r not in found}
    missing = [r for r in missing if r not in unknown]
    ledger.settle(list(found.values()), missing)
    log.info(
        "Of them, %d were found in Bird (not sent again), %d were not (sent now) and %d "
        "cannot be told (not sent); %d page(s) of the channel's messages read",
        len(found),
        len(missing),
        len(unknown),
        pages,
    )
    return found, unknown


def _check_batches(hook, channel: str, ledger, report: SendReport) -> SendReport:
    """List the batches just sent: the report with each message's id and status, rejected
    messages among its failures (and forgotten by the ledger, so a retry sends them)."""
    try:
        check = hook.confirm_batches(channel, report)
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
        ledger.settle(check.accepted, check.rejected)
    return check.applied_to(report)


def _recheck_batches(
    hook, channel: str, ledger, already: dict[str, Accepted]
) -> dict[str, Accepted]:
    """Before skipping what an earlier try sent in batches but never checked, check it."""
    unchecked = [
        Accepted(r, None, "submitted", entry.batch_id, in_batch=True)
        for r, entry in already.items()
        if entry.unchecked
    ]
    if not unchecked:
        return already
    report = SendReport(accepted=unchecked, batch_ids=sorted({e.batch_id for e in unchecked}))
    report = _check_batches(hook, channel, ledger, report)
    still_sent = {r: entry for r, entry in already.items() if not entry.unchecked}
    still_sent.update({e.recipient: e for e in report.accepted})
    return still_sent
