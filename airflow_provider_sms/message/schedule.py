"""When each message is due: ``send_at`` and per-recipient local windows become each
message's ``scheduledFor``. Pure: "now" is passed in, the time zones come from the number.

The rules (docs/scheduling.md):

- ``send_at`` alone: every message is due then.
- ``local_window`` (``(start, end)`` local times, end excluded; ``end < start`` crosses
  midnight): each recipient's message is due at the earliest moment at or after ``send_at``
  (or now) that lies inside the window in the recipient's time zones, from phonenumbers'
  time-zone data. A region with several zones gets the earliest moment inside the window in
  all of them (rule ``all``); when no such moment exists within Bird's 35 days, the earliest
  moment inside the window in the most of its zones (rule ``most``). A number whose zone is
  unknown is taken as UTC (rule ``unknown``).
- A recipient already inside its window now, with no ``send_at``, is sent at once: its
  request has no ``scheduledFor``.

Work is done once per distinct zone tuple, so many recipients cost one lookup each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.bird.facts import MAX_SCHEDULE_AHEAD_DAYS

# Bird may send a message due sooner than this at once (CreateMessage, scheduledFor).
SEND_AT_ONCE_WITHIN = timedelta(minutes=10)
# A send_at this far in the past is still taken (a clock skew, a slow start); further, refused.
PAST_TOLERANCE = timedelta(minutes=1)
HORIZON = timedelta(days=MAX_SCHEDULE_AHEAD_DAYS)
UNKNOWN_ZONE = "Etc/Unknown"
FALLBACK_ZONE = "UTC"

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, as Bird writes times: ``2026-12-03T08:00:00.000Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def check_send_at(value: Any, now: datetime) -> datetime | None:
    """``send_at`` as an aware UTC datetime (None stays None); refuses a naive datetime, an
    unparsable string, a time more than a minute before ``now`` or more than 35 days after."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _RFC3339.fullmatch(text):
            raise InvalidMessageError(
                "send_at",
                f"not an RFC 3339 time with an offset (e.g. 2026-12-03T09:00:00Z): {value!r:.60}",
            )
        try:
            value = datetime.fromisoformat(text.upper().replace(" ", "T"))
        except ValueError:
            raise InvalidMessageError("send_at", f"not a valid time: {value!r:.60}") from None
    elif not isinstance(value, datetime):
        raise InvalidMessageError(
            "send_at",
            f"expected an aware datetime or an RFC 3339 string, got {type(value).__name__}",
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidMessageError(
            "send_at", "a naive datetime has no time zone: give one (e.g. tzinfo=UTC)"
        )
    moment = datetime.fromtimestamp(value.timestamp(), UTC)
    if moment < now - PAST_TOLERANCE:
        raise InvalidMessageError("send_at", f"{rfc3339(moment)} is in the past")
    if moment > now + HORIZON:
        raise InvalidMessageError(
            "send_at",
            f"{rfc3339(moment)} is more than {MAX_SCHEDULE_AHEAD_DAYS} days ahead (Bird's limit)",
        )
    return moment


def _local_time(value: Any, index: int) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise InvalidMessageError("local_window", f"item {index}: a local time has no zone")
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str):
        match = _HHMM.fullmatch(value.strip())
        if match:
            return time(int(match[1]), int(match[2]))
        raise InvalidMessageError("local_window", f"item {index}: not HH:MM: {value!r:.20}")
    raise InvalidMessageError(
        "local_window",
        f"item {index}: expected HH:MM or a datetime.time, got {type(value).__name__}",
    )


