"""The Bird client over real HTTP against the sandbox: auth, retries, error mapping."""

import time

import pytest

from airflow_provider_sms.bird.errors import (
    BirdAmbiguousError,
    BirdAuthenticationError,
    BirdConfigurationError,
    BirdConflictError,
    BirdConnectionError,
    BirdNotFoundError,
    BirdRateLimitError,
    BirdServerError,
    BirdValidationError,
)
from airflow_provider_sms.bird.settings import ClientSettings
from bird_sandbox import MMS_CHANNEL_ID

SMS = {
    "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": "+31612345678"}]},
    "body": {"type": "text", "text": {"text": "hello"}},
}


@pytest.fixture
def client(bird_sandbox, make_client):
    with make_client() as client:
        yield client


def test_send_carries_access_key_user_agent_and_json(client, bird_sandbox):
    answer = client.send_message(MMS_CHANNEL_ID, SMS)
    assert answer["status"] == "accepted"
    [request] = bird_sandbox.requests
    assert request.headers["Authorization"] == f"AccessKey {bird_sandbox.access_key}"
    assert request.headers["User-Agent"].startswith("airflow-provider-sms/")
    assert request.json == SMS
    assert [m["id"] for m in bird_sandbox.messages] == [answer["id"]]


def test_one_pooled_connection_serves_many_requests(client, bird_sandbox):
    for _ in range(5):
        client.send_message(MMS_CHANNEL_ID, SMS)
    pool = client.session.get_adapter(bird_sandbox.base_url).poolmanager
    [key] = pool.pools.keys()
    connection_pool = pool.pools[key]
    assert connection_pool.num_connections == 1
    assert len(bird_sandbox.messages) == 5


def test_429_with_retry_after_is_retried_then_succeeds(client, bird_sandbox):
    bird_sandbox.inject("status", count=2, status=429, retry_after="0.2")
    started = time.monotonic()
    answer = client.send_message(MMS_CHANNEL_ID, SMS)
    assert answer["status"] == "accepted"
    # Two waits honouring Retry-After (0.2 s each), not the 0.01 s backoff.
    assert time.monotonic() - started >= 0.4
    assert [r.status for r in bird_sandbox.requests] == [429, 429, 202]
    assert len(bird_sandbox.messages) == 1


def test_503_is_retried_then_succeeds(client, bird_sandbox):
    bird_sandbox.inject("status", count=3, status=503)
    assert client.send_message(MMS_CHANNEL_ID, SMS)["status"] == "accepted"
    assert [r.status for r in bird_sandbox.requests] == [503, 503, 503, 202]
    assert len(bird_sandbox.messages) == 1


def test_408_is_retried_as_bird_did_not_process_the_request(client, bird_sandbox, make_client):
    bird_sandbox.inject("status", count=2, status=408)
    assert client.send_message(MMS_CHANNEL_ID, SMS)["status"] == "accepted"
    assert [r.status for r in bird_sandbox.requests] == [408, 408, 202]
    assert len(bird_sandbox.messages) == 1
    bird_sandbox.inject("status", count=10, status=408)
    with make_client(max_retries=1) as other, pytest.raises(BirdConnectionError) as e:
        other.send_message(MMS_CHANNEL_ID, SMS)
    assert e.value.status == 408 and e.value.retryable
    assert len(bird_sandbox.messages) == 1


def test_connection_dropped_before_the_request_is_sent_is_retried(bird_sandbox, make_client):
    with make_client(backoff_base=0.1, backoff_max=0.2) as client:
        client.send_message(MMS_CHANNEL_ID, SMS)  # a pooled keep-alive connection is open now
        bird_sandbox.refuse_connections(0.4)
        started = time.monotonic()
        assert client.send_message(MMS_CHANNEL_ID, SMS)["status"] == "accepted"
    assert time.monotonic() - started >= 0.3  # waited for the server to come back
    assert len(bird_sandbox.messages) == 2
    assert len(bird_sandbox.requests) == 2


def test_connection_dropped_after_the_request_is_sent_is_not_repeated(client, bird_sandbox):
    bird_sandbox.inject("drop", count=1)
    with pytest.raises(BirdAmbiguousError) as e:
        client.send_message(MMS_CHANNEL_ID, SMS)
    assert "may have accepted" in str(e.value)
    assert len(bird_sandbox.requests) == 1


def test_reads_are_repeated_after_a_dropped_connection(client, bird_sandbox):
    bird_sandbox.inject("drop", count=1)
    assert client.get_channel(MMS_CHANNEL_ID)["id"] == bird_sandbox.mms_channel_id
    assert [r.status for r in bird_sandbox.requests] == [0, 200]


def test_access_key_with_trailing_newline_is_cleaned_and_never_echoed(bird_sandbox, make_client):
    with make_client(access_key=bird_sandbox.access_key + "\n") as client:
        assert client.send_message(MMS_CHANNEL_ID, SMS)["status"] == "accepted"
    with pytest.raises(BirdConfigurationError) as e:
        ClientSettings(access_key="secret key-123", workspace_id=bird_sandbox.workspace_id)
    assert "secret" not in str(e.value)


def test_server_errors_after_all_retries_raise_server_error(bird_sandbox, make_client):
    bird_sandbox.inject("status", count=10, status=502)
    with make_client(max_retries=2) as client, pytest.raises(BirdServerError) as e:
        client.send_message(MMS_CHANNEL_ID, SMS)
    assert e.value.status == 502
    assert len(bird_sandbox.requests) == 3
    assert not bird_sandbox.messages


