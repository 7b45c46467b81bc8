"""Inbound SMS against the sandbox: the channel scan since a cursor, InboundMessageTrigger
(alone, and on Airflow's own shared-stream manager in ack mode), and the triggerer's event
loop while these poll a slow sandbox."""

import asyncio
import contextlib
import time

import pytest
from support import WATCHERS_FEATURE, MemoryStore, event_loop_delays, needs_airflow

pytestmark = needs_airflow("3.0", WATCHERS_FEATURE)


from airflow_provider_sms.bird.errors import BirdListingUnclearError  # noqa: E402
from airflow_provider_sms.bird.incoming import Cursor  # noqa: E402
from airflow_provider_sms.hooks.bird import BirdHook  # noqa: E402
from airflow_provider_sms.operators.sms import SendSmsOperator  # noqa: E402
from airflow_provider_sms.triggers.inbound import COHORT_DELAY, STATE_KEY, InboundMessageTrigger  # noqa: E402
from airflow_provider_sms.triggers.reply import ReplyTrigger  # noqa: E402
from bird_sandbox import MMS_CHANNEL_ID  # noqa: E402

CUSTOMER = "+12025550150"
OTHER = "+12025550151"


def cursor_in(store: MemoryStore) -> Cursor:
    [value] = store.values.values()
    return Cursor.from_json(value)


def watcher(store, lag=0.0, **kwargs) -> InboundMessageTrigger:
    """A watcher on `store`; `run()` moves its cursor `lag` seconds after an event."""
    trigger = InboundMessageTrigger(channel_id=MMS_CHANNEL_ID, poll_interval=1, **kwargs)
    trigger.asset_state_store = store
    trigger.cursor_lag = lag
    return trigger


async def events_of(trigger, count: int, *, during=None, timeout: float = 20.0) -> list[dict]:
    """The first `count` events of `trigger.run()`; `during` (a coroutine function) runs
    alongside, e.g. to receive messages once the watcher is up."""
    found = []
    events = trigger.run()

    async def collect():
        while len(found) < count:
            found.append((await anext(events)).payload)
        # As the triggerer does, take the generator on once more: past the event it moves
        # the cursor (then waits for the next poll, where this stops it).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(anext(events), 0.5)

    side = asyncio.create_task(during()) if during else None
    try:
        await asyncio.wait_for(collect(), timeout)
    finally:
        if side:
            side.cancel()
    return found


def test_a_scan_starts_at_the_present_then_finds_what_came_in_oldest_first(bird_sandbox):
    bird_sandbox.receive(CUSTOMER, "before the watch began")
    with BirdHook() as hook:
        start = hook.incoming_messages(MMS_CHANNEL_ID)
        assert start.messages == [] and start.cursor is not None
        first = bird_sandbox.receive(CUSTOMER, "one")
        second = bird_sandbox.receive(OTHER, "two")
        scan = hook.incoming_messages(MMS_CHANNEL_ID, since=start.cursor)
        assert [m["id"] for m in scan.messages] == [first["id"], second["id"]]
        moved = start.cursor.passed((m["id"], time.time()) for m in scan.messages)
        assert hook.incoming_messages(MMS_CHANNEL_ID, since=moved).messages == []


def send_campaign(numbers: range) -> None:
    """Outbound traffic on the channel: an SMS to each of `numbers` (+1202555xxxx)."""
    SendSmsOperator(
        task_id="campaign",
        channel_id=MMS_CHANNEL_ID,
        recipients=[f"+1202555{n:04d}" for n in numbers],
        text="Our winter sale starts today.",
    ).execute({})


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_a_scan_finds_an_inbound_sms_behind_a_page_of_outbound_traffic(bird_sandbox, order):
    bird_sandbox.listing = {"order": order}
    with BirdHook() as hook:
        start = hook.incoming_messages(MMS_CHANNEL_ID)
        reply = bird_sandbox.receive(CUSTOMER, "STOP")
        send_campaign(range(2000, 2250))
        scan = hook.incoming_messages(MMS_CHANNEL_ID, since=start.cursor)
    assert [m["id"] for m in scan.messages] == [reply["id"]]
    assert scan.pages == 3  # 251 messages, read to the end in either order