@dataclass(frozen=True)
class Window:
    """Local times ``[start, end)``; ``end < start`` crosses midnight."""

    start: time
    end: time

    @classmethod
    def check(cls, value: Any) -> Window | None:
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, list | tuple) or len(value) != 2:
            raise InvalidMessageError(
                "local_window",
                f"expected a pair of local times such as ('09:00', '20:00'), got {value!r:.60}",
            )
        start, end = _local_time(value[0], 0), _local_time(value[1], 1)
        if start == end:
            raise InvalidMessageError("local_window", "empty: start and end are the same time")
        return cls(start, end)

    def holds(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(FALLBACK_ZONE if name == UNKNOWN_ZONE else name)


def zones_of(recipient: str) -> tuple[str, ...]:
    """The recipient's time zones (E.164), as phonenumbers gives them."""
    import phonenumbers
    from phonenumbers import timezone

    return tuple(timezone.time_zones_for_number(phonenumbers.parse(recipient)))


def _first_instant_from(local: datetime, info: ZoneInfo) -> datetime:
    """The first instant (UTC) whose wall clock in ``info`` reads ``local`` (naive) or later:
    ``local`` itself, or when a spring-forward gap skips it, the instant the gap ends (03:00
    on New York's spring-forward day for 02:30)."""
    moment = local.replace(tzinfo=info).astimezone(UTC)
    if moment.astimezone(info).replace(tzinfo=None) == local:
        return moment
    # In a gap, fold=1 reads the wall time with the offset after it, an instant before the
    # gap; fold=0 with the offset before it, one after. The gap ends between the two, where
    # the wall clock first reads `local` or later.
    before = int(local.replace(tzinfo=info, fold=1).timestamp())
    after = int(moment.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, info).replace(tzinfo=None) >= local:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def earliest_in_window(
    zones: tuple[str, ...], window: Window, start: datetime, limit: datetime
) -> tuple[datetime | None, str]:
    """The earliest moment in ``[start, limit]`` inside ``window`` in every zone, and the rule
    used (``single``, ``all``, ``most``, ``unknown``; None: no such moment)."""
    rule = "single" if len(zones) == 1 else "all"
    if all(z == UNKNOWN_ZONE for z in zones):
        zones, rule = (FALLBACK_ZONE,), "unknown"
    infos = [_zone(z) for z in dict.fromkeys(zones)]
    # The earliest moment of the intersection is `start` or the start of a zone's window.
    candidates = {start}
    for info in infos:
        day = start.astimezone(info).date() - timedelta(days=1)
        last = limit.astimezone(info).date()
        while day <= last:
            moment = _first_instant_from(datetime.combine(day, window.start), info)
            if start <= moment <= limit:
                candidates.add(moment)
            day += timedelta(days=1)
    best: tuple[int, datetime] | None = None
    for moment in sorted(candidates):
        inside = sum(window.holds(moment.astimezone(info).time()) for info in infos)
        if inside == len(infos):
            return moment, rule
        if inside and (best is None or inside > best[0]):
            best = (inside, moment)
    if best is None:
        return None, rule
    return best[1], "most"


@dataclass(frozen=True)
class Schedule:
    """Each recipient's due time (RFC 3339 UTC), or none: sent at once."""

    due: Mapping[str, str] = field(default_factory=dict)
    send_at: str | None = None
    window: str | None = None
    rules: Mapping[str, int] = field(default_factory=dict)
    # Recipients due less than 10 minutes after "now": Bird may send them at once.
    soon: int = 0

    def __bool__(self) -> bool:
        return bool(self.due)

    def due_for(self, recipient: str) -> str | None:
        return self.due.get(recipient)


def plan(
    recipients: Iterable[str],
    *,
    send_at: Any = None,
    local_window: Any = None,
    now: datetime,
    zones: Mapping[str, tuple[str, ...]] | None = None,
) -> Schedule:
    """Each recipient's due time from ``send_at`` and ``local_window`` (raises
    InvalidMessageError naming the field). ``zones``: each recipient's time zones when
    already known (``normalize_recipients`` gives them), else looked up."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    now = now.astimezone(UTC)
    moment = check_send_at(send_at, now)
    window = Window.check(local_window)
    recipients = tuple(recipients)
    if window is None:
        if moment is None:
            return Schedule()
        stamp = rfc3339(moment)
        soon = len(recipients) if moment - now < SEND_AT_ONCE_WITHIN else 0
        return Schedule(dict.fromkeys(recipients, stamp), stamp, None, {}, soon)
    start = moment or now
    limit = now + HORIZON
    groups: dict[tuple[str, ...], list[str]] = {}
    known = zones if zones is not None else {}
    for recipient in recipients:
        group = known.get(recipient) or zones_of(recipient)
        members = groups.get(group)
        if members is None:
            groups[group] = [recipient]
        else:
            members.append(recipient)
    due: dict[str, str] = {}
    rules: Counter = Counter()
    soon = 0
    for group, members in groups.items():
        when, rule = earliest_in_window(group, window, start, limit)
        if when is None:
            raise InvalidMessageError(
                "local_window",
                f"no moment inside {window} in {', '.join(group)} between "
                f"{rfc3339(start)} and Bird's limit of {MAX_SCHEDULE_AHEAD_DAYS} days",
            )
        rules[rule] += len(members)
        # Already inside the window with no send_at: sent at once, no scheduledFor.
        if when == start and moment is None:
            continue
        due.update(dict.fromkeys(members, rfc3339(when)))
        if when - now < SEND_AT_ONCE_WITHIN:
            soon += len(members)
    return Schedule(due, rfc3339(moment) if moment else None, str(window), dict(rules), soon)


def due_hours(dues: Iterable[str | None]) -> dict[str, int]:
    """Counts by due hour (``2026-12-03T09Z``; ``now`` for those sent at once)."""
    counts: Counter = Counter(d[:13] + "Z" if d else "now" for d in dues)
    return dict(sorted(counts.items()))
