"""The command line, python -m bird_sandbox (bird_sandbox/__main__.py)."""

from __future__ import annotations

import json
import re
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest
import requests

from bird_sandbox import (
    ACCESS_KEY,
    MMS_CHANNEL_ID,
    WORKSPACE_ID,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_cli_serves_until_sigterm(host):
    process = subprocess.Popen(
        [sys.executable, "-m", "bird_sandbox", "--host", host, "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        name = f"[{host}]" if ":" in host else host
        base_url = re.search(rf"http://{re.escape(name)}:\d+", first).group(0)
        export = process.stdout.readline()
        assert export.startswith("export AIRFLOW_CONN_BIRD_DEFAULT='")
        connection = json.loads(export.split("=", 1)[1].strip().strip("'"))
        assert connection["host"] == base_url
        url = f"{base_url}/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}"
        assert requests.get(url, headers=AUTH, timeout=5).status_code == 200
        # The receive command reaches it at the URL it printed (the control API, JSON).
        received = subprocess.run(
            [sys.executable, "-m", "bird_sandbox", "receive", "--url", base_url]
            + ["--from", "+12025550199", "hi"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert received.returncode == 0, received.stderr
        assert json.loads(received.stdout)["direction"] == "incoming"

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_refuses_non_loopback_host():
    result = subprocess.run(
        [sys.executable, "-m", "bird_sandbox", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "loopback" in result.stderr


def test_command_line_delays():
    import subprocess
    import sys

    from bird_sandbox.settings import BY_NAME

    parse = BY_NAME["status_delays"].cli.parse
    assert parse("0.1,0.2,0.3") == {"processing": 0.1, "sent": 0.2, "delivered": 0.3}
    assert parse('{"sent": 2}') == {"sent": 2}
    assert parse("off") is None
    for bad in ("fast", "1,2", "3,2,1", '{"queued": 1}'):
        run = subprocess.run(
            [sys.executable, "-m", "bird_sandbox", "--status-delays", bad],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 2 and "status" in run.stderr.lower(), (bad, run.stderr)


def _reset_mid_request(port: int) -> None:
    # Headers promise a body that never comes: the server is reading it when the reset lands.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST /workspaces/{WORKSPACE_ID}/channels/x/messages HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nContent-Length: 1000\r\n\r\n{{".encode()
        )
        time.sleep(0.1)
        _reset(sock)


def test_the_command_line_logs_a_reset_connection_as_one_line():
    process = subprocess.Popen(
        [sys.executable, "-m", "bird_sandbox", "--port", "0"],
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


def test_cli_lists_the_magic_recipients_from_the_catalogue():
    from bird_sandbox.catalogue import describe_magic_recipients

    result = subprocess.run(
        [sys.executable, "-m", "bird_sandbox", "--magic-recipients"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == describe_magic_recipients() + "\n"
