"""Every HTTP call of the provider keeps a deadline for its whole answer and reads a bounded
part of it (docs/errors.md#slow-or-endless-answers), against a real server on loopback that
trickles its answer or sends a huge one: Bird's API through the client (every endpoint goes
through one request method), the connection test, and the media upload to a storage host,
alone and through SendMmsOperator."""

import gzip
import json
import time
import tracemalloc
from types import SimpleNamespace

import pytest
from hostile_http import Answer, HostileServer
from support import MemoryStore, png

from airflow_provider_sms.bird.client import MAX_ANSWER_BYTES, BirdClient
from airflow_provider_sms.bird.errors import BirdConnectionError, BirdError, BirdUploadError
from airflow_provider_sms.bird.objects import Presigned
from airflow_provider_sms.bird.settings import ClientSettings
from airflow_provider_sms.bird.upload import STORAGE_ANSWER_BYTES, post_form

WORKSPACE = "7a0c0d3e-6f7b-4f0e-9a3e-1d2c3b4a5f60"
CHANNEL = "0b6e7f3a-2c1d-4e5f-8a9b-0c1d2e3f4a5b"
# connect + read timeouts: the deadline of a whole answer
DEADLINE = 1.5
# What a loaded machine may add to a deadline before the server sees the client hang up; a
# call's wall time, which also holds what comes before its request, is given twice that.
SLACK = 2.5
HUGE = 64 * 2**20
TRICKLES = {
    "head": Answer(head_drip=0.05),
    "body": Answer(
        status=400, body=b"<Error><Code>Slow</Code></Error>" + b" " * 400, body_drip=0.05
    ),
}


def settings(base_url: str, **overrides) -> ClientSettings:
    values = {
        "access_key": "test-key",
        "workspace_id": WORKSPACE,
        "base_url": base_url,
        "connect_timeout": 0.5,
        "read_timeout": 1.0,
        "max_retries": 0,
        **overrides,
    }
    return ClientSettings(**values)


def cut_short(server: HostileServer, deadline: float | None = None):
    """The one request the server got, whose client hung up before the answer ended (by
    `deadline` seconds after the request, and some slack)."""
    served = server.outcome()
    assert not served.finished
    assert served.hung_up is not None
    if deadline is not None:
        assert served.hung_up < deadline + SLACK
    return served


@pytest.mark.parametrize("kind", TRICKLES)
def test_a_bird_answer_trickled_a_byte_at_a_time_ends_at_the_deadline(kind):
    with HostileServer(TRICKLES[kind]) as server, BirdClient(settings(server.url)) as client:
        started = time.monotonic()
        with pytest.raises(BirdConnectionError) as e:
            client.get_channel(CHANNEL)
        took = time.monotonic() - started
        cut_short(server, DEADLINE)
    assert f"the answer did not complete within {DEADLINE:g}s" in str(e.value)
    assert took < DEADLINE + 2 * SLACK


