"""What every send does before its first request: its policy (the operator's arguments,
checked), bad input and failed pre-send checks as task failures, and what default references
derive from. Nothing has been sent when any of these raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow_provider_sms.bird.errors import BirdError, InvalidMessageError
from airflow_provider_sms.compat import AirflowException, AirflowFailException
from airflow_provider_sms.message.outgoing import send_seed, task_seed
from airflow_provider_sms.outbound.ledger import max_tries_of


@dataclass(frozen=True)
class SendPolicy:
    """How to send and what to return; the operator's arguments, checked."""

    max_concurrency: int
    use_batch_api: bool = False
    check_batch_results: bool = False
    fail_on_partial_failure: bool = True
    xcom_entries_limit: int = 1000
    # Render and check, log what would be sent, send nothing.
    dry_run: bool = False
    # A callback's alert: no ledger; Bird is asked first whether this alert was already
    # sent (Airflow may run a callback twice), and those recipients are skipped.
    alert: bool = False


@contextmanager
def invalid_input(kind: str) -> Iterator[None]:
    """Bad arguments or connection settings fail the task without retries: a retry would
    meet them again. Nothing has been sent at this point."""
    try:
        yield
    except (InvalidMessageError, BirdError) as exc:
        raise AirflowFailException(f"Invalid {kind}: {exc}") from None


@contextmanager
def pre_send_check() -> Iterator[None]:
    """A failed check sent nothing, so a passing outage may be retried by Airflow."""
    try:
        yield
    except BirdError as exc:
        raise (AirflowException if exc.retryable else AirflowFailException)(str(exc)) from None


def reference_seed(context: Any) -> tuple | None:
    """What a send's default references derive from: the task instance and its `max_tries`,
    the same on every try until a clear (which sends anew)."""
    ti = context.get("ti") if context else None
    if ti is None:
        return None
    map_index = getattr(ti, "map_index", -1)
    return send_seed(ti.dag_id, ti.run_id, ti.task_id, map_index, max_tries_of(ti))


def alert_seed(context: Any) -> tuple | None:
    """What an alert's references derive from: the task instance (or DAG run) it is about,
    and the try, so each alert can be found in Bird, apart from what the task itself sends."""
    context = context or {}
    ti, dag_run = context.get("ti"), context.get("dag_run")
    if getattr(ti, "run_id", None) and getattr(ti, "dag_id", None):
        return task_seed(
            ti.dag_id,
            ti.run_id,
            getattr(ti, "task_id", ""),
            getattr(ti, "map_index", -1),
            "notification",
            getattr(ti, "try_number", 0),
        )
    if getattr(dag_run, "run_id", None) and getattr(dag_run, "dag_id", None):
        return task_seed(dag_run.dag_id, dag_run.run_id, "", -1, "notification")
    return None
