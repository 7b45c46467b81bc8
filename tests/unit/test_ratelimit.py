"""The rate limiter spaces requests, and backs off on Bird's 429s and recovers slowly."""

import time

from airflow_provider_sms.bird.ratelimit import RateLimiter


def test_requests_are_spaced_evenly_under_the_ceiling():
    limiter = RateLimiter(100)  # 90 a second
    started = time.monotonic()
    for _ in range(10):
        limiter.acquire()
    assert 9 / 90 <= time.monotonic() - started < 0.5


def test_a_429_halves_the_rate_and_pauses_once_per_cooldown():
    limiter = RateLimiter(100, pause=0.2, cooldown=10)
    limiter.throttled()
    limiter.throttled()  # the same burst of 429s: not cut twice
    assert limiter.rate == 45
    started = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - started >= 0.19


def test_the_rate_climbs_back_to_the_ceiling_without_429s():
    limiter = RateLimiter(100, pause=0.0, cooldown=0.0, recovery=5.0)
    limiter.throttled()
    limiter.throttled()
    assert limiter.rate < 30
    time.sleep(0.25)  # 5 x 90 a second per second: back to 90 within 0.2 s
    limiter.acquire()
    assert limiter.rate == 90


def test_cancel_ends_a_wait():
    import threading

    limiter = RateLimiter(100, pause=5)
    limiter.throttled()
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    assert limiter.acquire(cancel) is False
    assert time.monotonic() - started < 1


def test_processes_on_one_host_share_the_slots_of_a_workspace(tmp_path, monkeypatch):
    import multiprocessing

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    key = f"http://127.0.0.1:1|ws-{tmp_path.name}|POST"
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_take_slots, [key] * 4)
    # 4 processes x 20 requests at a shared 90 a second take about 80 / 90 s, not 20 / 90 s.
    assert time.monotonic() - started >= 79 / 90


def _take_slots(key):
    limiter = RateLimiter(100, shared_by=key)
    for _ in range(20):
        limiter.acquire()


def test_without_a_shared_key_each_limiter_is_on_its_own():
    limiters = [RateLimiter(100) for _ in range(4)]
    started = time.monotonic()
    for _ in range(10):
        for limiter in limiters:
            limiter.acquire()
    assert time.monotonic() - started < 0.2