def test_a_listing_that_names_no_next_page_cannot_tell_what_is_new(bird_sandbox):
    bird_sandbox.listing = {"page_token_field": None}
    with BirdHook() as hook:
        start = hook.incoming_messages(MMS_CHANNEL_ID)
        send_campaign(range(3000, 3120))
        with pytest.raises(BirdListingUnclearError, match="named no next page"):
            hook.incoming_messages(MMS_CHANNEL_ID, since=start.cursor)


def test_a_watcher_fires_once_per_wanted_sms_and_not_again_after_a_restart(bird_sandbox):
    store = MemoryStore()

    async def scenario():
        # The first run starts the cursor at the present: earlier messages are not events.
        bird_sandbox.receive(CUSTOMER, "yes, from before the watch")
        trigger = watcher(store, from_numbers=[CUSTOMER], pattern=r"^\s*yes\b")

        async def traffic():
            while STATE_KEY.format(conn_id="bird_default", channel_id=MMS_CHANNEL_ID) not in (
                store.values
            ):
                await asyncio.sleep(0.1)
            bird_sandbox.receive(OTHER, "yes")  # another number
            bird_sandbox.receive(CUSTOMER, "no")  # not matching
            bird_sandbox.receive(CUSTOMER, "YES please")

        [event] = await events_of(trigger, 1, during=traffic)
        assert (event["from"], event["text"]) == (CUSTOMER, "YES please")
        # Restarted with the same store: only what came in since is an event.
        later = bird_sandbox.receive(CUSTOMER, "yes again")
        [again] = await events_of(watcher(store, from_numbers=[CUSTOMER], pattern="yes"), 1)
        assert again["message_id"] == later["id"]
        return event

    asyncio.run(scenario())


def test_without_the_shared_stream_a_restart_within_the_lag_fires_again_and_loses_nothing(
    bird_sandbox,
):
    # Before Airflow 3.3 the triggerer runs run(): the cursor passes a message `lag` seconds
    # after its event, so a triggerer stopped sooner fires it again, and one stopped later
    # does not.
    store = MemoryStore()

    async def scenario():
        trigger = watcher(store, lag=2.0)

        async def traffic():
            while not store.values:
                await asyncio.sleep(0.1)
            bird_sandbox.receive(CUSTOMER, "first")

        [first] = await events_of(trigger, 1, during=traffic)
        # Stopped at once: the message comes again, with one that came in meanwhile.
        second = bird_sandbox.receive(CUSTOMER, "second")
        again = await events_of(watcher(store, lag=2.0), 2)
        assert [e["message_id"] for e in again] == [first["message_id"], second["id"]]
        # This run stays up past the lag (two polls), then stops: nothing comes again.
        events = watcher(store, lag=2.0).run()
        assert (await anext(events)).payload["message_id"] == first["message_id"]
        assert (await anext(events)).payload["message_id"] == second["id"]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(anext(events), 4.5)
        third = bird_sandbox.receive(CUSTOMER, "third")
        [after] = await events_of(watcher(store, lag=2.0), 1)
        assert after["message_id"] == third["id"]

    asyncio.run(scenario())


