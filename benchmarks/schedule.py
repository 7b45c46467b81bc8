"""The cost of `local_window` for 100,000 recipients: building the message for all of them
(recipients checked, each one's due time, each request body and the digest, as a send or a
dry run does before any request), beside the same without it, in the same run."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

RECIPIENTS = 100_000
RUNS = 3
CHANNEL = "6b52e9cb-2ddf-45b5-8aea-62882e999fb7"


def mixed_numbers(count: int) -> list[str]:
    """Netherlands, US (several area codes) and Japan, in turn."""
    prefixes = ["+3162", "+1415555", "+1212555", "+81901"]
    widths = [7, 4, 4, 7]
    return [
        f"{prefixes[i % 4]}{(i // 4) % 10 ** widths[i % 4]:0{widths[i % 4]}d}" for i in range(count)
    ]


def _build(recipients: list[str], now: datetime, **schedule) -> float:
    from airflow_provider_sms.message.bodies import text_body
    from airflow_provider_sms.message.outgoing import Outgoing

    started = time.perf_counter()
    outgoing = Outgoing.build(
        kind="SMS",
        recipients=recipients,
        channel_id=CHANNEL,
        content={"body": text_body("Your appointment is tomorrow.")},
        now=now,
        **schedule,
    )
    for recipient in outgoing.recipients:
        outgoing.request(recipient)
    outgoing.digest  # noqa: B018
    return time.perf_counter() - started


def run() -> tuple[float, float, float]:
    """(seconds without, seconds with local_window, ratio), medians of RUNS."""
    from airflow_provider_sms.message import recipients as recipients_module

    recipients = mixed_numbers(RECIPIENTS)
    now = datetime.now(UTC)
    _build(recipients[:1000], now, local_window=("09:00", "17:00"))  # warm up
    plain, windowed = [], []
    for _ in range(RUNS):
        plain.append(_build(recipients, now))
        # Each send starts with no zone looked up yet, as a task's process does.
        recipients_module._zones.cache_clear()
        windowed.append(_build(recipients, now, local_window=("09:00", "17:00")))
    without, with_window = statistics.median(plain), statistics.median(windowed)
    return without, with_window, with_window / without


if __name__ == "__main__":
    without, with_window, ratio = run()
    print(f"without: {without:.2f} s, with local_window: {with_window:.2f} s, ratio {ratio:.3f}")
