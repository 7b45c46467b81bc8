"""Deterministic message references, so every message can be found again in Bird."""

from __future__ import annotations

import hashlib
import json


def default_reference(
    dag_id: str, run_id: str, task_id: str, map_index: int, recipient: str
) -> str:
    """The ``reference`` set on a message when the DAG author gives none.

    The same for every try of a task instance, so a message whose fate is unknown (a timed-out
    send) can be looked up in Bird by it; opaque, because run ids and phone numbers do not
    belong in a reference a support desk may read aloud."""
    key = "\x1f".join((dag_id, run_id, task_id, str(map_index), recipient))
    return "airflow-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def content_key(channel_id: str, content: dict, options: dict) -> str:
    """A short digest of what is sent (channel, body or template, options): what a retry
    compares to decide that a recipient already got *this* message."""
    canonical = json.dumps(
        {"channel": channel_id, "content": content, "options": options},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]
