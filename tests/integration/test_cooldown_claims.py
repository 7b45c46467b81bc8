"""An alert's claim on its cooldown, in Redis and in a file of this host: one claim at a time
within a cooldown, each caller's own cooldown counting, released when its alert was not
sent."""

import secrets
import time

import pytest
from redis_server import RedisServer

from airflow_provider_sms.bird.cooldown import claim


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(params=["this host", "Redis"])
def store(request, redis) -> dict:
    return {"redis_url": redis} if request.param == "Redis" else {}


def test_a_claim_holds_within_each_callers_cooldown_until_released(store):
    name = secrets.token_hex(8)
    first = claim(name, 3600, **store)
    assert first.granted
    held = claim(name, 3600, **store)
    assert not held.granted and abs(held.held_since - time.time()) < 5
    assert held.where.startswith("Redis at redis://") == ("redis_url" in store)
    # A notifier of the same key with a shorter cooldown, once it has passed.
    time.sleep(1.1)
    later = claim(name, 1, **store)
    assert later.granted
    assert not claim(name, 1, **store).granted
    # Its alert was refused: the next one may go out.
    later.release()
    assert claim(name, 3600, **store).granted
    # Released only by the claim that holds it.
    first.release()
    assert not claim(name, 3600, **store).granted


def test_without_a_reachable_redis_the_claim_is_this_hosts(tmp_path):
    unreachable = f"redis://127.0.0.1:{RedisServer(tmp_path).port}/0"
    name = secrets.token_hex(8)
    assert claim(name, 60, redis_url=unreachable).where == "this host"
    assert not claim(name, 60, redis_url=unreachable).granted
