"""Daily report: every weekday evening, draw the sales chart and send it as an MMS to the
managers. The chart is a file the DAG makes; the operator uploads it to Bird once and every
message carries the media URL Bird returned (docs/operators/media.md)."""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from datetime import datetime

from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_sms.operators.mms import SendMmsOperator

MANAGERS = ["+1 415 555 2671", "+1 212 555 0123"]
# Where charts are kept: object storage the workers share (s3://, gs://, ...) in production;
# a local folder is enough when every task runs on one machine.
REPORTS = ObjectStoragePath(
    os.environ.get("SALES_REPORTS_URL", f"file://{tempfile.gettempdir()}/sales-reports")
)


def bar_chart_png(values: list[int], width: int = 240, height: int = 120) -> bytes:
    """A bar chart as PNG bytes (standard library only; a real pipeline would use its
    plotting library's savefig)."""
    bar = width // len(values)
    top = max(values)
    rows = []
    for y in range(height):
        row = bytearray(b"\0")  # PNG filter type "none"
        for x in range(width):
            filled = values[x // bar] * height >= (height - y) * top and x % bar < bar - 4
            row += bytes((31, 119, 180)) if filled else bytes((255, 255, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


with DAG(
    dag_id="example_mms_daily_report",
    schedule="0 18 * * 1-5",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "mms", "bird"],
) as dag:

    @task
    def draw_chart(ds=None) -> ObjectStoragePath:
        sales_by_region = [42, 57, 31, 66]  # a real pipeline queries its warehouse here
        chart = REPORTS / f"sales-{ds}.png"
        chart.parent.mkdir(parents=True, exist_ok=True)
        chart.write_bytes(bar_chart_png(sales_by_region))
        return chart

    SendMmsOperator(
        task_id="send_report",
        recipients=MANAGERS,
        images=[{"url": draw_chart(), "alt_text": "Sales by region"}],
        title="Sales report {{ ds }}",
        text="Today's sales by region. Full report: https://reports.example.com/{{ ds }}",
    )
