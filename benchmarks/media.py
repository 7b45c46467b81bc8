"""What a file costs an MMS send: one 200 KB PNG sent to 10 and to 10,000 recipients against
the sandbox (in its own process, 50 ms latency), counting the uploads and the bytes that
reached the storage host, and timing the upload (presign and form post) apart from the send.
The 10-recipient send is the baseline measured in the same run."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

SIZES = (10, 10_000)
PNG_BYTES = 200_000


def _png(size: int) -> bytes:
    """A PNG signature and padding: the operator checks the bytes' type and size, and the
    sandbox stores whatever it is given."""
    return b"\x89PNG\r\n\x1a\n" + b"\0" * (size - 8)


def _send(sandbox, chart: Path, recipients: int) -> dict:
    from airflow_provider_sms.hooks.bird import BirdHook
    from airflow_provider_sms.operators.mms import SendMmsOperator
    from benchmarks._env import numbers

    sandbox.reset()
    timed = {"upload_s": 0.0}
    upload_media = BirdHook.upload_media

    def timed_upload(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return upload_media(self, *args, **kwargs)
        finally:
            timed["upload_s"] += time.perf_counter() - started

    BirdHook.upload_media = timed_upload
    try:
        op = SendMmsOperator(
            task_id="bench",
            recipients=numbers(recipients),
            images=[str(chart)],
            allow_mms_outside_us_ca=True,
            check_mms_capability=False,
        )
        started = time.perf_counter()
        op.execute(context={})
        timed["send_s"] = time.perf_counter() - started
    finally:
        BirdHook.upload_media = upload_media
    uploads = sandbox.control("GET", "uploads")["results"]
    timed["uploads"] = len(uploads)
    timed["uploaded_bytes"] = sum(u["size"] for u in uploads)
    return timed


def run(sandbox_process) -> list[tuple[int, dict]]:
    with tempfile.TemporaryDirectory() as folder:
        chart = Path(folder) / "chart.png"
        chart.write_bytes(_png(PNG_BYTES))
        with sandbox_process(latency=0.05) as sandbox:
            os.environ.update(sandbox.connection_env)
            return [(size, _send(sandbox, chart, size)) for size in SIZES]
