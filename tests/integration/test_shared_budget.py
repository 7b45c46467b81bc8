"""The rate budget shared across hosts, against a real Redis server: one timeline for every
sender of a workspace, and a store that is down, slow or refusing never stops a send."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest
from redis_server import RedisServer, free_port

from airflow_provider_sms.bird import budget as budget_module
from airflow_provider_sms.bird.budget import SharedBudget
from airflow_provider_sms.bird.errors import BirdConfigurationError
from airflow_provider_sms.bird.ratelimit import RateLimiter
from airflow_provider_sms.bird.settings import settings_from_connection
from airflow_provider_sms.hooks.bird import BirdHook
from airflow_provider_sms.sandbox import WORKSPACE_ID

WARNING = "cannot be used"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(autouse=True)
def said_afresh(monkeypatch):
    # Each test is a new process as far as "said once" goes.
    monkeypatch.setattr(budget_module._said, "done", False)
    monkeypatch.setattr(SharedBudget, "_open", {})


def budget_of(url: str, key: str) -> SharedBudget:
    # A new object per "process": its own connection, as on another host.
    return SharedBudget(url, key)


def at_once(function, items) -> None:
    """`function(item)` for every item, each in a thread of its own, all at once; the first
    failure in any of them is raised here."""
    failures: list[BaseException] = []

    def run(item) -> None:
        try:
            function(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def test_senders_with_their_own_connections_take_slots_from_one_timeline(redis_server):
    interval, each = 0.002, 150
    key = f"workspace-{time.time()}"
    senders = [budget_of(redis_server.url, key) for _ in range(3)]
    slots: list[float] = []
    lock = threading.Lock()

    def take(budget: SharedBudget) -> None:
        for _ in range(each):
            wait = budget.reserve(interval)
            assert wait is not None
            with lock:
                slots.append(time.monotonic() + wait)

    started = time.monotonic()
    at_once(take, senders)
    # 450 slots 2 ms apart reach 0.9 s past the start, however fast they were taken.
    assert max(slots) - started >= (3 * each - 1) * interval - 0.05
    slots.sort()
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    # Gaps are taken on Redis's clock and read on ours: allow the calls' own spread.
    assert sum(gaps) / len(gaps) == pytest.approx(interval, rel=0.15)


def test_another_key_has_a_timeline_of_its_own(redis_server):
    first = budget_of(redis_server.url, f"a-{time.time()}")
    second = budget_of(redis_server.url, f"b-{time.time()}")
    for _ in range(100):
        first.reserve(0.01)
    assert first.reserve(0.01) > 0.5
    assert second.reserve(0.01) == 0.0


def test_two_limiters_sharing_a_budget_keep_under_the_limit_together(redis_server):
    key = f"limiters-{time.time()}"
    limiters = [RateLimiter(500, budget=budget_of(redis_server.url, key)) for _ in range(2)]
    each = 240

    def send(limiter: RateLimiter) -> None:
        for _ in range(each):
            assert limiter.acquire()

    started = time.monotonic()
    at_once(send, limiters)
    elapsed = time.monotonic() - started
    # Alone, each would go at 450/s (0.53 s); together they share 480/s (1.0 s).
    assert elapsed >= (2 * each - 1) / (500 * RateLimiter.BUDGET_HEADROOM) - 0.02


def test_a_store_nobody_listens_on_is_given_up_at_once_said_once(caplog):
    url = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"
    limiter = RateLimiter(500, budget=SharedBudget(url, "down"))
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    for _ in range(50):
        assert limiter.acquire()
    assert time.monotonic() - started < 1.0
    said = [r.getMessage() for r in caplog.records if WARNING in r.getMessage()]
    assert len(said) == 1
    assert f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/0" in said[0]
    assert "s3cret-pass" not in caplog.text


def test_a_store_that_never_answers_costs_one_timeout(caplog):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
        budget = SharedBudget(url, "slow")
        caplog.set_level(logging.WARNING)
        started = time.monotonic()
        assert budget.reserve(0.01) is None
        first = time.monotonic() - started
        assert budget.reserve(0.01) is None
        assert not budget.usable()
        total = time.monotonic() - started
    assert first < SharedBudget.TIMEOUT + 0.5
    assert total - first < 0.05, "a store that failed was asked again at once"
    assert sum(WARNING in r.getMessage() for r in caplog.records) == 1


def test_a_store_refusing_our_password_is_given_up_without_showing_it(tmp_path, caplog):
    server = RedisServer(tmp_path)
    server.start()
    try:
        import redis

        redis.Redis(port=server.port).config_set("requirepass", "the-right-one")
        budget = SharedBudget(f"redis://:wrong-pass-123@127.0.0.1:{server.port}/0", "auth")
        caplog.set_level(logging.WARNING)
        assert budget.reserve(0.01) is None
    finally:
        server.stop()
    assert sum(WARNING in r.getMessage() for r in caplog.records) == 1
    assert "wrong-pass-123" not in caplog.text


def test_a_store_that_comes_back_is_used_again(tmp_path, monkeypatch):
    monkeypatch.setattr(SharedBudget, "RETRY_AFTER", 0.2)
    server = RedisServer(tmp_path)
    budget = SharedBudget(server.url, "back")
    assert budget.reserve(0.01) is None
    server.start()
    try:
        time.sleep(0.3)
        assert budget.reserve(0.01) == 0.0
        assert budget.reserve(0.01) > 0.0
    finally:
        server.stop()


# -- where the store comes from ----------------------------------------------------------


def settings(extra: dict, default: str | None = None):
    return settings_from_connection(
        host=None,
        port=None,
        password="key-123",
        extra={"workspace_id": WORKSPACE_ID, **extra},
        default_redis_url=default,
    )


def test_the_extra_names_the_store_and_wins_over_the_broker():
    assert settings({}).rate_limit_redis_url is None
    assert settings({}, "redis://broker:6379/0").rate_limit_redis_url == "redis://broker:6379/0"
    assert settings({}, "amqp://broker:5672//").rate_limit_redis_url is None
    named = settings({"rate_limit_redis_url": " rediss://store:6380/2 "}, "redis://broker/0")
    assert named.rate_limit_redis_url == "rediss://store:6380/2"
    assert settings({"rate_limit_redis_url": "off"}, "redis://b/0").rate_limit_redis_url is None


@pytest.mark.parametrize("value", ["http://store:6379", "store:6379", 6379, "redis://"])
def test_a_store_that_is_not_a_redis_url_is_refused_without_showing_it(value):
    with pytest.raises(BirdConfigurationError, match="extra.rate_limit_redis_url: must be") as e:
        settings({"rate_limit_redis_url": value})
    assert "store:6379" not in str(e.value)


def test_the_store_url_is_never_in_the_settings_repr():
    shown = repr(settings({"rate_limit_redis_url": "redis://:pw-in-url@store:6379/0"}))
    assert "pw-in-url" not in shown


def use_connection(monkeypatch, extra: dict) -> None:
    conn = {"conn_type": "bird", "password": "key-123", "extra": {"workspace_id": WORKSPACE_ID}}
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))


@pytest.mark.parametrize(
    ("executor", "broker", "expected"),
    [
        ("CeleryExecutor", "redis://broker:6379/0", "redis://broker:6379/0"),
        ("CeleryExecutor", "amqp://guest@broker//", None),
        ("LocalExecutor", "redis://broker:6379/0", None),
    ],
)
def test_the_hook_takes_a_celery_deployments_redis_broker(monkeypatch, executor, broker, expected):
    use_connection(monkeypatch, {})
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    monkeypatch.setenv("AIRFLOW__CELERY__BROKER_URL", broker)
    assert BirdHook().settings.rate_limit_redis_url == expected


def test_the_stores_password_is_masked_in_task_logs(monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact

    use_connection(monkeypatch, {"rate_limit_redis_url": "redis://:store-pw-7731@store:6379/0"})
    assert BirdHook().settings.rate_limit_redis_url.endswith("@store:6379/0")
    assert "store-pw-7731" not in str(redact("connecting with store-pw-7731"))
