"""The sandbox's safety: it listens only on loopback unless told otherwise, a client that resets
its connection costs one log line (not a traceback), and its pytest plugin loads only into the
test runs that ask for it."""

from __future__ import annotations

import logging
import socket
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from airflow_provider_sms.sandbox import ACCESS_KEY, WORKSPACE_ID, BirdSandbox

LOGGER = "airflow_provider_sms.sandbox"
PLUGIN = "airflow_provider_sms.sandbox.pytest_plugin"


# Listening address ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.10", "sandbox.example.com"])
def test_a_non_loopback_host_is_refused(host):
    # The sandbox publishes its access key and serves an unauthenticated control API.
    with pytest.raises(ValueError, match="non-loopback"):
        BirdSandbox(host=host)


def test_a_non_loopback_host_is_refused_before_anything_listens(monkeypatch):
    from airflow_provider_sms.sandbox import server

    bound = []
    monkeypatch.setattr(server._SandboxHTTPServer, "server_bind", lambda self: bound.append(1))
    with pytest.raises(ValueError):
        BirdSandbox(host="0.0.0.0").start()
    assert bound == []


def test_a_non_loopback_host_is_accepted_when_explicitly_allowed():
    # Constructed only: nothing in the test suite listens beyond loopback.
    sandbox = BirdSandbox(host="0.0.0.0", allow_non_loopback=True)
    assert sandbox._address == ("0.0.0.0", 0)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_hosts_are_accepted(host):
    assert BirdSandbox(host=host)._address == (host, 0)


def test_the_default_sandbox_listens_on_loopback_only():
    with BirdSandbox() as sandbox:
        assert sandbox._server.server_address[0] == "127.0.0.1"


# A client resetting its connection -----------------------------------------------------------


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _reset_mid_request(port: int) -> None:
    # Headers promise a body that never comes: the server is reading it when the reset lands.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST /workspaces/{WORKSPACE_ID}/channels/x/messages HTTP/1.1\r\n"
            "Host: sandbox\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        time.sleep(0.1)
        _reset(sock)


def _reset_mid_answer(sandbox: BirdSandbox) -> None:
    # The answer comes a byte at a time; the client reads its head, then resets.
    sandbox.inject("drip", seconds=5)
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(
            f"GET /workspaces/{WORKSPACE_ID}/channels HTTP/1.1\r\nHost: sandbox\r\n"
            f"Authorization: AccessKey {ACCESS_KEY}\r\n\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            assert chunk, "the sandbox closed the connection before answering"
            received += chunk
        _reset(sock)


def _sandbox_records(caplog, deadline: float) -> list[logging.LogRecord]:
    while True:
        records = [r for r in caplog.records if r.name.startswith(LOGGER)]
        if records or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


@pytest.mark.parametrize(
    "reset",
    [lambda sandbox: _reset_mid_request(sandbox.port), _reset_mid_answer],
    ids=["mid-request", "mid-answer"],
)
def test_a_client_resetting_its_connection_is_one_log_line_not_a_traceback(reset, caplog, capfd):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with BirdSandbox() as sandbox:
        reset(sandbox)
        records = _sandbox_records(caplog, time.monotonic() + 5)
        time.sleep(0.2)  # anything else the server would print for this connection
        records = [r for r in caplog.records if r.name.startswith(LOGGER)]
        # The sandbox still serves.
        with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
            sock.sendall(b"GET /_sandbox/config HTTP/1.1\r\nHost: sandbox\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert "Exception occurred" not in err, err
    assert len(records) == 1, (records, err)
    [record] = records
    message = record.getMessage()
    assert "\n" not in message
    assert record.exc_info is None
    assert "127.0.0.1" in message
    assert "reset" in message or "closed" in message
    assert record.levelno == logging.WARNING


def test_each_reset_connection_is_its_own_line(caplog, capfd):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with BirdSandbox() as sandbox:
        for _ in range(3):
            _reset_mid_request(sandbox.port)
        deadline = time.monotonic() + 5
        while len([r for r in caplog.records if r.name.startswith(LOGGER)]) < 3:
            assert time.monotonic() < deadline, capfd.readouterr().err
            time.sleep(0.02)
    assert len([r for r in caplog.records if r.name.startswith(LOGGER)]) == 3
    assert "Traceback" not in capfd.readouterr().err


def test_other_errors_while_serving_keep_their_traceback_in_the_log(caplog, monkeypatch):
    from airflow_provider_sms.sandbox import server

    def broken(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(server.Gateway, "take_fault", broken)
    caplog.set_level(logging.INFO, logger=LOGGER)
    with BirdSandbox() as sandbox:
        with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
            sock.sendall(b"GET /workspaces HTTP/1.1\r\nHost: sandbox\r\n\r\n")
            sock.recv(4096)  # the server closes the connection without an answer
        records = _sandbox_records(caplog, time.monotonic() + 5)
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None and records[0].exc_info[0] is RuntimeError


def test_the_command_line_logs_a_reset_connection_as_one_line():
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_sms.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Bird sandbox listening on http://127.0.0.1:"), line
        _reset_mid_request(int(line.rsplit(":", 1)[1]))
        time.sleep(0.5)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "127.0.0.1" in lines[0]


# The pytest plugin ---------------------------------------------------------------------------

_USES_FIXTURE = """
def test_uses_the_fixture(bird_sandbox):
    assert bird_sandbox.base_url.startswith("http://127.0.0.1:")
"""


def _pytest(project, *args: str) -> subprocess.CompletedProcess:
    (project / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_plugin_does_not_load_into_a_project_that_did_not_ask(tmp_path):
    (tmp_path / "test_other.py").write_text(
        textwrap.dedent(
            """
            def test_nothing_of_ours_is_loaded(request):
                plugins = request.config.pluginmanager
                assert not any(
                    "airflow_provider_sms" in (getattr(p, "__name__", "") or "")
                    for p in plugins.get_plugins()
                )
                assert "bird_sandbox" not in request.fixturenames
            """
        )
    )
    (tmp_path / "test_uses.py").write_text(_USES_FIXTURE)
    result = _pytest(tmp_path)
    assert "fixture 'bird_sandbox' not found" in result.stdout, result.stdout
    assert "1 passed, 1 error" in result.stdout, result.stdout


def test_the_plugin_loads_with_dash_p(tmp_path):
    (tmp_path / "test_uses.py").write_text(_USES_FIXTURE)
    result = _pytest(tmp_path, "-p", PLUGIN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_plugin_loads_with_pytest_plugins_in_a_conftest(tmp_path):
    (tmp_path / "conftest.py").write_text(f"pytest_plugins = [{PLUGIN!r}]\n")
    (tmp_path / "test_uses.py").write_text(_USES_FIXTURE)
    result = _pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
