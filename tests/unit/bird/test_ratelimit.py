"""The rate limiter spaces requests, and backs off on Bird's 429s and recovers slowly."""

import bisect
import errno
import logging
import os
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import assert_a_429_holds_the_shared_timeline_back

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
    # 4 processes x 20 requests at the host's 93 a second take about 80 / 93 s, not 20 / 90 s.
    assert time.monotonic() - started >= 79 / (100 * RateLimiter.HOST_HEADROOM)


def _take_slots(key):
    limiter = RateLimiter(100, shared_by=key)
    for _ in range(20):
        limiter.acquire()


def _slowed(limit, beta, pause, threads, key, started, results):
    """A process of the host that met a 429 (its rate cut by `beta`, paused for `pause` s)
    sends `threads` requests at once; when each was let go. `started` is set when the first
    one was."""
    limiter = RateLimiter(limit, beta=beta, pause=pause, shared_by=key)
    limiter.throttled()

    def send(_):
        limiter.acquire()
        started.set()
        return time.time()

    with ThreadPoolExecutor(threads) as pool:
        results.put(sorted(pool.map(send, range(threads))))


def _unslowed(limit, key, started, results):
    """Another process of the host, once the slowed one is under way: 40 requests one after
    another; when it began, and when each was let go."""
    limiter = RateLimiter(limit, shared_by=key)
    started.wait(30)
    began = time.time()
    results.put([began] + [limiter.acquire() and time.time() for _ in range(40)])


def _on_one_host(tmp_path, monkeypatch, limit, beta, pause, threads):
    """The slowed process and the other: their times (see `_slowed` and `_unslowed`)."""
    import multiprocessing

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    key = f"http://127.0.0.1:1|ws-{tmp_path.name}|POST"
    fork = multiprocessing.get_context("fork")
    started, slowed, other = fork.Event(), fork.Queue(), fork.Queue()
    processes = [
        fork.Process(target=_slowed, args=(limit, beta, pause, threads, key, started, slowed)),
        fork.Process(target=_unslowed, args=(limit, key, started, other)),
    ]
    for process in processes:
        process.start()
    try:
        return slowed.get(timeout=60), other.get(timeout=60)
    finally:
        for process in processes:
            process.join(10)


def test_a_sender_slowed_by_429s_does_not_slow_the_other_processes_of_the_host(
    tmp_path, monkeypatch
):
    _, (began, *others) = _on_one_host(
        tmp_path, monkeypatch, limit=100, beta=0.01, pause=0.0, threads=3
    )
    # Cut to its floor of 1 a second. The other's 40 at 90 a second take 0.44 s; slots of the
    # slowed one's own spacing on the host's timeline would hold it up for a second each.
    assert others[-1] - began < 1.0


def test_a_sender_slowed_by_a_429_holds_no_slots_of_the_host_meanwhile(tmp_path, monkeypatch):
    # 60 requests at once, the sender cut to 4 a second: each takes its slot of the host only
    # when its own pace lets it go. Slots taken before would go unused, and the requests then
    # be sent beside the other's at no slot of the host's.
    slowed, others = _on_one_host(tmp_path, monkeypatch, limit=40, beta=0.1, pause=0.0, threads=60)
    everyone = sorted(slowed + others[1:])
    busiest = max(bisect.bisect_right(everyone, t + 1.0) - i for i, t in enumerate(everyone))
    # At most the host's 37.2 a second, and room for a stall of this busy machine.
    assert busiest <= 37.2 * 1.4


