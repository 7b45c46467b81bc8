"""ReplySensor in real `airflow dags test` runs on a channel busy with a large send: 20,001
sent messages stored once the sensor looks, then the reply. Both sensors find it, and no
poll reads more than bird.incoming.MAX_PAGES pages. And a reply that beats the sensor."""

import threading
import time

import pytest
from support import TEST_DAGS, listed_after_a_send

from airflow_provider_sms.bird.incoming import MAX_PAGES

CUSTOMER = "+12025550160"  # the number the DAGs (reply_flows.py) ask
BURST = 20_001
POLL_GAP = 1.5  # seconds without a listing GET that separate two polls (they are 3 s apart)


class ListingGets:
    """Watches the sandbox's listing GETs from a thread: once `start()`ed, the GETs of each
    poll (a burst of GETs; polls are separated by POLL_GAP seconds without one)."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.polls: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def count(self) -> int:
        return sum(
            1 for r in self.sandbox.requests if r.method == "GET" and r.path.endswith("/messages")
        )

    def start(self):
        self._base = self.count()
        self._thread.start()

    def _watch(self):
        last, quiet_since, current = self._base, time.monotonic(), 0
        while not self._stop.is_set():
            now = self.count()
            if now != last:
                current += now - last
                last, quiet_since = now, time.monotonic()
            elif current and time.monotonic() - quiet_since > POLL_GAP:
                self.polls.append(current)
                current = 0
            time.sleep(0.05)
        if current:
            self.polls.append(current)

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join(5)
        return self.polls


@pytest.mark.parametrize("mode", ["deferred", "poking"])
def test_a_reply_sensor_finds_the_reply_after_a_send_of_20001_each_poll_bounded(
    airflow_home, bird_sandbox, mode
):
    gets = ListingGets(bird_sandbox)
    stored = {}

    def busy_then_reply():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            # The sensor looked: a send made now is in its window.
            if listed_after_a_send(bird_sandbox):
                # Within a few milliseconds, all after the sensor began.
                stored["sent"] = bird_sandbox.store_sent(BURST, rate=10_000_000)
                stored["reply"] = bird_sandbox.receive(CUSTOMER, "Yes")
                gets.start()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=busy_then_reply, daemon=True)
    thread.start()
    result = airflow_home.dags_test(
        f"reply_on_a_busy_channel_{mode}",
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **dict([bird_sandbox.connection_env()]),
    )
    thread.join(5)
    polls = gets.stop()
    assert result.returncode == 0, result.stdout[-6000:]
    assert stored["sent"] == BURST
    assert f"REPLY {stored['reply']['id']} 'Yes'" in result.stdout
    print(f"\n{mode}: listing GETs of each poll after {BURST} sent: {polls}")
    assert polls and max(polls) <= MAX_PAGES, polls


def test_a_reply_that_beats_the_sensor_counts(airflow_home, bird_sandbox):
    """The class docstring's example: the reply comes as soon as the question is out, before
    the sensor starts; the window starts at the send."""
    stored = {}

    def reply_at_once():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(r.method == "POST" for r in bird_sandbox.requests):
                stored["reply"] = bird_sandbox.receive(CUSTOMER, "yes!")
                return
            time.sleep(0.005)

    thread = threading.Thread(target=reply_at_once, daemon=True)
    thread.start()
    result = airflow_home.dags_test(
        "reply_beats_the_sensor",
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **dict([bird_sandbox.connection_env()]),
    )
    thread.join(5)
    assert result.returncode == 0, result.stdout[-6000:]
    assert f"REPLY {stored['reply']['id']} 'yes!'" in result.stdout
    assert "Waiting for replies sent since the send" in result.stdout
