"""SendMmsOperator with files: read and checked before any request, uploaded once through the
sandbox's presigned upload, the media URL Bird returned in every message, and a retry that
reuses the upload."""

from collections import Counter
from types import SimpleNamespace

import fsspec
import pytest
import requests
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    ObjectStoragePath,
)
from support import MemoryStore, numbers, png, receiver

from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.outbound.ledger import Ledger

US = ["+14155552671", "+12125550123", "+13125550199"]


def context(store, try_number=1):
    ti = SimpleNamespace(
        dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=try_number, max_tries=3
    )
    return {"ti": ti, "task_state_store": store}


def media_urls(message: dict) -> list[str]:
    body = message["body"]
    return [m["mediaUrl"] for m in body[body["type"]][f"{body['type']}s"]]


def storage_requests(sandbox):
    return [r for r in sandbox.requests if r.path.startswith("/_storage/upload")]


def test_a_png_file_goes_out_once_uploaded_to_every_recipient(checked_sandbox, tmp_path):
    chart = tmp_path / "sales.png"
    chart.write_bytes(png(20_000))
    op = SendMmsOperator(
        task_id="t",
        recipients=US,
        images=[{"url": str(chart), "alt_text": "Sales"}],
        text="Sales today",
    )
    results = op.execute(context(MemoryStore()))
    assert [r["status"] for r in results] == ["accepted"] * 3
    [upload] = checked_sandbox.uploads
    assert upload.data == chart.read_bytes()
    assert upload.content_type == "image/png"
    assert {receiver(m) for m in checked_sandbox.messages} == set(US)
    for message in checked_sandbox.messages:
        assert media_urls(message) == [upload.media_url]
        assert message["body"]["image"]["images"][0]["altText"] == "Sales"
    shown = requests.get(upload.media_url, timeout=5)
    assert shown.content == chart.read_bytes()
    assert shown.headers["Content-Type"] == "image/png"
    posts = storage_requests(checked_sandbox)
    assert len(posts) == 1
    assert all(r.header("Authorization") is None for r in posts)
    key = checked_sandbox.connection()["password"]
    assert all(key not in str(r.headers) for r in posts)


def test_urls_and_files_mix_and_the_same_file_twice_is_one_upload(checked_sandbox, tmp_path):
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + b"0" * 5000)
    op = SendMmsOperator(
        task_id="t",
        recipients=US[:1],
        files=[
            f"file://{pdf}",
            {"url": str(pdf), "filename": "copy.pdf"},
            "https://billing.example.com/terms.pdf",
        ],
    )
    op.execute(context(MemoryStore()))
    [upload] = checked_sandbox.uploads
    [message] = checked_sandbox.messages
    assert message["body"]["file"]["files"] == [
        {
            "mediaUrl": upload.media_url,
            "contentType": "application/pdf",
            "filename": "invoice.pdf",
        },
        {"mediaUrl": upload.media_url, "contentType": "application/pdf", "filename": "copy.pdf"},
        {"mediaUrl": "https://billing.example.com/terms.pdf", "contentType": "application/pdf"},
    ]


@pytest.fixture
def memory_storage():
    """fsspec's in-memory filesystem, attached for ObjectStoragePath as `memory://`."""
    try:
        from airflow.sdk.io import attach
    except ModuleNotFoundError:  # Airflow 2
        from airflow.io.store import attach

    attach("memory", fs=fsspec.filesystem("memory"))
    yield
    fsspec.filesystem("memory").store.clear()


@pytest.mark.parametrize("storage", ["file", "memory"])
def test_an_object_storage_path_is_uploaded_like_a_file(
    checked_sandbox, tmp_path, memory_storage, storage
):
    base = f"file://{tmp_path}" if storage == "file" else "memory://reports"
    chart = ObjectStoragePath(f"{base}/sales.png")
    chart.parent.mkdir(parents=True, exist_ok=True)
    chart.write_bytes(png(3_000))
    op = SendMmsOperator(task_id="t", recipients=US, images=chart)
    op.execute(context(MemoryStore()))
    [upload] = checked_sandbox.uploads
    assert upload.data == chart.read_bytes()
    assert [media_urls(m) for m in checked_sandbox.messages] == [[upload.media_url]] * 3


