"""BirdHook against the sandbox: the connection test."""

import json

import pytest


def test_connection_test_with_a_wrong_key_fails_without_showing_it(bird_sandbox, monkeypatch):
    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    conn["password"] = "not-the-right-key-42"
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    ok, message = BirdHook().test_connection()
    assert not ok
    assert "401" in message and "not-the-right-key-42" not in message


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        (f"http://127.0.0.1:{_closed_port()}", "the connection was refused"),
        # The sandbox speaks plain HTTP: https:// to it fails in the handshake.
        ("https://127.0.0.1:{sandbox_port}", "the TLS handshake failed"),
    ],
)
def test_an_unreachable_host_is_reported_within_seconds_naming_the_url(
    bird_sandbox, monkeypatch, host, reason
):
    import time

    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    host = host.format(sandbox_port=bird_sandbox.port)
    conn["host"] = host
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    started = time.monotonic()
    ok, message = BirdHook().test_connection()
    assert time.monotonic() - started < 5
    assert not ok
    assert reason in message and host in message
    assert "the request was not sent" in message