def test_429s_are_retried_beyond_max_retries_as_bird_did_not_process_them(
    bird_sandbox, make_client
):
    bird_sandbox.inject("status", count=3, status=429)
    with make_client(max_retries=0) as client:
        assert client.send_message(MMS_CHANNEL_ID, SMS)["status"] == "accepted"
    assert [r.status for r in bird_sandbox.requests] == [429, 429, 429, 202]


def test_429s_that_outlast_the_patience_raise_with_retry_after(bird_sandbox, make_client):
    bird_sandbox.inject("status", count=100, status=429, retry_after="0.01")
    with make_client(rate_limit_patience=0.5) as client, pytest.raises(BirdRateLimitError) as e:
        client.send_message(MMS_CHANNEL_ID, SMS)
    assert e.value.retry_after == pytest.approx(0.01)
    assert e.value.retryable
    assert len(bird_sandbox.requests) < 5, "the limiter paused after the first 429"


def test_read_timeout_on_send_is_ambiguous_and_not_repeated(bird_sandbox, make_client):
    bird_sandbox.inject("hang", count=1, seconds=1.5)
    with make_client(read_timeout=0.5) as client:
        with pytest.raises(BirdAmbiguousError) as e:
            client.send_message(MMS_CHANNEL_ID, SMS)
    assert "may have accepted" in str(e.value)
    assert len(bird_sandbox.requests) == 1


def test_422_fails_at_once_with_bird_code_and_message(client, bird_sandbox):
    with pytest.raises(BirdValidationError) as e:
        client.send_message(MMS_CHANNEL_ID, {**SMS, "statusCallback": "https://example.com"})
    assert e.value.status == 422
    assert e.value.code == "InvalidPayload"
    assert e.value.code in str(e.value) and e.value.message in str(e.value)
    assert e.value.details
    assert len(bird_sandbox.requests) == 1


def test_404_fails_at_once_with_bird_code_and_message(client, bird_sandbox):
    with pytest.raises(BirdNotFoundError) as e:
        client.send_message("00000000-0000-4000-8000-000000000000", SMS)
    assert e.value.status == 404
    assert e.value.code == "NotFound"
    assert "channel not found" in str(e.value)
    assert "POST /workspaces/" in str(e.value)
    assert len(bird_sandbox.requests) == 1


def test_401_fails_at_once_without_showing_the_key(bird_sandbox, make_client):
    wrong_key = "wrong-access-key-123"
    with make_client(access_key=wrong_key) as client:
        with pytest.raises(BirdAuthenticationError) as e:
            client.send_message(MMS_CHANNEL_ID, SMS)
    assert e.value.status == 401
    assert e.value.code == "Unauthorized"
    assert wrong_key not in str(e.value) and wrong_key not in repr(e.value.__dict__)
    assert len(bird_sandbox.requests) == 1
    # The sandbox serves recorded requests without auth: a foreign key is never kept.
    assert wrong_key not in str(bird_sandbox.requests[0].headers)


def test_409_mms_on_sms_only_channel_maps_to_conflict(client, bird_sandbox):
    mms = {
        **SMS,
        "body": {"type": "image", "image": {"images": [{"mediaUrl": "https://e.x/a.png"}]}},
    }
    with pytest.raises(BirdConflictError) as e:
        client.send_message(bird_sandbox.sms_channel_id, mms)
    assert e.value.status == 409


def test_get_channel_and_message(client, bird_sandbox):
    channel = client.get_channel(MMS_CHANNEL_ID)
    assert channel["id"] == bird_sandbox.mms_channel_id
    sent = client.send_message(MMS_CHANNEL_ID, SMS)
    assert client.get_message(MMS_CHANNEL_ID, sent["id"])["id"] == sent["id"]


def test_cancel_ends_retries_without_waiting(make_client, bird_sandbox):
    import threading

    bird_sandbox.inject("status", count=10, status=429, retry_after="4")
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(BirdRateLimitError):
        make_client().send_message(MMS_CHANNEL_ID, SMS, cancel=cancel)
    assert time.monotonic() - started < 2
    assert len(bird_sandbox.requests) == 1


def test_reads_that_keep_timing_out_fail_as_retryable_connection_errors(make_client, bird_sandbox):
    bird_sandbox.inject("hang", count=3, seconds=1.0)
    with pytest.raises(BirdConnectionError) as e:
        make_client(read_timeout=0.2, max_retries=1).get_channel(MMS_CHANNEL_ID)
    assert e.value.retryable
    assert "may have accepted" not in str(e.value)


def test_bird_errors_mask_numbers_that_bird_quotes(client, bird_sandbox):
    bird_sandbox.reject_recipients = {"+31612345678"}
    with pytest.raises(BirdValidationError) as e:
        client.send_message(MMS_CHANNEL_ID, SMS)
    assert "+31612345678" in e.value.message  # Bird's words, kept for programs
    assert "+31612345678" not in str(e.value) and "+316******78" in str(e.value)


def test_an_answer_trickling_in_is_cut_off_by_its_deadline_not_per_read(bird_sandbox, make_client):
    # Each socket read gets a byte within the read timeout; the whole answer takes 4 s.
    bird_sandbox.inject("drip", seconds=4.0)
    started = time.monotonic()
    with make_client(read_timeout=1.0, connect_timeout=0.5) as client:
        with pytest.raises(BirdAmbiguousError):
            client.send_message(MMS_CHANNEL_ID, SMS)
    assert time.monotonic() - started < 3.0
    assert len(bird_sandbox.messages) == 1  # Bird did accept it: not repeated
    assert len(bird_sandbox.requests) == 1
