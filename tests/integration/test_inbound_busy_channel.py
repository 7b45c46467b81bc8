"""Inbound readers on a channel busy with sent messages (20,001 of them, as a large send
leaves it): the scan, the inbound watcher and ReplySensor find the next reply, each poll
reads a bounded number of pages, and once the send is a few minutes old a poll costs two
GETs; messages that cannot be taken are reported once; ReplySensor's default window."""

import asyncio
import contextlib
import logging
import math
import time
from types import SimpleNamespace

import pytest
from support import WATCHERS_FEATURE, MemoryStore, needs_airflow

pytestmark = needs_airflow("3.0", WATCHERS_FEATURE)


from airflow_provider_sms.bird.incoming import MAX_PAGES, OVERLAP, Cursor, scan_incoming  # noqa: E402
from airflow_provider_sms.hooks.bird import BirdHook  # noqa: E402
from airflow_provider_sms.inbound.replies import incoming_replies  # noqa: E402
from airflow_provider_sms.operators.sms import SendSmsOperator  # noqa: E402
from airflow_provider_sms.sensors.reply import ReplySensor  # noqa: E402
from airflow_provider_sms.triggers.inbound import InboundMessageTrigger  # noqa: E402
from bird_sandbox import MMS_CHANNEL_ID  # noqa: E402

BURST = 20_001
CUSTOMER = "+12025550180"
POLL = 5.0  # the watcher's default poll interval, on the scans' clock


