"""InboundMessageTrigger: each inbound SMS on a channel becomes one asset event (event-driven
scheduling with ``AssetWatcher``).

Kept cheap to import (DAG files build watchers at parse time): the client loads when it runs.

How no message is missed or taken twice across triggerer restarts: the trigger runs as
Airflow's shared stream in ack mode (``airflow.triggers.shared_stream``). One poll per channel
and set of watched assets lists Bird's messages; each new inbound message is broadcast to the
watchers, each watcher turns the ones it wants into an event, and only once the triggerer has
stored those events in the metadata database does the poll move its cursor past the message,
in the watched assets' state store. A triggerer killed at any moment before that finds the
message again after its restart.

Before Airflow 3.3 (no shared stream, no asset state store) the triggerer runs each watcher's
own `run()`: its cursor is kept in an Airflow Variable named after the watcher, and moves past
a message `cursor_lag` seconds after its event was taken, time enough for the triggerer to
store the event. A triggerer stopped within that time fires it again after its restart: at
least once, never lost (see docs/compatibility.md)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import AsyncIterator, Hashable, Sequence
from typing import Any

from airflow_provider_sms import DEFAULT_CONN_NAME, compat

# Asset watchers arrived in Airflow 3.0: older ones fail here, when the DAG is parsed.
compat.require("InboundMessageTrigger")

from airflow_provider_sms.compat import (  # noqa: E402
    AdvanceItem,
    BaseEventTrigger,
    SharedStreamProducer,
    TriggerEvent,
    asset_state_accessors,
    watcher_store,
)
from airflow_provider_sms.triggers.polling import (  # noqa: E402
    MaskedEvent,
    SerializedFields,
    next_delay,
)

# Bird allows 50 GET/s per workspace: a poll every few seconds, one page when nothing is new,
# leaves nearly all of it to the other readers (every GET goes through the client's limiter).
DEFAULT_POLL_INTERVAL = 5.0
MIN_POLL_INTERVAL = 1.0
# Watchers of one stream restart together: the first poll waits this long for all of them to
# subscribe, so that none misses a message the others move the cursor past.
COHORT_DELAY = 2.0
# Airflow 3.3 gives an asset event that arrives before the scheduler created the run of the
# one before it no run of its own, until a later event comes (apache/airflow#56050, fixed by
# #70972 for 3.4): events are spaced so that each gets its run.
DEFAULT_EVENT_SPACING = 5.0
# Messages broadcast and not yet stored by every watcher, at most: a burst is taken a few at
# a time, well within the shared stream's ack timeout (300 s) at the events' spacing.
MAX_IN_FLIGHT = 10
# Without the shared stream's acknowledgements: how long after an event is taken the cursor
# moves past its message (the triggerer stores its events within a second or two).
CURSOR_LAG = 30.0
# The asset state store key holding a channel's cursor.
STATE_KEY = "airflow_provider_sms.inbound:{conn_id}:{channel_id}"

# The state store of the watcher that opens a stream, handed to the stream's poll: Airflow
# starts the poll task from the subscribing watcher's task, which copies this context.
_opening_store: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "airflow_provider_sms_inbound_store", default=None
)


class InboundMessageTrigger(SerializedFields, BaseEventTrigger):
    """Fires one event per inbound SMS on `channel_id`, for an ``AssetWatcher``.

    The event's payload (the asset event's ``extra["payload"]``) is the message:
    ``{"message_id", "from", "text", "received_at", "channel_id"}``. Messages that were on
    the channel before the watcher first ran are not events.

    :param channel_id: the channel (its UUID); default the connection's ``channel_id``.
    :param from_numbers: only messages from these numbers (one, a comma list or a list).
    :param pattern: only messages whose text matches this regular expression
        (``re.search``, case-insensitive).
    :param bird_conn_id: the Bird connection id.
    :param poll_interval: seconds between two looks at the channel (at least 1).
    :param default_region: region for `from_numbers` written without a country code.
    :param event_spacing: seconds at least between two events of this watcher (a burst of
        messages fires one every `event_spacing`): on Airflow 3.3 an event that comes before
        the scheduler created the run of the one before it waits for a later event to run
        (apache/airflow#56050); 0 fires each at once.

    Arguments are checked when the watcher is built (the DAG file fails to load, naming the
    field), before any request."""

    fields = (
        "channel_id",
        "from_numbers",
        "pattern",
        "bird_conn_id",
        "poll_interval",
        "event_spacing",
    )

    # See the module's docstring: without the shared stream, seconds between an event and the
    # cursor moving past its message.
    cursor_lag = CURSOR_LAG

    def __init__(
        self,
        *,
        channel_id: str | None = None,
        from_numbers: str | Sequence[str] | None = None,
        pattern: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        default_region: str | None = None,
        event_spacing: float = DEFAULT_EVENT_SPACING,
    ):
        super().__init__()
        # Checked at DAG parse time, so only what is cheap to import (phonenumbers loads
        # only for from_numbers).
        from airflow_provider_sms.bird.ids import checked_uuid
        from airflow_provider_sms.inbound.filter import InboundFilter

        self.channel_id = None if channel_id is None else checked_uuid(channel_id, "channel_id")
        wanted = InboundFilter.build(
            from_numbers=from_numbers, pattern=pattern, default_region=default_region
        )
        self.from_numbers = sorted(wanted.from_numbers)
        self.pattern = pattern or None
        self.bird_conn_id = bird_conn_id
        self.poll_interval = _seconds(
            "poll_interval", poll_interval, MIN_POLL_INTERVAL, "Bird allows 50 GET/s per workspace"
        )
        self.event_spacing = _seconds("event_spacing", event_spacing, 0.0)
        self._wanted = wanted
        self._last_event: float | None = None  # when this watcher last fired (monotonic)

    # -- the shared stream -----------------------------------------------------------------

    def shared_stream_key(self) -> Hashable:
        """Watchers of the same assets on one channel share one poll (and one cursor)."""
        _opening_store.set(self.asset_state_store)
        return (
            "airflow_provider_sms.inbound",
            self.bird_conn_id,
            self.channel_id,
            self.poll_interval,
            _asset_identity(self.asset_state_store),
        )

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> SharedStreamProducer:
        return InboundPoll(
            bird_conn_id=kwargs["bird_conn_id"],
            channel_id=kwargs["channel_id"],
            poll_interval=kwargs["poll_interval"],
            store=_opening_store.get(),
        )

    async def filter_shared_stream(self, stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        async for message in stream:
            if self._wanted.matches(message):
                await self._spaced()
                yield MaskedEvent(message)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The same poll without Airflow's shared stream (before 3.3, the triggerer runs
        this): the cursor moves past a message `cursor_lag` seconds after its event was
        taken, whether or not the event was stored by then: a triggerer stopped within that
        time fires it again, and one whose events are lost after it loses them."""
        poll = InboundPoll(
            bird_conn_id=self.bird_conn_id,
            channel_id=self.channel_id,
            poll_interval=self.poll_interval,
            store=watcher_store(self),
            max_in_flight=None,
        )
        async for message, position in poll.open_stream():
            if self._wanted.matches(message):
                await self._spaced()
                yield MaskedEvent(message)
            await poll.hold(position, self.cursor_lag)

    async def _spaced(self) -> None:
        """Wait until `event_spacing` seconds have passed since this watcher's last event."""
        if self._last_event is not None:
            wait = self._last_event + self.event_spacing - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_event = time.monotonic()


def _seconds(field: str, value: Any, minimum: float, why: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: expected seconds, got {value!r}")
    if value < minimum:
        reason = f" ({why})" if why else ""
        raise ValueError(
            f"{field}: at least {minimum:g}{' s' if minimum else ''}{reason}, got {value!r}"
        )
    return float(value)


def _asset_identity(store: Any) -> tuple[str, ...]:
    """The assets a watcher's state store writes to (names and URIs), sorted."""
    return tuple(sorted(f"{kind}:{name}" for kind, name, _ in asset_state_accessors(store)))


class InboundPoll(SharedStreamProducer):
    """The poll behind a stream: lists the channel's messages every `poll_interval` seconds
    and yields each new inbound message once, oldest first, with its (id, createdAt); its
    cursor, kept in the watched assets' state store, moves only in `advance` (ack mode: once
    every watcher's events from the message are stored)."""

    def __init__(
        self,
        *,
        bird_conn_id: str,
        channel_id: str | None,
        poll_interval: float,
        store: Any,
        max_in_flight: int | None = MAX_IN_FLIGHT,
    ):
        import logging

        self.bird_conn_id = bird_conn_id
        self.channel_id = channel_id
        self.poll_interval = poll_interval
        self.store = store
        self.max_in_flight = max_in_flight
        self.log = logging.getLogger(__name__)
        self._held: list[tuple[float, tuple[str, float]]] = []  # (when to pass, position)
        self._cursor: Any = None  # where the stored cursor stands (a bird.incoming.Cursor)
        self._taken: dict[str, float] = {}  # yielded, not yet advanced: id -> createdAt
        self._end: Any = None  # the last scan's cursor, taken once nothing is in flight
        self._key = ""

    async def open_stream(self) -> AsyncIterator[tuple[dict, tuple[str, float]]]:
        from airflow_provider_sms.bird.errors import BirdError, BirdListingUnclearError
        from airflow_provider_sms.bird.objects import inbound_message
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.inbound.replies import report_left_out

        hook = await BirdHook.aconnect(self.bird_conn_id)
        cancel = threading.Event()
        try:
            channel = hook.channel_id(self.channel_id)
            self._key = STATE_KEY.format(conn_id=self.bird_conn_id, channel_id=channel)
            self._cursor = await self._load()
            await asyncio.sleep(COHORT_DELAY)
            errors = 0
            while True:
                await self._release_held()
                try:
                    if self._cursor is None:
                        scan = await asyncio.to_thread(
                            hook.incoming_messages, channel, since=None, cancel=cancel
                        )
                        await self._save(scan.cursor)
                        self.log.info(
                            "Watching channel %s for inbound messages from now on", channel
                        )
                    else:
                        view = self._cursor.passed(self._taken.items())
                        scan = await asyncio.to_thread(
                            hook.incoming_messages, channel, since=view, cancel=cancel
                        )
                    errors = 0
                except BirdError as exc:
                    if not (exc.retryable or isinstance(exc, BirdListingUnclearError)):
                        raise
                    errors += 1
                    self.log.warning(
                        "Could not list channel %s (poll %d in a row to fail); nothing is "
                        "taken from an answer that cannot show the whole window: %s",
                        channel,
                        errors,
                        exc,
                    )
                    await asyncio.sleep(next_delay(self.poll_interval, errors))
                    continue
                report_left_out(scan.left_out, channel, self.log)
                # The cursor moves past everything the scan read (sent messages included)
                # once every message it returned is stored; a scan that returned more than
                # can be in flight is read again from the last one stored.
                room = self.max_in_flight
                fits = room is None or len(self._taken) + len(scan.messages) <= room
                self._end = scan.cursor if fits and scan.cursor is not None else None
                for message, position in zip(scan.messages, scan.positions, strict=True):
                    if room is not None and len(self._taken) >= room:
                        break  # the rest waits in Bird for a later poll
                    self._taken[position[0]] = position[1]
                    yield inbound_message(message), position
                if not self._taken and self._end is not None:
                    await self.passed([])
                await asyncio.sleep(self.poll_interval)
        finally:
            cancel.set()
            hook.close()

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        unclean = [item for item in batch if not item.outcome.is_clean]
        if unclean:
            # An event not stored (or no watcher online): raising ends the stream, and its
            # restart reads the message again from the stored cursor.
            raise RuntimeError(
                f"{len(unclean)} inbound message(s) were not taken by every watcher "
                f"({unclean[0].outcome}); reading them again from the stored cursor"
            )
        await self.passed([item.broker_payload for item in batch])

    async def hold(self, position: tuple[str, float], seconds: float) -> None:
        """Move the cursor past a message `seconds` from now (at once for 0)."""
        if seconds <= 0:
            await self.passed([position])
        else:
            self._held.append((time.monotonic() + seconds, position))

    async def _release_held(self) -> None:
        now = time.monotonic()
        due = [position for when, position in self._held if when <= now]
        if due:
            self._held = [(when, p) for when, p in self._held if when > now]
            await self.passed(due)

    async def passed(self, positions: Sequence[tuple[str, float]]) -> None:
        """Move the stored cursor past messages whose events are stored, and, once none is
        in flight, past everything the last scan read."""
        for message_id, _ in positions:
            self._taken.pop(message_id, None)
        moved = list(positions)
        if not self._taken and self._end is not None:
            moved.append(self._end)
            self._end = None
        cursor = self._cursor.passed(moved)
        if cursor != self._cursor:
            await self._save(cursor)

    async def _load(self):
        from airflow_provider_sms.bird.incoming import Cursor

        stored = [await a.aget(self._key) for _, _, a in asset_state_accessors(self.store)]
        values = [v for v in stored if v is not None]
        if not values:
            return None
        cursor = Cursor.from_json(values[0])
        if cursor is None:
            self.log.warning(
                "The stored cursor %s is not one this provider wrote; watching from now on",
                self._key,
            )
        return cursor

    async def _save(self, cursor) -> None:
        self._cursor = cursor
        for _, _, accessor in asset_state_accessors(self.store):
            await accessor.aset(self._key, cursor.to_json())