def raises_within(error: type[Exception], call) -> tuple[BaseException, int]:
    """The error `call()` raised, and the peak of the memory traced while it ran."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as e:
            call()
        return e.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def gzip_bomb() -> Answer:
    packed = gzip.compress(b"0" * HUGE)
    return Answer(body=packed, headers=("Content-Encoding: gzip",))


@pytest.mark.parametrize("kind", ["plain", "gzip"])
def test_a_huge_bird_answer_is_not_read_past_its_bound(kind):
    answer = gzip_bomb() if kind == "gzip" else Answer(body=b'{"id": "', body_size=HUGE)
    with HostileServer(answer) as server, BirdClient(settings(server.url)) as client:
        error, peak = raises_within(BirdError, lambda: client.get_channel(CHANNEL))
        if kind == "plain":
            # What the kernel's socket buffers took beyond the bound, at most; a gzip
            # bomb is small on the wire, and its bound is on the bytes it unpacks to.
            assert cut_short(server).body_sent < MAX_ANSWER_BYTES + 16 * 2**20
    assert f"HTTP 200 answer is longer than {MAX_ANSWER_BYTES:,} bytes: not read" in str(error)
    assert peak < 3 * MAX_ANSWER_BYTES


def test_a_redirect_is_followed_without_reading_its_body():
    endless = Answer(status=302, headers=("Location: /again",), body=b"x", body_size=HUGE // 4)
    # A deadline the 31 answers fit in on a busy machine: the redirects are the subject here.
    with (
        HostileServer(endless) as server,
        BirdClient(settings(server.url, read_timeout=10.0)) as client,
    ):
        error, peak = raises_within(BirdConnectionError, lambda: client.get_channel(CHANNEL))
    assert peak < 4 * 2**20
    assert "the answers kept redirecting (more than 30)" in str(error)
    assert len(server.served) == 31


def test_the_connection_test_reports_a_trickled_answer_within_its_deadline(monkeypatch):
    from airflow_provider_sms.hooks.bird import BirdHook

    with HostileServer(Answer(head_drip=0.05, seconds=40)) as server:
        connection = {
            "conn_type": "bird",
            "host": server.url,
            "password": "test-key",
            "extra": {"workspace_id": WORKSPACE},
        }
        monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(connection))
        hook = BirdHook()
        assert hook.settings.base_url == server.url  # read before the clock starts
        started = time.monotonic()
        ok, message = hook.test_connection()
        took = time.monotonic() - started
        cut_short(server, 8)
    # The connection test's own timeouts: 3 s to connect, 5 s to read.
    assert not ok and "the answer did not complete within 8s" in message
    assert server.url in message and "test-key" not in message
    assert took < 8 + 2 * SLACK


def presigned(server: HostileServer) -> Presigned:
    return Presigned("https://media.example.com/a.png", f"{server.url}/upload", {"key": "a.png"})


def upload(client: BirdClient, server: HostileServer) -> None:
    post_form(client, presigned(server), png(), content_type="image/png", filename="a.png")


@pytest.mark.parametrize("kind", TRICKLES)
def test_an_upload_answer_trickled_a_byte_at_a_time_ends_at_the_deadline(kind):
    with HostileServer(TRICKLES[kind]) as server, BirdClient(settings(server.url)) as client:
        started = time.monotonic()
        with pytest.raises(BirdUploadError) as e:
            upload(client, server)
        took = time.monotonic() - started
        cut_short(server, DEADLINE)
    assert e.value.retryable
    assert f"the answer did not complete within {DEADLINE:g}s" in str(e.value)
    assert f"POST {server.url}/upload" in str(e.value)
    assert took < DEADLINE + 2 * SLACK


def test_a_huge_upload_error_is_read_only_as_far_as_its_code():
    refusal = Answer(status=403, body=b"<Error><Code>AccessDenied</Code>", body_size=HUGE)
    with HostileServer(refusal) as server, BirdClient(settings(server.url)) as client:
        error, peak = raises_within(BirdUploadError, lambda: upload(client, server))
        served = cut_short(server)
    assert error.status == 403 and "AccessDenied" in str(error)
    assert not error.retryable
    assert peak < 2**20 + 100 * STORAGE_ANSWER_BYTES
    assert served.body_sent < 16 * 2**20


@pytest.mark.parametrize("kind", ["trickled", "huge"])
def test_an_mms_whose_storage_host_misbehaves_fails_in_time_and_in_bounds(
    checked_sandbox, tmp_path, monkeypatch, kind
):
    from airflow.providers.common.compat.sdk import AirflowException

    from airflow_provider_sms.operators.mms import SendMmsOperator

    answer = (
        Answer(head_drip=0.05, seconds=40)
        if kind == "trickled"
        else Answer(status=503, body=b"<Error><Code>SlowDown</Code>", body_size=HUGE)
    )
    chart = tmp_path / "sales.png"
    chart.write_bytes(png(1_000))
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=0, timeout=1)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    with HostileServer(answer) as server:
        fields = {
            "mediaUrl": "https://media.example.com/sales.png",
            "uploadUrl": f"{server.url}/upload",
            "uploadMethod": "POST",
            "uploadFormData": {"key": "sales.png"},
        }
        checked_sandbox.inject("body", path="/presigned-upload", body=json.dumps(fields))
        op = SendMmsOperator(task_id="t", recipients=["+14155552671"], images=str(chart))
        ti = SimpleNamespace(
            dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=1, max_tries=3
        )
        started = time.monotonic()
        with pytest.raises(AirflowException) as e:
            op.execute({"ti": ti, "task_state_store": MemoryStore()})
        took = time.monotonic() - started
        served = cut_short(server, 6)
    assert f"uploading {chart} to Bird failed" in str(e.value)
    assert "nothing was sent" in str(e.value)
    assert checked_sandbox.messages == []
    # The connection's 5 s to connect and 1 s to read: a 6 s deadline.
    if kind == "trickled":
        assert "the answer did not complete within 6s" in str(e.value)
        assert took < 6 + 2 * SLACK
    else:
        assert "SlowDown" in str(e.value)
        assert served.body_sent < 16 * 2**20