@pytest.mark.needs_airflow("3.3", feature="the triggerer's shared stream")
def test_watchers_on_airflows_shared_stream_move_the_cursor_only_once_events_are_stored(
    bird_sandbox,
):
    from airflow.triggers.shared_stream import SharedStreamManager

    store = MemoryStore()

    async def run_manager(stored: bool, expect: int) -> list[dict]:
        """Two watchers with different filters on one stream, as the triggerer runs them;
        `stored` says whether the triggerer confirms their events stored."""
        manager = SharedStreamManager()
        yes = watcher(store, pattern="^yes")
        stop = watcher(store, pattern="^stop")
        events = []

        async def run(trigger_id, trigger):
            key = trigger.shared_stream_key()
            stream = trigger.filter_shared_stream(
                manager.subscribe(trigger_id=trigger_id, trigger=trigger, key=key)
            )
            async for event in stream:
                seq = manager.bind_pending_event(trigger_id=trigger_id, key=key)
                events.append(event.payload)
                if stored and seq is not None:
                    manager.confirm_persisted([seq])

        tasks = [asyncio.create_task(run(1, yes)), asyncio.create_task(run(2, stop))]
        deadline = time.monotonic() + 20
        while len(events) < expect and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if stored and expect:
            # Stored events move the cursor while the watchers run: no later SMS needed.
            ids = {e["message_id"] for e in events}
            while not ids <= set(cursor_in(store).seen) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert ids <= set(cursor_in(store).seen), "the cursor did not move"
        # A poll more (after the first poll's wait for the cohort): nothing else fires.
        await asyncio.sleep(1.5 if expect else COHORT_DELAY + 2.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await manager.stop_all()
        return events

    async def scenario():
        first = asyncio.create_task(run_manager(stored=False, expect=2))
        while not store.values:
            await asyncio.sleep(0.1)
        bird_sandbox.receive(OTHER, "hello")  # wanted by neither
        yes = bird_sandbox.receive(CUSTOMER, "yes")
        stop = bird_sandbox.receive(OTHER, "STOP")  # the last: no message after it
        fired = await first
        assert sorted(e["message_id"] for e in fired) == sorted([yes["id"], stop["id"]])
        # Never confirmed stored (the triggerer died first): the cursor has not moved, and
        # the next triggerer fires both again, once each.
        refired = await run_manager(stored=True, expect=2)
        assert sorted(e["message_id"] for e in refired) == sorted([yes["id"], stop["id"]])
        # Confirmed this time: a third triggerer fires nothing.
        assert await run_manager(stored=True, expect=0) == []

    asyncio.run(scenario())


def test_the_event_loop_keeps_running_while_inbound_triggers_poll_a_slow_sandbox(bird_sandbox):
    bird_sandbox.latency = 0.3  # each listing answer takes 0.3 s
    store = MemoryStore()

    async def scenario():
        async with event_loop_delays() as delays:
            event, answer = await watch_and_wait()
        return event, answer, delays

    async def watch_and_wait():
        reply = ReplyTrigger(
            channel_id=MMS_CHANNEL_ID,
            from_numbers=[CUSTOMER],
            after=time.time(),
            pattern="^yes",
            poll_interval=1,
            end_time=time.time() + 30,
        )
        replies = asyncio.create_task(anext(reply.run()))

        async def traffic():
            await asyncio.sleep(4)  # several polls of each, at 0.3 s an answer
            bird_sandbox.receive(CUSTOMER, "yes")

        [event] = await events_of(watcher(store), 1, during=traffic, timeout=30)
        answer = await asyncio.wait_for(replies, 30)
        return event, answer

    event, answer, delays = asyncio.run(scenario())
    assert event["text"] == "yes" and answer.payload["reply"]["text"] == "yes"
    gets = [r for r in bird_sandbox.requests if r.method == "GET"]
    assert len(gets) >= 8  # they did poll the slow sandbox meanwhile
    assert len(delays) > 200 and max(delays) < 0.1, max(delays)


def test_a_reply_wait_ignores_earlier_messages_others_and_non_matching_then_times_out_saying_so(
    bird_sandbox,
):
    bird_sandbox.receive(CUSTOMER, "yes (too early)")
    after = time.time() + 0.01
    time.sleep(0.05)
    bird_sandbox.receive(OTHER, "yes")
    bird_sandbox.receive(CUSTOMER, "maybe")
    trigger = ReplyTrigger(
        channel_id=MMS_CHANNEL_ID,
        from_numbers=[CUSTOMER],
        after=after,
        pattern="^yes",
        poll_interval=1,
        end_time=time.time() + 2.5,
    )
    event = asyncio.run(anext(trigger.run())).payload
    assert event["status"] == "timeout"
    assert event["seen"] == {"not_matching": 1, "other_numbers": 1}
    assert CUSTOMER not in event["text"] and "+120******50" in event["text"]
    assert "matching '^yes'" in event["text"]


def test_the_watchers_cursor_is_kept_per_connection_and_channel(bird_sandbox):
    store = MemoryStore()

    async def scenario():
        trigger = watcher(store)

        async def traffic():
            while not store.values:
                await asyncio.sleep(0.1)
            bird_sandbox.receive(CUSTOMER, "hi")

        await events_of(trigger, 1, during=traffic)

    asyncio.run(scenario())
    [key] = store.values
    assert key == f"airflow_provider_sms.inbound:bird_default:{MMS_CHANNEL_ID}"
    assert Cursor.from_json(store.values[key]) is not None
