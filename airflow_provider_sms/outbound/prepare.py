"""What every send does before its first request: its policy (the operator's arguments,
checked), bad input and failed pre-send checks as task failures, and what default references
derive from. Nothing has been sent when any of these raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow_provider_sms.bird.errors import (
    BirdConfigurationError,
    BirdError,
    InvalidMessageError,
)
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
    # An alert's cooldown (seconds): not sent to a recipient Bird lists another alert of its
    # group (``Outgoing.reference_group``) to within it.
    cooldown: float | None = None
    # Which of the task's sends this is, when a task makes several (BirdHook's TaskFlow
    # verbs): its own ledger (``outbound.ledger``); the first, like an operator's, has none.
    record: str = ""


@contextmanager
def invalid_input(kind: str) -> Iterator[None]:
    """Bad arguments or connection settings fail the task without retries: a retry would
    meet them again. Nothing has been sent at this point."""
    try:
        yield
    except BirdConfigurationError as exc:
        # The connection, not the message: its error names the connection and the field.
        raise AirflowFailException(f"Bird {exc}") from None
    except (InvalidMessageError, BirdError) as exc:
        raise AirflowFailException(f"Invalid {kind}: {exc}") from None


@contextmanager
def pre_send_check() -> Iterator[None]:
    """A failed check sent nothing, so a passing outage may be retried by Airflow."""
    try:
        yield
    except BirdError as exc:
        raise (AirflowException if exc.retryable else AirflowFailException)(str(exc)) from None


def check_caps(
    outgoing: Any,
    settings: Any,
    *,
    max_messages: Any,
    max_total_segments: Any = None,
    with_segments: bool = False,
) -> None:
    """Fail a send over its caps before any request, naming both numbers. Messages are
    counted after de-duplication and exclusions; a cap not given is the connection's extra
    of the same name; segments (``Outgoing.segments`` each) are counted `with_segments`. A
    cap that is not a whole number from 1 up is an InvalidMessageError naming it."""
    from airflow_provider_sms.bird.settings import MAX_CAP

    messages = len(outgoing.recipients)
    counts = [("max_messages", max_messages, messages, "message(s)")]
    if with_segments:
        segments = messages * outgoing.segments
        counts.append(("max_total_segments", max_total_segments, segments, "segment(s)"))
    for name, cap, count, what in counts:
        source = name
        if cap is None:
            cap, source = getattr(settings, name), f"the connection's extra.{name}"
        elif isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CAP:
            raise InvalidMessageError(
                name, f"must be a whole number from 1 to {MAX_CAP}, got {cap!r}"
            )
        if cap is not None and count > cap:
            raise AirflowFailException(
                f"{outgoing.kind}: {count} {what} to send (after de-duplication and exclusions)"
                f", more than {source} allows ({cap}); nothing was sent"
            )


def reference_seed(context: Any, record: str = "") -> tuple | None:
    """What a send's default references derive from: the task instance and its `max_tries`,
    the same on every try until a clear (which sends anew); and which of the task's sends
    this is (`record`, see ``SendPolicy``)."""
    ti = context.get("ti") if context else None
    if ti is None:
        return None
    map_index = getattr(ti, "map_index", -1)
    seed = send_seed(ti.dag_id, ti.run_id, ti.task_id, map_index, max_tries_of(ti))
    return (*seed, record) if record else seed


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
