"""Which of the processes about to send the same alert sends it: a claim on the alert's
cooldown (its group and recipient), taken atomically, in the Redis the rate budget is shared
in where the connection has one (every host's processes), else in a file of this host (every
process of this user on it). No Airflow imports.

Bird's listing is the record of what went out, across hosts and restarts; the engine looks
there first. A claim closes what the listing cannot: alerts going out at the same moment
(mapped tasks failing together), before Bird lists either. When no store can be used, there
is no claim, and only the listing decides."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_provider_sms.bird.budget import SharedBudget
from airflow_provider_sms.bird.ratelimit import HostSlots

# KEYS[1] the claim; ARGV: this claim's time (microseconds), the cooldown (microseconds).
# Returns 0 when this claim is taken, else the time of the one that holds it: one younger
# than this caller's cooldown (another notifier of the key may have a cooldown of its own).
_CLAIM = """
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if held > tonumber(ARGV[1]) - tonumber(ARGV[2]) then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.floor(tonumber(ARGV[2]) / 1000))
return 0
"""
# KEYS[1] the claim; ARGV[1] this claim's time: left alone when another holds it by now.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Claim:
    """A claim: `granted` to this process, or held by another since `held_since` (UNIX
    time), in `where`. A granted claim is `release`d when its alert was not sent after all."""

    granted: bool
    where: str
    held_since: float | None = None
    _release: Callable[[], object] = field(default=lambda: None, repr=False)

    def release(self) -> None:
        self._release()


def claim(
    name: str, seconds: float, *, redis_url: str | None = None, redis_password: str | None = None
) -> Claim | None:
    """Claim `name` for `seconds` from now, unless a claim on it younger than that holds it;
    None when neither the Redis nor this host's file can be used."""
    stamp = time.time()
    key = hashlib.sha256(name.encode()).hexdigest()[:32]
    if redis_url:
        store = SharedBudget.for_store(redis_url, "claims", redis_password)
        redis_key, token = f"airflow-provider-sms:claim:{key}", str(int(stamp * 1e6))
        held = store.run(_CLAIM, redis_key, token, str(int(seconds * 1e6)))
        where = f"Redis at {store.where}"
        if held == 0:
            return Claim(True, where, _release=lambda: store.run(_RELEASE, redis_key, token))
        if held is not None:
            return Claim(False, where, held_since=held / 1e6)
    slots = HostSlots.for_key(f"claim|{key}")
    if slots is None:
        return None

    def take(current: float) -> tuple[float, float]:
        # Returns the time of the claim that holds it, or 0.0 when this one is taken. A claim
        # from the future is a clock set back: it holds for no longer than a cooldown.
        if stamp - seconds < current < stamp + seconds:
            return current, current
        return stamp, 0.0

    held = slots.update(take)
    if held is None:
        return None
    if held:
        return Claim(False, "this host", held_since=held)
    return Claim(
        True,
        "this host",
        _release=lambda: slots.update(lambda current: (0.0 if current == stamp else current, 0)),
    )
