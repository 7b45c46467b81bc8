"""What the provider's triggers share: `serialize()` from declared fields, one poll loop
(`PollingTrigger`), a cancel signal set at the end time (it ends the client's waits there:
backoff, Retry-After, the rate limit), the pause before the next poll, and events whose log
lines mask numbers and texts."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_sms.compat import BaseTrigger, TriggerEvent
from airflow_provider_sms.redaction import mask_phone

if TYPE_CHECKING:
    from airflow_provider_sms.bird.errors import BirdError
    from airflow_provider_sms.hooks.bird import BirdHook
    from airflow_provider_sms.inbound.pushes import PushedWait

# The longest pause between two polls while Bird answers with transient errors (unless the
# poll interval itself is longer).
MAX_BACKOFF = 300.0


@contextmanager
def cancelled_at(end_time: float | None) -> Iterator[threading.Event]:
    """An event set at `end_time` (a UNIX time; never for None), and set on leaving, so that
    a poll still running on a worker thread stops waiting. Needs a running event loop."""
    cancel = threading.Event()
    timer = None
    if end_time is not None:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(max(0.0, end_time - time.time()), cancel.set)
    try:
        yield cancel
    finally:
        if timer is not None:
            timer.cancel()
        cancel.set()


def next_delay(
    poll_interval: float, errors: int, *, end_time: float | None = None, now: float = 0.0
) -> float:
    """Seconds until the next poll: the interval, backing off after `errors` failed polls in
    a row, and never past `end_time`."""
    delay = poll_interval
    if errors:
        delay = min(max(poll_interval, MAX_BACKOFF), poll_interval * 2**errors)
    if end_time is not None:
        delay = min(delay, max(0.0, end_time - now))
    return delay


def mask_event(payload: Any) -> Any:
    """An event's payload as the triggerer's log may show it: each sender's number masked, a
    message's text (and a reply's comment) as its length, who answered as their masked name."""
    if not isinstance(payload, dict):
        return payload
    shown = {key: mask_event(value) for key, value in payload.items()}
    if isinstance(shown.get("from"), str):
        shown["from"] = mask_phone(shown["from"])
    if "message_id" in shown:  # a message
        for key in ("text", "comment"):
            if isinstance(shown.get(key), str):
                shown[key] = f"<{len(shown[key])} characters>"
    if isinstance(shown.get("responded_by_user"), dict):  # an approver: {"id": number, "name"}
        shown["responded_by_user"] = shown["responded_by_user"].get("name")
    return shown


class MaskedEvent(TriggerEvent):
    """A TriggerEvent carrying messages or numbers: the payload is whole, its text in the
    triggerer's log is `mask_event`'s."""

    def __repr__(self) -> str:
        return f"MaskedEvent<{mask_event(self.payload)!r}>"

    __str__ = __repr__


class SerializedFields:
    """`serialize()` from the class's `fields`: its classpath and each field's value, after the
    kwargs a base class serializes itself (HITLTrigger's). Airflow stores both and rebuilds the
    trigger with ``cls(**kwargs)``, so each field is an argument of ``__init__``, kept under its
    own name."""

    fields: ClassVar[tuple[str, ...]] = ()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        inherited = getattr(super(), "serialize", None)
        own = inherited is not None and not getattr(inherited, "__isabstractmethod__", False)
        kwargs = dict(inherited()[1]) if own else {}
        kwargs.update((name, getattr(self, name)) for name in self.fields)
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs


class PollingTrigger(SerializedFields, BaseTrigger):
    """Polls Bird every `poll_interval` seconds until it concludes. A subclass says what
    differs: `start` (before the connection), `before_poll`, `poll` (on a worker thread, so
    the event loop never blocks) and `conclude`; each returns the event that ends the wait,
    or None to go on.

    A poll's transient error (after the client's own retries) is logged and the next poll
    backs off; any other ends the wait (`lasting_error`). No wait goes past `end_time`."""

    bird_conn_id: str
    poll_interval: float
    end_time: float | None
    # Triggers that read pushed events (`pushed_wait`) have these too.
    channel_id: str
    use_webhooks: bool | None
    push_fallback: float
    # What a poll does, for the warning when one fails.
    polling: ClassVar[str]

    async def start(self) -> TriggerEvent | None:
        return None

    async def before_poll(self, hook: BirdHook) -> TriggerEvent | None:
        return None

    def poll(self, hook: BirdHook, cancel: threading.Event) -> Any:
        """One look at Bird: what it found, or None."""
        raise NotImplementedError

    async def conclude(
        self, found: Any, error: BirdError | None, ended: bool
    ) -> TriggerEvent | None:
        """After a poll that found `found` (None after an `error`); `ended` at the end time."""
        raise NotImplementedError

    def lasting_error(self, error: BirdError) -> TriggerEvent | None:
        """A poll's error that is not transient: by default the trigger fails with it."""
        raise error

    def pushed_wait(self, event: str, *, since: float) -> PushedWait:
        """What Bird pushes of `event` on this trigger's channel since `since` (UNIX time),
        as its `use_webhooks` and `push_fallback` say to read it."""
        from airflow_provider_sms.inbound.pushes import PushedWait

        return PushedWait(
            use_webhooks=self.use_webhooks,
            push_fallback=self.push_fallback,
            conn_id=self.bird_conn_id,
            channel_id=self.channel_id,
            event=event,
            since=since,
            log=self.log,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_sms.bird.errors import BirdError
        from airflow_provider_sms.hooks.bird import BirdHook

        event = await self.start()
        if event is not None:
            yield event
            return
        hook = await BirdHook.aconnect(self.bird_conn_id)
        errors = 0  # polls in a row that failed
        with cancelled_at(self.end_time) as cancel, contextlib.closing(hook):
            while True:
                event = await self.before_poll(hook)
                if event is not None:
                    yield event
                    return
                found, error = None, None
                try:
                    found = await asyncio.to_thread(self.poll, hook, cancel)
                    errors = 0
                except BirdError as exc:
                    if not (exc.retryable or cancel.is_set()):
                        event = self.lasting_error(exc)
                        if event is not None:
                            yield event
                            return
                    errors, error = errors + 1, exc
                    if not cancel.is_set():
                        self.log.warning(
                            "Could not %s (poll %d in a row to fail); the wait goes on: %s",
                            self.polling,
                            errors,
                            exc,
                        )
                now = time.time()
                ended = self.end_time is not None and (now >= self.end_time or cancel.is_set())
                event = await self.conclude(found, error, ended)
                if event is not None:
                    yield event
                    return
                delay = next_delay(self.poll_interval, errors, end_time=self.end_time, now=now)
                await asyncio.sleep(delay)