def refusals(tmp_path):
    (tmp_path / "big.png").write_bytes(png(700_000))
    for i in range(3):
        (tmp_path / f"part{i}.png").write_bytes(png(400_000))
    (tmp_path / "chart.png").write_text("not a chart\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "ok.png").write_bytes(png())
    return {
        "a 700 KB PNG": (
            {"images": [str(tmp_path / "big.png")]},
            "images[0]",
            "big.png is 700,000 bytes (700 KB); Bird takes at most 600,000 bytes (600 KB)",
        ),
        "three 400 KB PNGs together": (
            {"images": [str(tmp_path / f"part{i}.png") for i in range(3)]},
            "images",
            "the files come to 1,200,000 bytes (1,200 KB) together",
        ),
        "a text file named chart.png": (
            {"images": str(tmp_path / "chart.png")},  # one item, not a list
            "images",
            "chart.png is not a PNG, JPEG or GIF image (its bytes are not an image)",
        ),
        "a directory": (
            {"images": [str(tmp_path / "folder")]},
            "images[0]",
            "folder is not a regular file",
        ),
        "a missing file": (
            {"files": [f"file://{tmp_path}/missing.pdf"]},
            "files[0]",
            "missing.pdf does not exist",
        ),
        "an empty file": (
            {"images": [str(tmp_path / "empty.png")]},
            "images[0]",
            "empty.png is empty",
        ),
        "11 items": (
            {"images": [str(tmp_path / "ok.png")] * 11},
            "images",
            "at most 10 items allowed (got 11)",
        ),
        "a relative path": (
            {"images": ["ok.png"]},
            "images[0]",
            "is not an absolute http(s) URL, an absolute path or a file:// URL",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "a 700 KB PNG",
        "three 400 KB PNGs together",
        "a text file named chart.png",
        "a directory",
        "a missing file",
        "an empty file",
        "11 items",
        "a relative path",
    ],
)
def test_a_file_bird_cannot_take_is_refused_before_any_request(checked_sandbox, tmp_path, case):
    media, field, problem = refusals(tmp_path)[case]
    op = SendMmsOperator(task_id="t", recipients=US, **media)
    with pytest.raises(AirflowFailException) as e:
        op.execute(context(MemoryStore()))
    assert f"{field}: " in str(e.value) and problem in str(e.value)
    assert checked_sandbox.requests == []


def test_a_large_image_goes_for_birds_resizing_only_when_allowed(checked_sandbox, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(png(700_000))
    op = SendMmsOperator(task_id="t", recipients=US[:1], images=str(big), allow_bird_resizing=True)
    op.execute(context(MemoryStore()))
    assert len(checked_sandbox.uploads[0].data) == 700_000


def test_a_dry_run_reads_and_checks_the_files_and_asks_nothing(checked_sandbox, tmp_path):
    chart = tmp_path / "sales.png"
    chart.write_bytes(png(1_000))
    op = SendMmsOperator(task_id="t", recipients=US, images=[str(chart)], dry_run=True)
    result = op.execute(context(MemoryStore()))
    assert result["uploads"] == [
        {"field": "images[0]", "source": str(chart), "content_type": "image/png", "size": 1_000}
    ]
    [sample, *_] = result["requests"]
    assert sample["body"]["image"]["images"][0]["mediaUrl"].startswith("bird-upload:")
    assert checked_sandbox.requests == []
    chart.write_text("no longer a PNG")
    with pytest.raises(AirflowFailException, match="not a PNG, JPEG or GIF"):
        op.execute(context(MemoryStore()))
    assert checked_sandbox.requests == []


class StoreThatDiesAfterSends(MemoryStore):
    """The task's process dies when it records the first messages Bird accepted: the upload
    and the recipients in flight are recorded, nothing as sent."""

    def set(self, key, value, **kwargs):
        if key.rsplit(":", 1)[-1].isdigit() and "sent" in value:
            raise SystemExit("killed")
        super().set(key, value, **kwargs)


def test_a_retry_after_a_kill_uploads_nothing_and_sends_each_recipient_once(
    checked_sandbox, tmp_path
):
    chart = tmp_path / "sales.png"
    chart.write_bytes(png(5_000))
    recipients = numbers(200)
    options = {"allow_mms_outside_us_ca": True, "max_concurrency": 4}
    op = SendMmsOperator(task_id="t", recipients=recipients, images=str(chart), **options)
    checked_sandbox.latency = 0.02
    dying = StoreThatDiesAfterSends()
    with pytest.raises(SystemExit):
        op.execute(context(dying))
    checked_sandbox.latency = 0
    first = len(checked_sandbox.messages)
    assert 0 < first < len(recipients)
    store = MemoryStore()
    store.values = dict(dying.values)
    again = SendMmsOperator(task_id="t", recipients=recipients, images=str(chart), **options)
    results = again.execute(context(store, try_number=2))
    assert len(checked_sandbox.uploads) == 1
    assert len(storage_requests(checked_sandbox)) == 1
    counts = Counter(receiver(m) for m in checked_sandbox.messages)
    assert counts == dict.fromkeys(recipients, 1)
    [url] = {u for m in checked_sandbox.messages for u in media_urls(m)}
    assert url == checked_sandbox.uploads[0].media_url
    assert sum(r["status"] == "already_sent" for r in results) == first
    assert Ledger(store, max_tries=3).uploads() != {}


# 408: Bird (or the storage host) did not get the whole request, so processed none of it.
@pytest.mark.parametrize("status", [503, 408])
@pytest.mark.parametrize("where", ["presign", "storage"])
def test_an_upload_that_keeps_failing_names_the_file_and_sends_nothing(
    checked_sandbox, tmp_path, where, status
):
    chart = tmp_path / "sales.png"
    chart.write_bytes(png(1_000))
    path = "/presigned-upload" if where == "presign" else "/_storage/upload"
    checked_sandbox.inject("status", count=50, status=status, path=path)
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=1, retry_backoff=0.01)
    op = SendMmsOperator(task_id="t", recipients=US, images=[str(chart)])
    with pytest.MonkeyPatch.context() as patch:
        import json

        patch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
        with pytest.raises(AirflowException) as e:
            op.execute(context(MemoryStore()))
    assert not isinstance(e.value, AirflowFailException)  # a retry may succeed
    assert f"images[0]: uploading {chart} to Bird failed" in str(e.value)
    assert "nothing was sent" in str(e.value)
    assert checked_sandbox.messages == []
    assert [r.status for r in checked_sandbox.requests if path in r.path] == [status] * 2


def test_a_refused_upload_fails_for_good_and_names_the_file(checked_sandbox, tmp_path):
    chart = tmp_path / "sales.png"
    chart.write_bytes(png(1_000))
    checked_sandbox.inject("status", count=1, status=403, path="/_storage/upload")
    op = SendMmsOperator(task_id="t", recipients=US, images=str(chart))
    with pytest.raises(AirflowFailException, match=r"uploading .*sales.png to Bird failed.*403"):
        op.execute(context(MemoryStore()))
    assert checked_sandbox.messages == []


@pytest.mark.parametrize(
    "upload",
    [
        {"presign_status": 201},
        {"upload_status": 201},
        {"upload_status": 200},
        {"media_host": "other"},
    ],
    ids=lambda u: "-".join(f"{k}={v}" for k, v in u.items()),
)
def test_every_way_bird_may_answer_an_upload_sends_birds_media_url(
    checked_sandbox, tmp_path, upload
):
    # Where Bird's documentation is silent the sandbox plays each alternative; the client
    # must follow each to the same result.
    checked_sandbox.upload = upload
    chart = tmp_path / "sales.png"
    chart.write_bytes(png(2_000))
    SendMmsOperator(task_id="t", recipients=US, images=[str(chart)]).execute(context(MemoryStore()))
    [stored] = checked_sandbox.uploads
    assert stored.data == chart.read_bytes()
    assert {tuple(media_urls(m)) for m in checked_sandbox.messages} == {(stored.media_url,)}
    assert requests.get(stored.media_url, timeout=5).content == stored.data