def test_a_429_on_the_hosts_timeline_holds_every_sender_back_and_pauses_none(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    key = f"http://127.0.0.1:1|ws-{tmp_path.name}|POST"
    throttled, other = RateLimiter(10, pause=5, shared_by=key), RateLimiter(10, shared_by=key)
    assert_a_429_holds_the_shared_timeline_back(
        throttled, other, 1 / (10 * RateLimiter.HOST_HEADROOM)
    )


def test_a_429_pauses_a_sender_that_shares_no_timeline(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    limiter = RateLimiter(100, pause=0.3)
    assert limiter.throttled() == 0  # acquire makes every request wait, that one included
    started = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - started >= 0.29


def test_without_a_shared_key_each_limiter_is_on_its_own():
    limiters = [RateLimiter(100) for _ in range(4)]
    started = time.monotonic()
    for _ in range(10):
        for limiter in limiters:
            limiter.acquire()
    assert time.monotonic() - started < 0.2


# -- the host's slots file: private, never followed, never waited on without a bound --------


@pytest.fixture
def slots(tmp_path, monkeypatch, caplog):
    """A fresh temp folder and a process that has not yet used or given up sharing."""
    from airflow_provider_sms.bird import ratelimit

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(ratelimit.HostSlots, "_open", {})
    monkeypatch.setattr(ratelimit, "_sharing", types.SimpleNamespace(off=False), raising=False)
    caplog.set_level(logging.WARNING, logger=ratelimit.__name__)
    key = f"http://127.0.0.1:1|ws-{tmp_path.name}|POST"
    return types.SimpleNamespace(key=key, path=ratelimit.HostSlots.path_for(key), caplog=caplog)


def _sharing_off_lines(caplog):
    return [r.getMessage() for r in caplog.records if "sharing" in r.getMessage()]


def _acquire_many(key, count=20, cancel=None):
    limiter = RateLimiter(1000, shared_by=key)
    started = time.monotonic()
    results = [limiter.acquire(cancel) for _ in range(count)]
    return time.monotonic() - started, results


def test_the_slots_file_is_in_a_folder_only_this_user_may_enter(slots):
    _acquire_many(slots.key, 2)
    folder = os.path.dirname(slots.path)
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert os.stat(slots.path).st_mode & 0o777 == 0o600
    assert os.stat(folder).st_uid == os.getuid()
    assert not _sharing_off_lines(slots.caplog)


def test_a_lock_held_by_another_process_turns_sharing_off_within_a_second(slots):
    _acquire_many(slots.key, 1)  # the file exists
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            slots.path,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        from airflow_provider_sms.bird import ratelimit

        ratelimit.HostSlots._open.clear()  # as a new process would open it
        elapsed, results = _acquire_many(slots.key, 50)
        assert all(results)
        assert elapsed < ratelimit.HostSlots.LOCK_WAIT + 1.0
        assert len(_sharing_off_lines(slots.caplog)) == 1
        assert "lock was held" in _sharing_off_lines(slots.caplog)[0]
    finally:
        holder.kill()
        holder.wait()


def test_a_cancel_ends_a_wait_for_a_held_lock(slots):
    import fcntl

    from airflow_provider_sms.bird import ratelimit

    assert ratelimit.HostSlots.for_key(slots.key) is not None
    cancel = threading.Event()

    other = os.open(slots.path, os.O_RDONLY)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        threading.Timer(0.1, cancel.set).start()
        started = time.monotonic()
        assert RateLimiter(1000, shared_by=slots.key).acquire(cancel) is False
        assert time.monotonic() - started < 0.5
    finally:
        os.close(other)


def test_a_symlink_at_the_slots_path_is_never_followed(slots, tmp_path):
    target = tmp_path / "precious"
    target.write_bytes(b"0123456789abcdef")
    os.symlink(target, slots.path)
    elapsed, results = _acquire_many(slots.key, 20)
    assert all(results) and elapsed < 1.0
    assert target.read_bytes() == b"0123456789abcdef"
    assert len(_sharing_off_lines(slots.caplog)) == 1


def test_a_fifo_at_the_slots_path_turns_sharing_off(slots):
    os.mkfifo(slots.path)
    elapsed, results = _acquire_many(slots.key, 20)
    assert all(results) and elapsed < 1.0
    assert len(_sharing_off_lines(slots.caplog)) == 1


def test_a_folder_open_to_others_or_not_a_folder_turns_sharing_off(slots):
    folder = os.path.dirname(slots.path)
    os.chmod(folder, 0o777)
    elapsed, results = _acquire_many(slots.key, 20)
    assert all(results) and elapsed < 1.0
    assert "open to other users" in _sharing_off_lines(slots.caplog)[0]


def test_a_full_disk_turns_sharing_off_and_sends_go_on(slots, monkeypatch):
    # No local part plays a full disk for an 8-byte file that already exists: the write fails.
    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    _acquire_many(slots.key, 1)
    monkeypatch.setattr(os, "pwrite", full)
    elapsed, results = _acquire_many(slots.key, 20)
    assert all(results) and elapsed < 1.0
    lines = _sharing_off_lines(slots.caplog)
    assert len(lines) == 1 and "No space left" in lines[0]


def test_sharing_off_is_said_once_for_every_limiter_of_the_process(slots):
    folder = os.path.dirname(slots.path)
    os.chmod(folder, 0o755)
    for method in ("POST", "GET", "POST"):
        _acquire_many(slots.key.replace("POST", method), 2)
    assert len(_sharing_off_lines(slots.caplog)) == 1
