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


def _ipv6_loopback_port_closed() -> int:
    import socket

    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        return sock.getsockname()[1]


class _Ipv6Forwarder:
    """Listens on [::1] and relays each connection to the sandbox on 127.0.0.1 (the sandbox
    itself listens on IPv4 only)."""

    def __init__(self, target_port: int):
        import socket
        import threading

        self.target_port = target_port
        self.listener = socket.socket(socket.AF_INET6)
        self.listener.bind(("::1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        import contextlib
        import socket

        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


def test_an_ipv6_loopback_host_through_the_schema_field_reaches_the_sandbox(
    bird_sandbox, monkeypatch
):
    from urllib.parse import quote

    from airflow_provider_sms.hooks.bird import BirdHook

    forwarder = _Ipv6Forwarder(bird_sandbox.port)
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_BIRD_V6",
            f"bird://:{quote(bird_sandbox.access_key)}@[::1]:{forwarder.port}/http"
            f"?workspace_id={bird_sandbox.workspace_id}&channel_id={bird_sandbox.sms_channel_id}",
        )
        hook = BirdHook("bird_v6")
        assert hook.settings.base_url == f"http://[::1]:{forwarder.port}"
        ok, message = hook.test_connection()
        assert ok, message
        assert forwarder.accepted >= 1
        assert [r.path for r in bird_sandbox.requests][-1].endswith(bird_sandbox.sms_channel_id)
    finally:
        forwarder.close()


def test_an_unreachable_ipv6_loopback_host_is_named_in_brackets(bird_sandbox, monkeypatch):
    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    port = _ipv6_loopback_port_closed()
    conn.update(host="::1", port=port, schema="http")
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    ok, message = BirdHook().test_connection()
    assert not ok
    assert f"http://[::1]:{port}" in message and "the connection was refused" in message


def test_a_numeric_host_is_named_as_written_in_a_connection_error(bird_sandbox, monkeypatch):
    from airflow_provider_sms.hooks.bird import BirdHook

    conn = bird_sandbox.connection()
    port = _closed_port()
    # 2130706433 is 127.0.0.1 written as one number: https is allowed for any host.
    conn["host"] = f"https://2130706433:{port}"
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    ok, message = BirdHook().test_connection()
    assert not ok
    assert f"https://2130706433:{port}/" in message, message
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

    forwarder = _Ipv6Forwarder(bird_sandbox.port) if "V6" in name else None
    port = forwarder.port if forwarder else bird_sandbox.port
    try:
        monkeypatch.setenv(name, connection_doc_examples()[name].replace(":8025", f":{port}"))
        ok, message = BirdHook(name.removeprefix("AIRFLOW_CONN_").lower()).test_connection()
        assert ok, message
    finally:
        if forwarder:
            forwarder.close()
