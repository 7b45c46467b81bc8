"""The rate budget shared across hosts, against a real Redis server: one timeline for every
sender of a workspace, and a store that is down, slow or refusing never stops a send."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time

import pytest
from redis_server import PlayedRedis, RedisServer, free_port
from support import assert_a_429_holds_the_shared_timeline_back

from airflow_provider_sms.bird import budget as budget_module
from airflow_provider_sms.bird.budget import SharedBudget
from airflow_provider_sms.bird.errors import BirdConfigurationError
from airflow_provider_sms.bird.ratelimit import RateLimiter
from airflow_provider_sms.bird.settings import settings_from_connection
from airflow_provider_sms.hooks.bird import BirdHook
from bird_sandbox import WORKSPACE_ID

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


def test_a_429_on_one_host_holds_back_the_senders_of_every_host(redis_server):
    key = f"throttled-{time.time()}"
    throttled, other = (
        RateLimiter(10, pause=5, budget=budget_of(redis_server.url, key)) for _ in "ab"
    )
    assert_a_429_holds_the_shared_timeline_back(
        throttled, other, 1 / (10 * RateLimiter.BUDGET_HEADROOM)
    )


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
    with pytest.raises(BirdConfigurationError, match="extra.rate_limit_redis_url: ") as e:
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


def test_the_stores_passwords_are_masked_in_task_logs_in_every_form(monkeypatch):
    from airflow.providers.common.compat.sdk import redact

    use_connection(
        monkeypatch,
        {
            "rate_limit_redis_url": "redis://store:6379/0",
            "rate_limit_redis_password": "store pw/7731",
        },
    )
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("AIRFLOW__CELERY__BROKER_URL", "redis://:broker%2Fpw%3F42@broker:6379/0")
    assert BirdHook().settings.rate_limit_redis_password == "store pw/7731"
    for shown in ("store pw/7731", "store%20pw%2F7731", "broker%2Fpw%3F42", "broker/pw?42"):
        assert shown not in str(redact(f"the store said {shown}")), shown


# -- a store that misbehaves ----------------------------------------------------------------


def script_answers(wait: bytes):
    """A store answering every command OK, and the budget's script with `wait`."""

    def answer(command: list[bytes]) -> bytes:
        return wait if command[0].upper() in (b"EVALSHA", b"EVAL") else b"+OK\r\n"

    return answer


def never_answers(command: list[bytes]) -> None:
    return None


def refuses_echoing_the_password(command: list[bytes]) -> bytes:
    if command[0].upper() == b"AUTH":
        return b"-WRONGPASS invalid password " + command[-1] + b"\r\n"
    return b"-NOAUTH Authentication required.\r\n"


