"""How a delivery-status wait ends: which messages it follows (from what a send returned),
and what its final summary means for the task (a result, or a failure naming the failed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.bird.ids import checked_uuid
from airflow_provider_sms.bird.status import Tally, with_unsent
from airflow_provider_sms.outbound.result import UNSENT_STATUSES


def check_ids(field: str, ids: Sequence[Any]) -> None:
    """Bird's message and batch ids are UUIDs: anything else is refused before polling."""
    for index, value in enumerate(ids):
        checked_uuid(value, f"{field}[{index}]")


def message_targets(value: Any) -> tuple[list[str], list[str]]:
    """``(message ids, batch ids)`` from what a send operator returned (its per-recipient
    list, or its summary with ``batch_ids``), a list of ids, or one id. Each id is checked
    (a UUID); recipients the send never sent to are left out (see :func:`unsent_of`)."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, dict):
        batch_ids = value.get("batch_ids")
        if not isinstance(batch_ids, list) or not batch_ids:
            if value.get("failed") and value.get("failed") == value.get("total"):
                raise InvalidMessageError(
                    "message_ids", f"the send sent nothing: all {value['failed']} failed"
                )
            raise InvalidMessageError(
                "message_ids",
                "a send summary without batch_ids names no message to follow; send with "
                "use_batch_api=True, or raise xcom_entries_limit to get the message ids",
            )
        check_ids("batch_ids", batch_ids)
        return [], list(dict.fromkeys(batch_ids))
    if not isinstance(value, list | tuple) or not value:
        raise InvalidMessageError(
            "message_ids", f"expected message ids or a send task's result, got {value!r:.80}"
        )
    message_ids: list[str] = []
    batch_ids: list[str] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            checked_uuid(item, f"message_ids[{index}]")
            message_ids.append(item)
        elif isinstance(item, dict) and item.get("message_id"):
            checked_uuid(item["message_id"], f"message_ids[{index}].message_id")
            message_ids.append(item["message_id"])
        elif isinstance(item, dict) and item.get("batch_id"):
            checked_uuid(item["batch_id"], f"message_ids[{index}].batch_id")
            batch_ids.append(item["batch_id"])
        elif isinstance(item, dict) and item.get("status") in UNSENT_STATUSES:
            continue  # never sent: nothing to wait for (failures counted by unsent_of)
        else:
            raise InvalidMessageError(
                f"message_ids[{index}]", f"not a message id nor a send result: {item!r:.80}"
            )
    return list(dict.fromkeys(message_ids)), list(dict.fromkeys(batch_ids))


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
    return line


def conclude(event: dict[str, Any], log, unsent: tuple[int, Sequence[dict]] = (0, ())) -> dict:
    """A wait's outcome from the trigger's (or a poke's) summary; `unsent` (from
    ``bird.status.unsent_of``) counts as failed."""
    if event.get("status") == "error":
        raise AirflowFailException(f"MessageStatusSensor: {event.get('error')}")
    event = with_unsent(event, unsent[0], unsent[1])
    summary = {k: v for k, v in event.items() if k != "status"}
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
