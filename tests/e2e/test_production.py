"""What a platform team relies on, in real `airflow dags test` runs: the caps it sets on the
connection (over either, the task fails before any request, naming both numbers; at them, it
sends), and retries that the task log shows."""

import json
import re
import socket
import threading
import time
from datetime import datetime

import pytest
from sandbox_support import closed_port
from support import TEST_DAGS


@pytest.mark.parametrize(
    ("caps", "said"),
    [
        (
            {"max_messages": 1},
            "2 message(s) to send (after de-duplication and exclusions), "
            "more than the connection's extra.max_messages allows (1); nothing was sent",
        ),
        (
            {"max_total_segments": 3},
            "4 segment(s) to send (after de-duplication and "
            "exclusions), more than the connection's extra.max_total_segments allows (3); "
            "nothing was sent",
        ),
        ({"max_messages": 2, "max_total_segments": 4}, None),
    ],
)
def test_the_connections_caps_bound_a_send(airflow_home, checked_sandbox, caps, said):
    conn = checked_sandbox.connection()
    conn["extra"] = {**conn["extra"], **caps}
    result = airflow_home.dags_test(
        "capped_send",
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(conn),
    )
    if said:
        assert result.returncode != 0 and said in result.stdout, result.stdout[-3000:]
        assert checked_sandbox.requests == []
    else:
        assert result.returncode == 0, result.stdout[-3000:]
        assert len(checked_sandbox.messages) == 2


def test_two_503s_before_success_are_two_retry_lines_naming_503(airflow_home, checked_sandbox):
    checked_sandbox.inject("status", count=2, status=503, method="POST")
    result = airflow_home.dags_test(
        "one_sms",
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **dict([checked_sandbox.connection_env()]),
    )
    retries = [line for line in result.stdout.splitlines() if " failed (HTTP 503): " in line]
    assert len(retries) == 2, retries
    assert "retry 1 of 5 in" in retries[0] and "retry 2 of 5 in" in retries[1]
    assert "Bird accepted 1 of 1 SMS(s)" in result.stdout


def _logged_at(line: str) -> float | None:
    found = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z? ", line)
    return datetime.fromisoformat(found.group(1)).timestamp() if found else None


def test_a_send_to_a_stopped_bird_logs_at_least_every_5_s_until_it_fails(
    airflow_home, checked_sandbox
):
    conn = checked_sandbox.connection()
    conn["extra"] = {**conn["extra"], "max_retries": 2, "retry_backoff": 10}
    # A port nobody listens on: every connection is refused, at once.
    with closed_port() as port:
        conn["host"] = f"http://127.0.0.1:{port}"
        result = airflow_home.dags_test(
            "one_sms",
            check=False,
            AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
            AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(conn),
        )
    assert result.returncode != 0
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "Sending SMS to 1 recipient(s)" in line)
    end = next(i for i, line in enumerate(lines) if "Not sent to +316******78" in line)
    said = [t for t in map(_logged_at, lines[start : end + 1]) if t is not None]
    gaps = [later - earlier for earlier, later in zip(said, said[1:], strict=False)]
    print(f"\n{len(said)} lines over {said[-1] - said[0]:.1f} s; the longest gap {max(gaps):.1f} s")
    assert said[-1] - said[0] > 14  # backoffs of 10 and 20 s, halved at worst
    assert max(gaps) <= 5.0
    assert any("still waiting (could not connect: " in line for line in lines)


class StatsdListener:
    """A StatsD server on loopback: every counter and timer Airflow sends it, by name."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.counters: dict[str, float] = {}
        self.timers: dict[str, list[float]] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self):
        while not self.done.is_set():
            try:
                packet = self.sock.recv(65536)
            except TimeoutError:
                continue
            for line in packet.decode().splitlines():
                name, _, rest = line.partition(":")
                value, kind = rest.split("|")[:2]
                if kind == "c":
                    self.counters[name] = self.counters.get(name, 0) + float(value)
                elif kind == "ms":
                    self.timers.setdefault(name, []).append(float(value))

    def close(self):
        self.done.set()
        self.thread.join()
        self.sock.close()


def test_a_sends_metrics_equal_its_summary(airflow_home, checked_sandbox):
    listener = StatsdListener()
    checked_sandbox.inject("status", count=40, status=429, method="POST")
    try:
        result = airflow_home.dags_test(
            "measured_send",
            AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
            AIRFLOW__METRICS__STATSD_ON="True",
            AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
            AIRFLOW__METRICS__STATSD_PORT=str(listener.port),
            **dict([checked_sandbox.connection_env()]),
        )
        time.sleep(0.5)  # the last packets
    finally:
        listener.close()
    bird = {k.removeprefix("airflow."): v for k, v in listener.counters.items() if ".bird." in k}
    posts = [r for r in checked_sandbox.requests if r.method == "POST"]
    throttled = sum(r.status == 429 for r in posts)
    assert "Bird accepted 1000 of 1000 SMS(s)" in result.stdout
    assert len(checked_sandbox.messages) == 1000 and throttled == 40
    assert bird == {
        "bird.messages.accepted": 1000,
        "bird.messages.suppressed": 3,
        "bird.segments": 2000,
        "bird.requests.throttled": throttled,
        "bird.requests.retried": throttled,
        "bird.status.delivered": 1000,
    }
    [waited] = listener.timers["airflow.bird.rate_limit.wait"]
    assert waited > 0