def within(seconds: float, function):
    """`function()`'s result, failing the test if it takes longer than `seconds` (it is left
    running in a daemon thread: a hang must fail, not stop, the test run)."""
    done: list = []
    thread = threading.Thread(target=lambda: done.append(function()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert done, f"still running after {seconds:g} s"
    return done[0]


PASSWORD = "p@ss/w0rd?#%41"
# The password as the store's URL writes it, and every form a store could quote it back in.
ENCODED = "p%40ss%2Fw0rd%3F%23%2541"
FORMS = (PASSWORD, ENCODED, "p@ss/w0rd?#A")
# (how it misbehaves, the store's answers, seconds between bytes, the URL's options)
MISBEHAVING = {
    "answers a huge wait": (script_answers(b":999999999999999\r\n"), 0.0, ""),
    "answers a negative wait": (script_answers(b":-5000000\r\n"), 0.0, ""),
    "answers a wait just beyond its script's": (script_answers(b":2000001\r\n"), 0.0, ""),
    "answers what is not a whole number": (script_answers(b"$5\r\nhello\r\n"), 0.0, ""),
    "trickles its answer": (script_answers(b":" + b"0" * 40 + b"\r\n"), 0.1, ""),
    "never answers": (never_answers, 0.0, ""),
    "refuses the password": (refuses_echoing_the_password, 0.0, ""),
    "never answers, named with timeouts": (
        never_answers,
        0.0,
        "?socket_timeout=30&socket_connect_timeout=30&retry_on_timeout=true",
    ),
}


@pytest.fixture(params=list(MISBEHAVING), ids=list(MISBEHAVING))
def misbehaving(request):
    answer, trickle, options = MISBEHAVING[request.param]
    with PlayedRedis(answer, trickle) as store:
        yield store, store.url(f":{ENCODED}@", options)


def test_a_misbehaving_store_holds_a_request_up_by_one_deadline_at_most(misbehaving, caplog):
    store, url = misbehaving
    budget = SharedBudget(url, "misbehaving")
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    assert within(5, lambda: budget.reserve(0.002)) is None
    assert time.monotonic() - started < SharedBudget.CALL_DEADLINE + 0.15
    assert not budget.usable()
    assert store.commands, "the store was never asked"
    said = [r.getMessage() for r in caplog.records if WARNING in r.getMessage()]
    assert len(said) == 1
    for form in FORMS:
        assert form not in caplog.text


def test_a_send_with_a_misbehaving_store_goes_at_full_speed_said_once(misbehaving, caplog):
    _, url = misbehaving
    limiter = RateLimiter(500, budget=SharedBudget(url, "send"))
    caplog.set_level(logging.INFO)
    sends = 300

    def send() -> float:
        started = time.monotonic()
        for _ in range(sends):
            assert limiter.acquire()
        return time.monotonic() - started

    # 300 requests at this sender's own pace (450 a second), plus one call's deadline.
    assert within(10, send) < sends / 450 + SharedBudget.CALL_DEADLINE + 0.5
    assert sum(WARNING in r.getMessage() for r in caplog.records) == 1
    for form in FORMS:
        assert form not in caplog.text


# -- the password: its own extra, never in the URL ------------------------------------------


@pytest.fixture
def redis_with_password(tmp_path):
    import redis

    with RedisServer(tmp_path) as server:
        redis.Redis(port=server.port).config_set("requirepass", PASSWORD)
        yield server


def test_the_password_extra_logs_in_to_the_store(redis_with_password, caplog):
    named = settings(
        {"rate_limit_redis_url": redis_with_password.url, "rate_limit_redis_password": PASSWORD}
    )
    budget = SharedBudget(
        named.rate_limit_redis_url, "password-extra", named.rate_limit_redis_password
    )
    caplog.set_level(logging.WARNING)
    assert budget.reserve(0.01) == 0.0
    assert budget.reserve(0.01) > 0.0
    assert WARNING not in caplog.text


def test_a_broker_url_with_unencoded_characters_in_its_password_shares_the_budget(
    redis_with_password,
):
    # Only its "%" written as %25: "/", "?", "#" and "@" as they are.
    written = PASSWORD.replace("%", "%25")
    url = f"redis://:{written}@127.0.0.1:{redis_with_password.port}/0"
    budget = SharedBudget(settings({}, url).rate_limit_redis_url, "broker")
    assert budget.reserve(0.01) == 0.0
    assert budget.where == f"redis://127.0.0.1:{redis_with_password.port}/0"


@pytest.mark.parametrize(
    "url",
    [
        "redis://:S3cretRedisPw@redis.internal:6379/3",
        "redis://default:S3cretRedisPw@redis.internal:6379/3",
        "rediss://redis.internal:6380/0?password=S3cretRedisPw",
        "redis://:Xy7Q/S3cretRedisPw@redis.internal:6379/0",
        "redis://:Xy7Q#S3cretRedisPw@redis.internal:6379/0",
        "redis://:Xy7Q?S3cretRedisPw@redis.internal:6379/0",
        "redis://Xy7Q/S3cretRedisPw@redis.internal:6379/0",
        "unix://:S3cretRedisPw@/run/redis/redis.sock",
    ],
)
def test_a_url_holding_a_password_turns_sharing_off_naming_the_password_extra(url, caplog):
    caplog.set_level(logging.WARNING)
    assert settings({"rate_limit_redis_url": url}).rate_limit_redis_url is None
    [said] = [r.getMessage() for r in caplog.records]
    assert "extra.rate_limit_redis_password" in said
    assert "not shared across hosts" in said
    for part in ("S3cret", "RedisPw", "Xy7Q", "%", "redis.internal"):
        assert part not in said


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://store:65536/0", "port that is not a number from 1 to 65535"),
        ("redis://store:0/0", "port that is not a number from 1 to 65535"),
        ("redis://store:63a9/0", "port that is not a number from 1 to 65535"),
        ("redis://[::1/0", "IPv6 address in brackets that is not one"),
        ("redis://[::zz]:6379/0", "IPv6 address in brackets that is not one"),
        ("redis://[::1]x:6379/0", "text after its IPv6 address"),
        ("redis://::1:6379/0", "IPv6 address without brackets"),
        ("redis://store:6379/zero", "not a database number"),
        ("redis://store:6379/0?db=1", "gives the database twice"),
        ("redis://store:6379/0#zero", "has a fragment"),
        ("rediss://store:6380/0?ssl_cert_reqs=maybe", "ssl_cert_reqs"),
        ("unix://run/redis.sock", "no socket path"),
        ("redis://st*re:6379/0", "characters no host name has"),
    ],
)
def test_a_store_url_that_cannot_be_used_is_refused_naming_the_extra(url, problem):
    with pytest.raises(BirdConfigurationError) as error:
        settings({"rate_limit_redis_url": url})
    said = str(error.value)
    assert said.startswith("extra.rate_limit_redis_url: ")
    assert problem in said
    for part in ("store", "st*re", "zero", "63a9", "::zz", "maybe", "run/redis.sock"):
        assert part not in said


def test_a_password_extra_that_is_not_text_is_refused_without_showing_it():
    with pytest.raises(BirdConfigurationError, match="extra.rate_limit_redis_password: must be"):
        settings({"rate_limit_redis_password": 73310042})
    assert "73310042" not in repr(settings({"rate_limit_redis_password": "73310042"}))


def self_signed(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_the_store_is_reached_over_tls_and_a_unix_socket_with_password_and_database(tmp_path):
    import redis

    cert, key = self_signed(tmp_path)
    tls_port, unix_socket = free_port(), str(tmp_path / "redis.sock")
    options = ["--tls-port", str(tls_port), "--tls-cert-file", cert, "--tls-key-file", key]
    options += ["--tls-auth-clients", "no", "--unixsocket", unix_socket]
    with RedisServer(tmp_path / "store", *options) as server:
        redis.Redis(port=server.port).config_set("requirepass", PASSWORD)
        over_tls = SharedBudget(
            f"rediss://127.0.0.1:{tls_port}/3?ssl_ca_certs={cert}", "elsewhere", PASSWORD
        )
        over_unix = SharedBudget(f"unix://{unix_socket}?db=3", "elsewhere", PASSWORD)
        assert over_tls.reserve(1.5) == 0.0
        # The slot after it on the same timeline, in database 3.
        assert 0.0 < over_unix.reserve(1.5) <= 1.5
        assert redis.Redis(port=server.port, password=PASSWORD, db=3).dbsize() == 1
        untrusted = SharedBudget(f"rediss://127.0.0.1:{tls_port}/3", "untrusted", PASSWORD)
        assert untrusted.reserve(0.01) is None
