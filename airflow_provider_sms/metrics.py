"""The provider's metrics, published through Airflow's `Stats` (StatsD or OpenTelemetry, as
the deployment's `[metrics]` section sets) under the prefix `bird.`: what each counts, and
the one place that emits them. A send emits a handful of figures when it ends, never one per
message, so that with metrics off (Airflow's Stats then does nothing) they cost nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

PREFIX = "bird"

# name -> what it counts; docs/production.md lists them with their tags.
COUNTERS = {
    "messages.accepted": "messages Bird accepted",
    "messages.failed": "messages Bird refused, or whose request failed",
    "messages.suppressed": "recipients left out: exclude_recipients, an alert's cooldown",
    "messages.dry_run": "messages a dry run (or a staging connection) did not send",
    "segments": "SMS segments of the messages Bird accepted (an MMS or template counts one)",
    "requests.throttled": "429 answers from Bird",
    "requests.retried": "requests made again after a 429, a 5xx or a connection failure",
    "status.<status>": "messages a status wait ended on, by their last status",
}
TIMERS = {
    "rate_limit.wait": "time requests waited for their turn under the rate limit, and after "
    "429s, in one send or wait (milliseconds)",
}
_STATUS = re.compile(r"[a-z][a-z_]{0,39}")


def _stats():
    from airflow_provider_sms.compat import Stats

    return Stats


def tags(
    kind: str | None, conn_id: str, context: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The tags of a send's or a wait's figures: the kind of message sent (none for a
    wait), the connection, and the task they come from."""
    found = {"conn_id": conn_id}
    if kind is not None:
        found["kind"] = kind.lower().replace(" ", "_")
    ti = (context or {}).get("ti")
    for name in ("dag_id", "task_id"):
        value = getattr(ti, name, None)
        if isinstance(value, str):
            found[name] = value
    return found


def count(name: str, value: int, tags: dict[str, str]) -> None:
    """Add `value` to the counter `name` (one of COUNTERS); nothing for 0."""
    if value:
        _stats().incr(f"{PREFIX}.{name}", value, tags=tags)


def sent(accepted: int, failed: int, segments: int, tags: dict[str, str]) -> None:
    """What one send (or alert) ended with: `segments` per accepted message."""
    count("messages.accepted", accepted, tags)
    count("messages.failed", failed, tags)
    count("segments", accepted * segments, tags)


def requests(figures: Mapping[str, float], tags: dict[str, str]) -> None:
    """What a client's requests met (``RequestFigures.take()``)."""
    count("requests.throttled", int(figures["throttled"]), tags)
    count("requests.retried", int(figures["retried"]), tags)
    if figures["waited"] > 0:
        _stats().timing(
            f"{PREFIX}.rate_limit.wait", timedelta(seconds=figures["waited"]), tags=tags
        )


def statuses(counts: Mapping[str, int], tags: dict[str, str]) -> None:
    """A status wait's final counts, by status (one Bird may add later counts as `other`)."""
    for status, number in counts.items():
        name = status if isinstance(status, str) and _STATUS.fullmatch(status) else "other"
        count(f"status.{name}", int(number), tags)
