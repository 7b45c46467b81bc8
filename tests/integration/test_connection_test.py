"""BirdHook against the sandbox: the connection test."""

import contextlib
import json

import pytest
from sandbox_support import closed_port


def test_connection_test_with_a_wrong_key_fails_without_showing_it(bird_sandbox, monkeypatch):
    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    conn["password"] = "not-the-right-key-42"
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    ok, message = BirdHook().test_connection()
    assert not ok
    assert "401" in message and "not-the-right-key-42" not in message


@pytest.fixture
def refused_port():
    with closed_port() as port:
        yield port


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("http://127.0.0.1:{refused_port}", "the connection was refused"),
        # The sandbox speaks plain HTTP: https:// to it fails in the handshake.
        ("https://127.0.0.1:{sandbox_port}", "the TLS handshake failed"),
    ],
)
def test_an_unreachable_host_is_reported_within_seconds_naming_the_url(
    bird_sandbox, refused_port, monkeypatch, host, reason
):
    import time

    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    host = host.format(sandbox_port=bird_sandbox.port, refused_port=refused_port)
    conn["host"] = host
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    started = time.monotonic()
    ok, message = BirdHook().test_connection()
    assert time.monotonic() - started < 5
    assert not ok
    assert reason in message and host in message
    assert "the request was not sent" in message


def test_an_ipv6_loopback_host_through_the_schema_field_reaches_the_sandbox(monkeypatch):
    from urllib.parse import quote

    from airflow_provider_sms.hooks.bird import BirdHook
    from bird_sandbox import BirdSandbox

    with BirdSandbox(host="::1") as sandbox:
        monkeypatch.setenv(
            "AIRFLOW_CONN_BIRD_V6",
            f"bird://:{quote(sandbox.access_key)}@[::1]:{sandbox.port}/http"
            f"?workspace_id={sandbox.workspace_id}&channel_id={sandbox.sms_channel_id}",
        )
        hook = BirdHook("bird_v6")
        assert hook.settings.base_url == f"http://[::1]:{sandbox.port}"
        ok, message = hook.test_connection()
        assert ok, message
        assert [r.path for r in sandbox.requests][-1].endswith(sandbox.sms_channel_id)


def test_an_unreachable_ipv6_loopback_host_is_named_in_brackets(bird_sandbox, monkeypatch):
    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    with closed_port("::1") as port:
        conn.update(host="::1", port=port, schema="http")
        monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
        ok, message = BirdHook().test_connection()
    assert not ok
    assert f"http://[::1]:{port}" in message and "the connection was refused" in message


def test_a_numeric_host_is_named_as_written_in_a_connection_error(
    bird_sandbox, refused_port, monkeypatch
):
    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    # 2130706433 is 127.0.0.1 written as one number: https is allowed for any host.
    conn["host"] = f"https://2130706433:{refused_port}"
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    ok, message = BirdHook().test_connection()
    assert not ok
    assert f"https://2130706433:{refused_port}/" in message, message
    assert bird_sandbox.access_key not in message


@pytest.mark.parametrize(
    "name",
    [
        "AIRFLOW_CONN_BIRD_SANDBOX",
        "AIRFLOW_CONN_BIRD_SANDBOX_JSON",
        "AIRFLOW_CONN_BIRD_SANDBOX_PROTOCOL",
        "AIRFLOW_CONN_BIRD_SANDBOX_V6",
        "AIRFLOW_CONN_BIRD_SANDBOX_V6_JSON",
    ],
)
def test_the_sandbox_examples_of_the_connection_page_connect(bird_sandbox, monkeypatch, name):
    from support import connection_doc_examples

    from airflow_provider_sms.hooks.bird import BirdHook
    from bird_sandbox import BirdSandbox

    # The IPv6 examples name [::1]: a sandbox listening there.
    with BirdSandbox(host="::1") if "V6" in name else contextlib.nullcontext(bird_sandbox) as sb:
        monkeypatch.setenv(name, connection_doc_examples()[name].replace(":8025", f":{sb.port}"))
        ok, message = BirdHook(name.removeprefix("AIRFLOW_CONN_").lower()).test_connection()
        assert ok, message
