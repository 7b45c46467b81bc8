"""The raw HTTP transport (bird_sandbox/server.py): keep-alive, concurrent clients, connections
reset by clients, errors in the log."""

from __future__ import annotations

import logging
import socket
import struct
import time

import pytest
import requests
from sandbox_support import channel_url, send, text_message

from bird_sandbox import (
    ACCESS_KEY,
    MMS_CHANNEL_ID,
    WORKSPACE_ID,
    BirdSandbox,
)

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}
TO = "+31612345678"


def test_stop_closes_keep_alive_connections(http):
    sandbox = BirdSandbox().start()
    assert send(sandbox, http, text_message()).status_code == 202
    url = channel_url(sandbox, suffix="/messages")
    sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        http.post(url, json=text_message(), timeout=2)


def test_concurrent_clients_each_get_their_message_stored(sandbox):
    import threading

    errors: list[int] = []

    def client(index: int) -> None:
        with requests.Session() as session:
            session.headers.update(AUTH)
            for n in range(10):
                response = send(sandbox, session, text_message(to=f"+1202555{index:02d}{n:02d}"))
                if response.status_code != 202:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    messages = sandbox.messages
    assert len(messages) == 200 and len({m["id"] for m in messages}) == 200


LOGGER = "bird_sandbox"


def _host(sandbox: BirdSandbox) -> str:
    return f"127.0.0.1:{sandbox.port}"


def _reset_mid_request(port: int) -> None:
    # Headers promise a body that never comes: the server is reading it when the reset lands.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST /workspaces/{WORKSPACE_ID}/channels/x/messages HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nContent-Length: 1000\r\n\r\n{{".encode()
        )
        time.sleep(0.1)
        _reset(sock)


def _reset_mid_answer(sandbox: BirdSandbox) -> None:
    # The answer comes a byte at a time; the client reads its head, then resets.
    sandbox.inject("drip", seconds=5)
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(
            f"GET /workspaces/{WORKSPACE_ID}/channels HTTP/1.1\r\nHost: {_host(sandbox)}\r\n"
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


# A client resetting its connection -----------------------------------------------------------


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


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
            sock.sendall(
                f"GET /_sandbox/config HTTP/1.1\r\nHost: {_host(sandbox)}\r\n\r\n".encode()
            )
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
    from bird_sandbox import gateway

    def broken(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(gateway.Gateway, "take_fault", broken)
    caplog.set_level(logging.INFO, logger=LOGGER)
    with BirdSandbox() as sandbox:
        with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
            sock.sendall(f"GET /workspaces HTTP/1.1\r\nHost: {_host(sandbox)}\r\n\r\n".encode())
            sock.recv(4096)  # the server closes the connection without an answer
        records = _sandbox_records(caplog, time.monotonic() + 5)
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None and records[0].exc_info[0] is RuntimeError


@pytest.mark.parametrize("chunked", [False, True])
def test_a_request_cut_off_mid_body_is_neither_acted_on_nor_recorded(sandbox, chunked):
    import json

    body = json.dumps(text_message()).encode()
    path = f"/workspaces/{WORKSPACE_ID}/channels/{MMS_CHANNEL_ID}/messages"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {_host(sandbox)}\r\n"
        f"Authorization: AccessKey {ACCESS_KEY}\r\nContent-Type: application/json\r\n"
    )
    if chunked:
        head += "Transfer-Encoding: chunked\r\n\r\n"
        sent = f"{len(body):x}\r\n".encode() + body[:20]
    else:
        head += f"Content-Length: {len(body)}\r\n\r\n"
        sent = body[:20]
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(head.encode() + sent)  # and the client dies
    time.sleep(1)  # the server has read what there was, and seen the connection close
    assert sandbox.requests == [] and sandbox.messages == []
    # The whole request still works.
    answer = requests.post(f"{sandbox.base_url}{path}", json=text_message(), headers=AUTH)
    assert answer.status_code == 202 and len(sandbox.messages) == 1
