"""How a send operator's arguments say to send and what to return."""

from __future__ import annotations

from dataclasses import dataclass


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
