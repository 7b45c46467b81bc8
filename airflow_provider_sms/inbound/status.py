"""How a delivery-status wait ends: what its final summary means for the task (a result, or a
failure naming the failed), recipients the send never sent to counted as failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from airflow_provider_sms import metrics
from airflow_provider_sms.bird.facts import CARRIER_CAP_CODES
from airflow_provider_sms.bird.ids import checked_uuid
from airflow_provider_sms.bird.status import LISTED_FAILURES, NOT_SENT, Tally
from airflow_provider_sms.compat import AirflowFailException, AirflowSensorTimeout


def check_ids(field: str, ids: Sequence[Any]) -> None:
    """Bird's message and batch ids are UUIDs: anything else is refused before polling."""
    for index, value in enumerate(ids):
        checked_uuid(value, f"{field}[{index}]")


def _with_unsent(event: dict, unsent: int, failures: Sequence[dict] = ()) -> dict:
    """`event` (an outcome or a summary) with `unsent` recipients the send never sent to
    counted as failed (`failures`: the first of them, recipients masked)."""
    if not unsent:
        return event
    counts = Counter(event.get("counts", {}))
    counts[NOT_SENT] += unsent
    listed = [*failures, *event.get("failures", [])]
    result = {
        **event,
        "total": event.get("total", 0) + unsent,
        "counts": dict(sorted(counts.items())),
        "failed": event.get("failed", 0) + unsent,
        "failures": listed[:LISTED_FAILURES],
    }
    if event.get("status") == "success":
        result["status"] = "failure"
    return result


def _describe(failure: dict) -> str:
    if failure.get("batch_id"):
        line = f"  batch {failure['batch_id']}: {failure['status']}"
    elif failure.get("message_id"):
        line = f"  {failure['message_id']} to {failure['recipient']}: {failure['status']}"
    else:
        line = f"  to {failure['recipient']}: {failure['status']}"
    if failure.get("reason"):
        line += f": {failure['reason']}"
    if failure.get("code") is not None:
        line += f" (failure code {failure['code']})"
    if failure.get("carrier_cap"):
        line += f" [carrier cap {failure['carrier_cap']}]"
    return line


def _carrier_caps(caps: dict[str, int]) -> str:
    """What the US carriers' caps that failed messages mean, and how many each failed."""
    named = [
        f"{code} {CARRIER_CAP_CODES[code][0]} ({CARRIER_CAP_CODES[code][1]}): {count}"
        for code, count in caps.items()
    ]
    return (
        f"  {sum(caps.values())} failed on US carriers' caps, which Bird still charges for: "
        + "; ".join(named)
    )


def conclude(
    event: dict[str, Any],
    log,
    unsent: tuple[int, Sequence[dict]] = (0, ()),
    *,
    tags: dict[str, str] | None = None,
) -> dict:
    """A wait's outcome from the trigger's (or a poke's) summary; `unsent` (from
    ``SendResult.unsent``) counts as failed. Its final counts go to the metrics, with
    `tags`."""
    if event.get("status") == "error":
        raise AirflowFailException(f"MessageStatusSensor: {event.get('error')}")
    event = _with_unsent(event, unsent[0], unsent[1])
    summary = {k: v for k, v in event.items() if k != "status"}
    metrics.statuses(summary.get("counts") or {}, tags or {})
    if event.get("status") == "success":
        log.info("Every message reached a success status: %s", summary["counts"])
        return summary
    if event.get("status") == "timeout":
        pending = sum(summary["pending"].values())
        text = (
            f"Timed out with {pending} message(s) still pending: {summary['pending']} "
            f"(all: {summary['counts']})"
        )
        scheduled = summary.get("scheduled")
        if scheduled:
            due = scheduled["first_due"]
            if scheduled["last_due"] != due:
                due = f"from {due} to {scheduled['last_due']}"
            text += (
                f"; {scheduled['count']} still scheduled (not sent yet), due {due}: the wait "
                "ended before Bird was due to send them"
            )
        if summary.get("empty_batches"):
            text += f"; batch(es) that listed no message: {', '.join(summary['empty_batches'])}"
        if summary.get("failed"):
            text += f"; {summary['failed']} failed"
        if summary.get("last_error"):
            text += f"; the last poll failed: {summary['last_error']}"
        raise AirflowSensorTimeout(text)
    if not summary["total"] and not summary["failed"]:
        raise AirflowFailException("Nothing to wait for: no message was named")
    lines = [f"{summary['failed']} of {summary['total']} message(s) failed: {summary['counts']}"]
    if summary.get("carrier_caps"):
        lines.append(_carrier_caps(summary["carrier_caps"]))
        log.error(lines[-1].strip())
    for failure in summary["failures"]:
        line = _describe(failure)
        lines.append(line)
        log.error(line.strip())
    if summary["failed"] > len(summary["failures"]):
        lines.append(f"  ... and {summary['failed'] - len(summary['failures'])} more")
    raise AirflowFailException("\n".join(lines))


def say_unknown_statuses(tally: Tally, log: Any) -> None:
    """Name, once each, the statuses Bird reported that the provider does not know."""
    for status, count in tally.newly_unknown().items():
        log.warning(
            "Bird reports status %r, which the provider does not know, for %d message(s): "
            "counted as pending",
            status,
            count,
        )
