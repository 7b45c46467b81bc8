"""What the provider's metrics cost a send when the deployment has metrics off (Airflow's
default): the send's throughput as shipped, against the same send with the metric calls and
the client's request figures made no-ops (the code before metrics), interleaved in one run.
The sandbox answers at once and the limiter allows 10,000 requests/s, so the send is bound by
this machine's CPU, where any per-request cost would show."""

from __future__ import annotations

import json
import os
import statistics
import time
from contextlib import contextmanager

from benchmarks._env import numbers

RECIPIENTS = 2000
PAIRS = 10


@contextmanager
def _without_metrics():
    from airflow_provider_sms import metrics
    from airflow_provider_sms.bird.client import RequestFigures

    saved = {name: getattr(metrics, name) for name in ("count", "sent", "requests", "statuses")}
    add = RequestFigures.add
    for name in saved:
        setattr(metrics, name, lambda *args, **kwargs: None)
    RequestFigures.add = lambda self, **kwargs: None
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(metrics, name, function)
        RequestFigures.add = add


def _send(sandbox) -> float:
    from airflow_provider_sms.operators.sms import SendSmsOperator

    op = SendSmsOperator(
        task_id="bench", recipients=numbers(RECIPIENTS), text="Your parcel arrives today."
    )
    sandbox.reset()
    started = time.perf_counter()
    op.execute(context={})
    return RECIPIENTS / (time.perf_counter() - started)


def run(sandbox_process) -> tuple[float, float, float]:
    """Median msg/s before metrics and with them off, and the median of the ratios of runs
    side by side (each pair in turn in either order, so that a drift of the machine's speed
    favours neither)."""
    with sandbox_process(latency=0.0) as sandbox:
        conn = sandbox.connection
        conn["extra"]["max_requests_per_second"] = 10000
        os.environ["AIRFLOW_CONN_BIRD_DEFAULT"] = json.dumps(conn)
        _send(sandbox)  # warm up: imports, connections
        before, off = [], []
        for pair in range(PAIRS):
            if pair % 2:
                off.append(_send(sandbox))
            with _without_metrics():
                before.append(_send(sandbox))
            if not pair % 2:
                off.append(_send(sandbox))
    ratios = [o / b for b, o in zip(before, off, strict=True)]
    return statistics.median(before), statistics.median(off), statistics.median(ratios)