class Clock:
    """The scans' clock, moved by the test: one poll interval a scan."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def list_gets(sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.method == "GET" and r.path.endswith("/messages"))


def polls_until_found(hook, sandbox, cursor, *, clock=None, limit=20):
    """Scan (one scan a poll) until a message comes back: (messages, cursor, GETs of each
    poll)."""
    costs = []
    for _ in range(limit):
        before = list_gets(sandbox)
        if clock is None:
            replies, positions = incoming_replies(hook, MMS_CHANNEL_ID, cursor)
            messages = [r["message_id"] for r in replies]
        else:
            clock.now += POLL
            scan = scan_incoming(hook.client, MMS_CHANNEL_ID, cursor, clock=clock)
            messages, positions = [m["id"] for m in scan.messages], [*scan.positions, scan.cursor]
        cursor = cursor.passed(positions)
        costs.append(list_gets(sandbox) - before)
        if messages:
            return messages, cursor, costs
    raise AssertionError(f"nothing found in {limit} polls; GETs per poll: {costs}")


def test_after_a_send_of_20001_the_next_reply_is_found_each_poll_reading_at_most_max_pages(
    bird_sandbox,
):
    with BirdHook() as hook:
        cursor = hook.incoming_messages(MMS_CHANNEL_ID).cursor
        bird_sandbox.store_sent(BURST)
        reply = bird_sandbox.receive(CUSTOMER, "YES")
        found, cursor, costs = polls_until_found(hook, bird_sandbox, cursor)
    assert found == [reply["id"]]
    assert max(costs) <= MAX_PAGES, costs
    assert len(costs) == math.ceil((BURST + 1) / 100 / MAX_PAGES), costs


def test_once_a_large_send_is_a_few_minutes_old_a_poll_costs_two_gets(bird_sandbox):
    clock = Clock()
    with BirdHook() as hook:
        cursor = hook.incoming_messages(MMS_CHANNEL_ID).cursor
        bird_sandbox.store_sent(BURST)
        first = bird_sandbox.receive(CUSTOMER, "first")
        found, cursor, costs = polls_until_found(hook, bird_sandbox, cursor, clock=clock)
        assert found == [first["id"]]
        # Polls go on with nothing new: the sent messages' minute is read again until a
        # scan begun OVERLAP seconds after the one that read them has read it to its end.
        idle, until = [], clock.now + 4 * OVERLAP
        while clock.now < until:
            before = list_gets(bird_sandbox)
            clock.now += POLL
            scan = scan_incoming(hook.client, MMS_CHANNEL_ID, cursor, clock=clock)
            assert scan.messages == []
            cursor = cursor.passed([scan.cursor])
            idle.append(list_gets(bird_sandbox) - before)
        assert max(idle) <= MAX_PAGES and idle[-5:] == [2] * 5, idle
        second = bird_sandbox.receive(CUSTOMER, "second")
        found, cursor, costs = polls_until_found(hook, bird_sandbox, cursor, clock=clock)
    assert found == [second["id"]] and costs == [2]
    print(f"\nGETs per poll after a send of {BURST}: {costs + idle}")


def test_an_undated_inbound_message_on_a_busy_channel_neither_stops_the_scan_nor_is_warned_twice(
    bird_sandbox, caplog
):
    with BirdHook() as hook:
        bird_sandbox.store_sent(20_500)
        cursor = hook.incoming_messages(MMS_CHANNEL_ID).cursor
        bird_sandbox.backend.receive(CUSTOMER, "no date", listed={"createdAt": "2026-12-06 at ten"})
        bird_sandbox.backend.receive(CUSTOMER, "no id", listed={"id": None})
        reply = bird_sandbox.receive(CUSTOMER, "YES")
        with caplog.at_level(logging.WARNING):
            found, cursor, costs = polls_until_found(hook, bird_sandbox, cursor)
            assert found == [reply["id"]] and max(costs) <= MAX_PAGES, costs
            for _ in range(3):  # later polls read the two again
                replies, positions = incoming_replies(hook, MMS_CHANNEL_ID, cursor)
                cursor = cursor.passed(positions)
    warnings = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(warnings) == 2, warnings
    assert "no readable createdAt" in warnings[0] or "no readable createdAt" in warnings[1]
    assert any("it has no id" in w for w in warnings), warnings


def test_a_watcher_fires_on_the_next_sms_after_a_send_of_20001(bird_sandbox, monkeypatch):
    store = MemoryStore()
    trigger = InboundMessageTrigger(channel_id=MMS_CHANNEL_ID, poll_interval=1, event_spacing=0)
    trigger.asset_state_store = store
    trigger.cursor_lag = 0  # the cursor moves past each event at once (the scan is what counts)
    monkeypatch.setattr("airflow_provider_sms.triggers.inbound.COHORT_DELAY", 0.0)
    sent = {}

    async def scenario():
        events = trigger.run()
        waiting = asyncio.ensure_future(anext(events))
        while not store.values:
            await asyncio.sleep(0.1)
        bird_sandbox.store_sent(BURST)
        sent["reply"] = bird_sandbox.receive(CUSTOMER, "Help, my order")
        event = await asyncio.wait_for(waiting, 60)
        # As the triggerer does, take the generator on once more: past the event it moves
        # the cursor (then waits for the next poll, where this stops it).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(anext(events), 0.5)
        return event.payload

    payload = asyncio.run(scenario())
    assert payload["message_id"] == sent["reply"]["id"]
    [value] = store.values.values()
    cursor = Cursor.from_json(value)
    assert cursor.resume is None and sent["reply"]["id"] in cursor.seen


def sensor_context(store, started: float):
    ti = SimpleNamespace(start_date=SimpleNamespace(timestamp=lambda: started), max_tries=0)
    return {"ti": ti, "task_state_store": store}


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_reply_sensor_after_a_send_takes_a_reply_that_came_before_it_started(
    bird_sandbox, deferrable
):
    entries = SendSmsOperator(
        task_id="ask", channel_id=MMS_CHANNEL_ID, recipients=[CUSTOMER], text="Reply YES"
    ).execute({})
    reply = bird_sandbox.receive(CUSTOMER, "yes")
    time.sleep(0.01)
    sensor = ReplySensor(
        task_id="wait", from_numbers=entries, pattern="^yes", deferrable=deferrable, timeout=30
    )
    context = sensor_context(MemoryStore(), time.time())
    if deferrable:
        from airflow.providers.common.compat.sdk import TaskDeferred

        with pytest.raises(TaskDeferred) as deferred:
            sensor.execute(context)
        event = asyncio.run(anext(deferred.value.trigger.run())).payload
        assert event["status"] == "success", event
        assert event["reply"]["message_id"] == reply["id"]
    else:
        done = sensor.poke(context)
        assert done and done.xcom_value["message_id"] == reply["id"]


def test_a_retried_reply_sensor_takes_a_reply_that_came_during_an_earlier_try(bird_sandbox):
    store = MemoryStore()
    sensor = ReplySensor(task_id="wait", from_numbers=[CUSTOMER], deferrable=False, timeout=30)
    first_try = time.time()
    assert not sensor.poke(sensor_context(store, first_try))
    reply = bird_sandbox.receive(CUSTOMER, "yes, sorry for the wait")
    time.sleep(0.01)
    retry = ReplySensor(task_id="wait", from_numbers=[CUSTOMER], deferrable=False, timeout=30)
    done = retry.poke(sensor_context(store, time.time()))
    assert done and done.xcom_value["message_id"] == reply["id"]


def test_a_watcher_reports_an_undated_and_an_id_less_sms_once_however_many_polls_read_them(
    bird_sandbox, monkeypatch, caplog
):
    store = MemoryStore()
    trigger = InboundMessageTrigger(channel_id=MMS_CHANNEL_ID, poll_interval=1, event_spacing=0)
    trigger.asset_state_store = store
    monkeypatch.setattr("airflow_provider_sms.triggers.inbound.COHORT_DELAY", 0.0)

    async def scenario():
        events = trigger.run()
        waiting = asyncio.ensure_future(anext(events))
        while not store.values:
            await asyncio.sleep(0.1)
        bird_sandbox.backend.receive(CUSTOMER, "undated", listed={"createdAt": "soon"})
        bird_sandbox.backend.receive(CUSTOMER, "no id", listed={"id": None})
        polled = list_gets(bird_sandbox)
        while list_gets(bird_sandbox) < polled + 4:  # four polls read them
            await asyncio.sleep(0.1)
        bird_sandbox.receive(CUSTOMER, "dated")
        event = await asyncio.wait_for(waiting, 30)
        await events.aclose()
        return event.payload

    with caplog.at_level(logging.WARNING):
        payload = asyncio.run(scenario())
    assert payload["text"] == "dated"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert any("no readable createdAt" in w for w in warnings), warnings
    assert any("it has no id" in w for w in warnings), warnings
