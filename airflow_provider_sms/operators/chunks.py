"""Splitting a large recipient list into chunks, to send them with dynamic task mapping:

    SendSmsOperator.partial(task_id="send", text="...").expand(
        recipients=recipient_chunks(customers(), size=5000)
    )

Each mapped task instance sends one chunk, with default references unique per recipient (the
map index is part of them) and its own retry ledger, so each chunk is sent exactly once."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_sms.compat import task


@task(show_return_value_in_logs=False)  # the numbers must not be logged
def recipient_chunks(
    recipients: str | Sequence[str], size: int = 5000, default_region: str | None = None
) -> list[list[str]]:
    """`recipients` (a number, a list, an upstream task's XCom, or a comma-separated string)
    normalised to E.164 and de-duplicated, so that no number lands in two chunks, in lists of
    at most `size`. Invalid numbers fail this task, before anything is sent."""
    from airflow_provider_sms.message.recipients import normalize_recipients

    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size: must be a positive integer, got {size!r}")
    unique = normalize_recipients(recipients, default_region=default_region)
    return [unique[start : start + size] for start in range(0, len(unique), size)]
