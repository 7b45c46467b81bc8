"""The keys a task writes in Airflow's task state store (and a watcher in its assets' store),
to the letter, and how their values are laid out.

A try that runs after the provider was upgraded reads what the tries before it wrote: the
ledger that keeps a send from going out twice, when an approval's question first went out,
where a ReplySensor's window starts and how far it read, where an inbound watcher stands on
its channel. Each key below is what running the code wrote, kept literal, so that no change
to the code behind it can rename one without a test saying so. Every task instance here has
max_tries 3, which names the ledger and the keys beside it."""

import asyncio
import contextlib
import hashlib
import time
from types import SimpleNamespace
from uuid import UUID

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from support import HITL, WATCHERS, MemoryStore, png

from airflow_provider_sms.bird.incoming import Cursor
from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.sensors.reply import ReplySensor
from bird_sandbox import MMS_CHANNEL_ID

APPROVER = "+12025550170"
CUSTOMER = "+12025550180"
OTHER = "+12025550181"
# One more recipient than a ledger group holds (800): the send takes two groups.
RECIPIENTS = [f"+1415555{i:04d}" for i in range(801)]


def context(store: MemoryStore, *, started: float | None = None) -> dict:
    ti = SimpleNamespace(
        id=UUID("0195b5a4-0000-7000-8000-000000000001"),
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        try_number=1,
        max_tries=3,
        task=SimpleNamespace(retries=3),
        start_date=None if started is None else SimpleNamespace(timestamp=lambda: started),
    )
    return {"ti": ti, "task_state_store": store}


def test_a_send_keeps_its_ledger_under_these_keys(checked_sandbox, tmp_path):
    chart = tmp_path / "sales.png"
    chart.write_bytes(png(2_000))
    store = MemoryStore()
    op = SendMmsOperator(task_id="t", recipients=RECIPIENTS, images=str(chart), use_batch_api=True)
    entries = op.execute(context(store))
    assert sorted(store.values) == [
        "bird-ledger:m3:0",
        "bird-ledger:m3:1",
        "bird-ledger:m3:media",
        "bird-ledger:m3:meta",
    ]
    meta = store.values["bird-ledger:m3:meta"]
    assert set(meta) == {"started", "digest", "groups"} and meta["groups"] == 2
    # An upload: its file's sha256 and content type -> the media URL Bird gave it.
    [upload] = checked_sandbox.uploads
    sha256 = hashlib.sha256(chart.read_bytes()).hexdigest()
    assert store.values["bird-ledger:m3:media"] == {f"{sha256}:image/png": upload.media_url}
    # A group: batch id -> the recipients Bird took in that batch.
    batch_of = {e["recipient"]: e["batch_id"] for e in entries}
    for key, recipients in [
        ("bird-ledger:m3:0", RECIPIENTS[:800]),
        ("bird-ledger:m3:1", RECIPIENTS[800:]),
    ]:
        expected: dict[str, list[str]] = {}
        for recipient in recipients:
            expected.setdefault(batch_of[recipient], []).append(recipient)
        group = store.values[key]
        assert list(group) == ["batches"]
        assert {b: sorted(rs) for b, rs in group["batches"].items()} == expected


@pytest.mark.needs_airflow("3.1", feature=HITL)
def test_an_approval_records_when_it_asked_beside_its_sends_ledger(checked_sandbox, monkeypatch):
    from airflow_provider_sms.operators.approval import SmsApprovalOperator

    # The HITL detail lives in Airflow's API server, which a test run has not.
    monkeypatch.setattr("airflow.sdk.execution_time.hitl.upsert_hitl_detail", lambda **kwargs: None)
    store = MemoryStore()
    op = SmsApprovalOperator(task_id="t", subject="Ship it?", approvers=APPROVER)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context(store))
    assert sorted(store.values) == [
        "bird-ledger:m3:0",
        "bird-ledger:m3:meta",
        "sms-approval:asked:m3",
    ]
    # When the question first went out: the replies are read from then on.
    assert store.values["sms-approval:asked:m3"] == deferred.value.trigger.after


def test_a_reply_sensor_keeps_its_window_and_its_place_under_these_keys(bird_sandbox):
    store = MemoryStore()
    started = time.time()
    time.sleep(0.01)  # Bird's createdAt has milliseconds: the message comes after `started`
    elsewhere = bird_sandbox.receive(OTHER, "not the one waited for")
    sensor = ReplySensor(task_id="t", from_numbers=[CUSTOMER], deferrable=False, timeout=30)
    assert not sensor.poke(context(store, started=started))
    assert sorted(store.values) == [
        "airflow_provider_sms.reply:after:3",
        "airflow_provider_sms.reply:cursor:3",
    ]
    # With nothing to go by but the task, the window starts with the task's first try.
    assert store.values["airflow_provider_sms.reply:after:3"] == started
    cursor = Cursor.from_json(store.values["airflow_provider_sms.reply:cursor:3"])
    assert cursor is not None and elsewhere["id"] in cursor.seen


@WATCHERS
def test_an_inbound_watcher_keeps_its_place_under_this_key(bird_sandbox, monkeypatch):
    from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

    name, value = bird_sandbox.connection_env("bird_watch")
    monkeypatch.setenv(name, value)
    monkeypatch.setattr("airflow_provider_sms.triggers.inbound.COHORT_DELAY", 0.0)
    store = MemoryStore()
    watcher = InboundMessageTrigger(
        channel_id=MMS_CHANNEL_ID, bird_conn_id="bird_watch", poll_interval=1, event_spacing=0
    )
    watcher.asset_state_store = store

    async def first_poll():
        events = watcher.run()
        waiting = asyncio.ensure_future(anext(events))
        try:
            while not store.values:
                await asyncio.sleep(0.05)
        finally:
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            await events.aclose()

    asyncio.run(asyncio.wait_for(first_poll(), 20))
    key = "airflow_provider_sms.inbound:bird_watch:6b52e9cb-2ddf-45b5-8aea-62882e999fb7"
    assert list(store.values) == [key]
    assert Cursor.from_json(store.values[key]) is not None
