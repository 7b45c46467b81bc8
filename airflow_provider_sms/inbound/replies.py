"""Waiting for a reply: whose numbers (given, or the recipients of a send), since when, and
what a wait that ends without one says it saw (counts only, numbers masked)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.bird.incoming import Cursor
from airflow_provider_sms.bird.objects import inbound_message
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.inbound.filter import InboundFilter
from airflow_provider_sms.outbound.result import SendResult, is_send_result
from airflow_provider_sms.redaction import mask_phone


def reply_numbers(value: Any) -> Any:
    """The numbers a reply may come from: `value` as given (numbers), or, for what a send
    operator returned, the recipients it sent to."""
    if is_send_result(value):
        numbers = SendResult.read(value, "from_numbers").recipients()
        if not numbers:
            raise InvalidMessageError(
                "from_numbers", "the send's result names no recipient it sent to"
            )
        return numbers
    return value


def wanted_replies(
    from_numbers: Any, pattern: Any, *, default_region: str | None = None
) -> InboundFilter:
    """The checked filter; a sensor needs at least one number."""
    numbers = reply_numbers(from_numbers)
    if numbers in (None, "", [], ()):
        raise InvalidMessageError("from_numbers", "at least one number is required")
    return InboundFilter.build(from_numbers=numbers, pattern=pattern, default_region=default_region)


def moment(value: Any, field: str = "after") -> float:
    """A point in time as a UNIX time: an aware datetime, an RFC 3339 string or a number."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidMessageError(field, f"needs a time zone, got {value.isoformat()}")
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.timestamp()
    raise InvalidMessageError(
        field, f"expected an aware datetime or an RFC 3339 time with its offset, got {value!r:.60}"
    )


@dataclass
class Seen:
    """Inbound messages a wait looked at: from the awaited numbers (not matching the
    pattern), and from other numbers."""

    not_matching: int = 0
    other_numbers: int = 0

    def describe(self, wanted: InboundFilter) -> str:
        numbers = sorted(wanted.from_numbers)
        who = ", ".join(mask_phone(n) for n in numbers[:3])
        if len(numbers) > 3:
            who += f" and {len(numbers) - 3} more"
        what = f" matching {wanted.pattern.pattern!r}" if wanted.pattern else ""
        return (
            f"no reply from {who}{what}; saw {self.not_matching} from them that did not "
            f"match and {self.other_numbers} from other numbers"
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# Messages already reported as left out (by key), so that each is reported once: a bounded
# memory, since a reader may run for weeks.
_REPORTED: OrderedDict[str, None] = OrderedDict()
_REPORTED_AT_MOST = 10_000
_REPORTED_LOCK = threading.Lock()  # scans run on worker threads
_log = logging.getLogger(__name__)


def report_left_out(
    left_out: Iterable[tuple[str, str]], channel_id: str, log: logging.Logger = _log
) -> None:
    """Warn, once per message, of the inbound messages a scan could not take."""
    for key, why in left_out:
        with _REPORTED_LOCK:
            if key in _REPORTED:
                continue
            _REPORTED[key] = None
            if len(_REPORTED) > _REPORTED_AT_MOST:
                _REPORTED.popitem(last=False)
        log.warning(
            "An inbound message on channel %s (%s) is left out: it has %s", channel_id, key, why
        )


def incoming_replies(
    hook: BirdHook, channel_id: str, cursor: Cursor, *, cancel: threading.Event | None = None
) -> tuple[list[dict], list[tuple[str, float] | Cursor]]:
    """The inbound messages not behind `cursor`, oldest first (as ``inbound_message``
    shapes them), and the positions to move the cursor past them: their (id, createdAt),
    then the scan's own cursor, so that passing them all moves the cursor past every message
    the scan read (sent ones included), or to where a window read part-way goes on."""
    scan = hook.incoming_messages(channel_id, since=cursor, cancel=cancel)
    report_left_out(scan.left_out, channel_id)
    return [inbound_message(m) for m in scan.messages], [*scan.positions, scan.cursor]


def look_for_reply(
    hook: BirdHook,
    channel_id: str,
    cursor: Cursor,
    wanted: InboundFilter,
    seen: Seen,
    *,
    cancel: threading.Event | None = None,
) -> tuple[dict | None, Cursor]:
    """The first (oldest) wanted inbound message not behind `cursor`, or None; counts the
    others in `seen`, and returns the cursor moved past what it looked at."""
    replies, positions = incoming_replies(hook, channel_id, cursor, cancel=cancel)
    for index, reply in enumerate(replies):
        if wanted.matches(reply):
            return reply, cursor.passed(positions[: index + 1])
        if reply["from"] in wanted.from_numbers:
            seen.not_matching += 1
        else:
            seen.other_numbers += 1
    return None, cursor.passed(positions)


def pushed_reply(
    pushed: Iterable[dict], after: float, wanted: InboundFilter, seen: Seen
) -> dict | None:
    """The first wanted reply among messages Bird pushed (their order), created at `after`
    or later; counts the others in `seen`."""
    for message in pushed:
        reply = inbound_message(message)
        if reply is None:
            continue
        try:
            if moment(reply["received_at"], "createdAt") < after:
                continue
        except InvalidMessageError:
            continue
        if wanted.matches(reply):
            return reply
        if reply["from"] in wanted.from_numbers:
            seen.not_matching += 1
        else:
            seen.other_numbers += 1
    return None
