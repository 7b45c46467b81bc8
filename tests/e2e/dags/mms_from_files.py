"""MMS whose image a task of the same run wrote: to a temporary path, or to object storage
(`MMS_STORAGE_URL`: a `file://` folder or fsspec's in-memory filesystem, `memory://`); and a
send of 1,000 that the test kills part-way (`MMS_CHART`, a fixed path)."""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, ObjectStoragePath, task

from airflow_provider_sms.operators.mms import SendMmsOperator

RECIPIENTS = ["+14155552671", "+12125550123", "+13125550199"]
STORAGE = os.environ.get("MMS_STORAGE_URL", "memory://charts")
if STORAGE.startswith("memory://"):
    import fsspec

    try:
        from airflow.sdk.io import attach
    except ModuleNotFoundError:  # Airflow 2
        from airflow.io.store import attach

    attach("memory", fs=fsspec.filesystem("memory"))


def png(width: int = 64) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\0" + bytes((x * 4 % 256, 90, 200)) * 1 for x in range(width))
    header = struct.pack(">IIBBBBB", 1, width, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


with DAG(dag_id="mms_from_temp_file", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def draw_to_temp() -> str:
        handle, path = tempfile.mkstemp(suffix=".png")
        with os.fdopen(handle, "wb") as chart:
            chart.write(png())
        return path

    SendMmsOperator(task_id="send", recipients=RECIPIENTS, images=[draw_to_temp()], text="Chart")


with DAG(dag_id="mms_from_object_storage", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def draw_to_storage() -> ObjectStoragePath:
        chart = ObjectStoragePath(STORAGE) / "sales.png"
        chart.parent.mkdir(parents=True, exist_ok=True)
        chart.write_bytes(png())
        return chart

    SendMmsOperator(task_id="send", recipients=RECIPIENTS, images=draw_to_storage(), text="Chart")


with DAG(dag_id="mms_upload_killed", schedule=None, start_date=datetime(2026, 1, 1)):
    SendMmsOperator(
        task_id="send",
        recipients=[f"+316{24000000 + i}" for i in range(1000)],
        images=os.environ.get("MMS_CHART", "/nonexistent.png"),
        allow_mms_outside_us_ca=True,
        max_concurrency=8,
        retries=2,
        retry_delay=timedelta(seconds=1),
    )
