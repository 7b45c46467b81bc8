"""Deterministic message references, so every message can be found again in Bird."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def task_seed(dag_id: str, run_id: str, task_id: str, map_index: int, *more: object) -> tuple:
    """What a task instance's default references derive from; `more` tells apart other
    messages of the same task instance (a callback's alert, say) from the ones it sends."""
    return (dag_id, run_id, task_id, str(map_index), *map(str, more))


def reference_for(seed: Sequence[str], recipient: str) -> str:
    """The ``reference`` set on a message when the DAG author gives none.

    The same for every try of a task instance, so a message whose fate is unknown (a timed-out
    send) can be looked up in Bird by it; opaque, because run ids and phone numbers do not
    belong in a reference a support desk may read aloud."""
    key = "\x1f".join((*seed, recipient))
    return "airflow-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def default_reference(
    dag_id: str, run_id: str, task_id: str, map_index: int, recipient: str
) -> str:
    """The default reference of a send operator's message to `recipient`."""
    return reference_for(task_seed(dag_id, run_id, task_id, map_index), recipient)
