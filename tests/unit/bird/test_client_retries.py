"""The client's one retry loop, driven by attempts that need no server: which errors it
repeats, how often, and that cancelling ends its waits."""

import threading
import time

import pytest

from airflow_provider_sms.bird.client import RETRY_STATUSES, BirdClient
from airflow_provider_sms.bird.errors import (
    BirdAmbiguousError,
    BirdConnectionError,
    BirdError,
    BirdRateLimitError,
    BirdServerError,
    BirdUploadError,
    BirdValidationError,
    error_for_status,
)
from airflow_provider_sms.bird.settings import ClientSettings

WORKSPACE = "2bd6b8a4-0c5b-4c8e-9a43-6f3cb1c1d5e7"


def make_client(**overrides) -> BirdClient:
    settings = {
        "access_key": "key-123",
        "workspace_id": WORKSPACE,
        "backoff_base": 0.001,
        "backoff_max": 0.002,
        "max_retries": 2,
        "share_rate_limit_on_host": False,
        **overrides,
    }
    return BirdClient(ClientSettings(**settings))


def failing(*errors: BirdError, answer="done"):
    """An attempt raising `errors` one call after another, then returning `answer`; its
    calls are counted in ``attempt.calls``."""
    left = list(errors)

    def attempt():
        attempt.calls += 1
        if left:
            raise left.pop(0)
        return answer

    attempt.calls = 0
    return attempt


def test_bird_answering_408_did_not_process_the_request_so_it_is_repeated():
    # A deliberate choice: Bird's 408 says it did not get the whole request in time.
    assert error_for_status(408) is BirdConnectionError
    assert error_for_status(408).retryable
    assert 408 in RETRY_STATUSES
    attempt = failing(*(BirdConnectionError("timeout", status=408) for _ in range(2)))
    assert make_client().retrying(attempt) == "done"
    assert attempt.calls == 3


def test_the_statuses_repeated_are_one_set_for_bird_and_the_storage_host():
    assert sorted(RETRY_STATUSES) == [408, 429, 500, 502, 503, 504]
    for status in sorted(RETRY_STATUSES - {429}):
        attempt = failing(
            error_for_status(status)("failed", status=status),
            BirdUploadError("failed", retryable=True, status=status),
        )
        assert make_client().retrying(attempt) == "done"
        assert attempt.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        # Retryable later (by Airflow), but not a status the loop repeats at once.
        BirdServerError("not implemented", status=501),
        BirdUploadError("forbidden", retryable=False, status=403),
        BirdValidationError("bad body", status=422),
        BirdAmbiguousError("the answer never came"),
    ],
)
def test_other_errors_are_raised_at_once(error):
    attempt = failing(error)
    with pytest.raises(type(error)):
        make_client().retrying(attempt)
    assert attempt.calls == 1


def test_failures_are_repeated_at_most_max_retries_times():
    errors = [BirdUploadError("reset", retryable=True) for _ in range(5)]
    attempt = failing(*errors)
    with pytest.raises(BirdUploadError) as e:
        make_client(max_retries=2).retrying(attempt)
    assert e.value is errors[2]
    assert attempt.calls == 3


def test_429s_do_not_count_against_max_retries():
    attempt = failing(*(BirdRateLimitError("slow down", status=429) for _ in range(3)))
    assert make_client(max_retries=0).retrying(attempt) == "done"
    assert attempt.calls == 4


def test_cancelling_ends_the_wait_with_the_last_error():
    cancel = threading.Event()
    error = BirdConnectionError("refused")
    attempt = failing(error, error)
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(BirdConnectionError):
        make_client(backoff_base=5.0, backoff_max=5.0).retrying(attempt, cancel=cancel)
    assert time.monotonic() - started < 2
    assert attempt.calls == 1
