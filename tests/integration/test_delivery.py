"""The send engine and the operators' bookkeeping: nothing accepted is ever forgotten,
failing Bird is not hammered, and retries skip what was sent."""

import json
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from support import LISTINGS, MemoryStore, numbers, receiver

from airflow_provider_sms.bird.errors import BirdUnavailableError
from airflow_provider_sms.bird.fanout import fan_out
from airflow_provider_sms.message.bodies import text_body
from airflow_provider_sms.message.outgoing import Outgoing
from airflow_provider_sms.operators.mms import SendMmsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.outbound.ledger import Ledger, max_tries_of
from bird_sandbox import MMS_CHANNEL_ID

build = Outgoing("SMS", (), MMS_CHANNEL_ID, {"body": text_body("hello")}).request


def test_accepted_sends_are_recorded_even_when_recording_fails_midway(bird_sandbox, make_client):
    recorded, calls = [], []

    def record(entries, refused):
        calls.append(len(entries))
        if len(calls) == 2:
            raise RuntimeError("state store unavailable for a moment")
        recorded.extend(e.recipient for e in entries)

    with make_client() as client, pytest.raises(RuntimeError):
        fan_out(
            client, bird_sandbox.mms_channel_id, numbers(300), build,
            max_concurrency=8, on_settled=record, flush_interval=0.001,
        )  # fmt: skip
    accepted = {m["receiver"]["contacts"][0]["identifierValue"] for m in bird_sandbox.messages}
    assert len(calls) >= 3, "the failed group was not recorded again"
    assert set(recorded) == accepted


def test_consecutive_timeouts_stop_the_send(bird_sandbox, make_client):
    bird_sandbox.inject("hang", count=1000, seconds=0.5)
    with make_client(read_timeout=0.1) as client:
        report = fan_out(
            client, bird_sandbox.mms_channel_id, numbers(200), build,
            max_concurrency=4, breaker_threshold=6,
        )  # fmt: skip
    assert isinstance(report.aborted_by, BirdUnavailableError)
    assert report.not_attempted >= 180
    assert len(bird_sandbox.requests) < 20


def test_unavailable_summary_masks_numbers_echoed_by_bird(checked_sandbox):
    checked_sandbox.reject_recipients = set(numbers(40))
    with pytest.raises(AirflowFailException) as e:
        SendSmsOperator(task_id="t", recipients=numbers(40), text="x").execute({})
    assert not any(n in str(e.value) for n in numbers(40))
    assert "cannot receive messages" in str(e.value)


@pytest.mark.parametrize(
    "channel", ["sms-channel", " x\n", "6b52e9cb-2ddf-45b5-8aea-62882e999fb7?x=1"]
)
def test_channel_id_must_be_a_uuid_before_anything_is_sent(checked_sandbox, channel):
    with pytest.raises(AirflowFailException) as e:
        SendSmsOperator(task_id="t", recipients=numbers(1), text="x", channel_id=channel).execute(
            {}
        )
    assert "channel_id" in str(e.value)
    assert checked_sandbox.requests == []


def test_outage_during_the_capability_check_is_retryable(checked_sandbox, monkeypatch):
    checked_sandbox.inject("status", count=100, status=503)
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=1, retry_backoff=0.01)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    op = SendMmsOperator(task_id="t", recipients="+14155552671", images="https://e.x/a.png")
    with pytest.raises(AirflowException) as e:
        op.execute({})
    assert not isinstance(e.value, AirflowFailException)
    assert not checked_sandbox.messages


def test_partial_outage_without_state_store_is_not_retried(checked_sandbox, monkeypatch):
    checked_sandbox.inject("status", count=10_000, status=503, after_messages=5)
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=0)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    op = SendSmsOperator(task_id="t", recipients=numbers(40), text="x", max_concurrency=1)
    with pytest.raises(AirflowFailException) as e:
        op.execute({})
    assert "without a task state store" in str(e.value)


def context_with(store, try_number=1, cleared_after=0, retries=3):
    """A task instance with 3 retries when its run began; `cleared_after` tries it was cleared
    (Airflow then raises max_tries to the try number plus the retries). `retries` is what the
    DAG file says now: Airflow keeps max_tries as it was."""
    ti = SimpleNamespace(
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        try_number=try_number,
        max_tries=3 + cleared_after,
        task=SimpleNamespace(retries=retries),
    )
    return {"ti": ti, "task_state_store": store}


def test_retry_sends_only_what_the_first_try_did_not(checked_sandbox):
    store = MemoryStore()
    recipients = numbers(30)
    checked_sandbox.reject_recipients = set(recipients[10:12])
    op = SendSmsOperator(task_id="t", recipients=recipients, text="Parcel today")
    with pytest.raises(AirflowFailException):
        op.execute(context_with(store))
    first_ids = {receiver(m): m["id"] for m in checked_sandbox.messages}
    checked_sandbox.reject_recipients = set()
    results = op.execute(context_with(store, try_number=2))
    assert Counter(receiver(m) for m in checked_sandbox.messages) == dict.fromkeys(recipients, 1)
    already = {r["recipient"]: r["message_id"] for r in results if r["status"] == "already_sent"}
    assert already == first_ids


def test_a_retry_never_resends_even_when_the_text_renders_differently(checked_sandbox, capsys):
    store = MemoryStore()
    recipients = numbers(3)
    SendSmsOperator(task_id="t", recipients=recipients, text="try 1").execute(context_with(store))
    # Something after execute() failed, so Airflow retries; the text now renders otherwise.
    results = SendSmsOperator(task_id="t", recipients=recipients, text="try 2").execute(
        context_with(store, try_number=2)
    )
    assert {r["status"] for r in results} == {"already_sent"}
    assert len(checked_sandbox.messages) == 3
    assert "renders differently from the first try" in capsys.readouterr().out


@pytest.mark.parametrize("store", [MemoryStore, None], ids=["ledger", "bird is the record"])
def test_clearing_the_task_instance_sends_again(checked_sandbox, store):
    store = store and store()
    op = SendSmsOperator(task_id="t", recipients=numbers(3), text="same")
    op.execute(context_with(store))
    results = op.execute(context_with(store, try_number=2, cleared_after=1))
    assert {r["status"] for r in results} == {"accepted"}
    assert len(checked_sandbox.messages) == 6


# -- without a task state store (Airflow before 3.3): Bird is the record ---------------------


def test_without_a_state_store_a_retry_finds_in_bird_what_an_earlier_try_sent(
    checked_sandbox, monkeypatch
):
    recipients = numbers(40)
    checked_sandbox.inject("status", count=10_000, status=503, after_messages=15)
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=0)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    op = SendSmsOperator(task_id="t", recipients=recipients, text="x", max_concurrency=1)
    with pytest.raises(AirflowException) as failed:
        op.execute(context_with(None))
    # Retryable: the retry can tell in Bird whom this try reached.
    assert not isinstance(failed.value, AirflowFailException)
    first = {receiver(m): m["id"] for m in checked_sandbox.messages}
    assert len(first) == 15
    checked_sandbox.clear_faults()
    results = op.execute(context_with(None, try_number=2))
    assert Counter(receiver(m) for m in checked_sandbox.messages) == dict.fromkeys(recipients, 1)
    already = {r["recipient"]: r["message_id"] for r in results if r["status"] == "already_sent"}
    assert already == first


def test_without_a_state_store_a_retry_finds_sends_bird_took_but_never_answered(
    checked_sandbox, monkeypatch
):
    checked_sandbox.latency = 1.0  # stored at once, answered after the client gave up
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=0, timeout=0.3)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    op = SendSmsOperator(task_id="t", recipients=numbers(12), text="x", max_concurrency=12)
    with pytest.raises(AirflowException) as failed:
        op.execute(context_with(None))
    assert not isinstance(failed.value, AirflowFailException)
    assert len(checked_sandbox.messages) == 12
    checked_sandbox.latency = 0
    results = op.execute(context_with(None, try_number=2))
    assert {r["status"] for r in results} == {"already_sent"}
    assert len(checked_sandbox.messages) == 12


def test_without_a_state_store_a_listing_that_cannot_tell_stops_a_retry_not_a_first_try(
    checked_sandbox, monkeypatch
):
    # Bird's listing names no next page: whether an earlier try sent anything cannot be told.
    checked_sandbox.backend.add_history(MMS_CHANNEL_ID, numbers(150, 30000000), age=60)
    checked_sandbox.listing = {"page_token_field": None}
    recipients = numbers(3)
    op = SendSmsOperator(task_id="t", channel_id=MMS_CHANNEL_ID, recipients=recipients, text="x")

    def sent():
        return Counter(receiver(m) for m in checked_sandbox.messages if receiver(m) in recipients)

    # Airflow counts no earlier try: sent, with a warning.
    op.execute(context_with(None))
    assert sent() == dict.fromkeys(recipients, 1)
    # Another task's 120 messages list before these, so the retry must read a second page.
    SendSmsOperator(
        task_id="other", channel_id=MMS_CHANNEL_ID, recipients=numbers(120, 31000000), text="y"
    ).execute({})
    with pytest.raises(AirflowFailException) as failed:
        op.execute(context_with(None, try_number=2))
    assert sent() == dict.fromkeys(recipients, 1)
    assert "3 recipient(s)" in str(failed.value) and str(failed.value).count(": unknown") == 3


def test_without_a_state_store_a_retry_with_its_own_reference_sends_nothing_and_names_them(
    checked_sandbox,
):
    recipients = numbers(3)
    op = SendSmsOperator(task_id="t", recipients=recipients, text="x", reference="mine")
    op.execute(context_with(None))
    with pytest.raises(AirflowFailException) as failed:
        op.execute(context_with(None, try_number=2))
    assert len(checked_sandbox.messages) == 3
    text = str(failed.value)
    assert "3 recipient(s)" in text and "sets its own `reference`" in text
    assert all(n not in text for n in recipients) and text.count(": unknown") == 3


def first_run():
    """Which ledger the first run of the task instance in `context_with` keeps."""
    return max_tries_of(context_with(None)["ti"])


class StoreThatDies(MemoryStore):
    """A task state store whose process is killed at the first record after the write-ahead
    one: what was in flight stays recorded as in flight, nothing as sent."""

    def __init__(self, writes_before_death=1):
        super().__init__()
        self.writes_left = writes_before_death

    def set(self, key, value, **kwargs):
        if ":meta" not in key:
            if self.writes_left == 0:
                raise SystemExit("killed")
            self.writes_left -= 1
        super().set(key, value, **kwargs)


def killed_first_try(sandbox, recipients, **options):
    """The operator, and the store its first try left when killed part-way through."""
    sandbox.latency = 0.05  # 4 in flight: about 80 a second, so the kill lands early
    dying = StoreThatDies()
    op = SendSmsOperator(task_id="t", recipients=recipients, text="x", max_concurrency=4, **options)
    with pytest.raises(SystemExit):
        op.execute(context_with(dying))
    sandbox.latency = 0
    store = MemoryStore()
    store.values = dict(dying.values)
    assert Ledger(store, max_tries=first_run()).load().in_flight == recipients
    return op, store


def test_scheduled_messages_of_a_killed_try_are_found_like_any_other(checked_sandbox):
    from datetime import UTC, datetime, timedelta

    recipients = numbers(200)
    send_at = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    op, store = killed_first_try(checked_sandbox, recipients, send_at=send_at)
    first = {receiver(m): m["id"] for m in checked_sandbox.messages}
    assert 0 < len(first) < 200
    assert {m["status"] for m in checked_sandbox.messages} == {"scheduled"}
    op.execute(context_with(store, try_number=2))
    assert Counter(receiver(m) for m in checked_sandbox.messages) == dict.fromkeys(recipients, 1)


@pytest.fixture(params=list(LISTINGS))
def listing(request, checked_sandbox):
    """The sandbox listing messages in each way it can (the channel stays under a page)."""
    checked_sandbox.listing = LISTINGS[request.param]
    return request.param


def test_a_try_killed_after_the_write_ahead_record_is_reconciled_with_bird(
    checked_sandbox, listing
):
    recipients = numbers(200)
    op, store = killed_first_try(checked_sandbox, recipients)
    first = {receiver(m): m["id"] for m in checked_sandbox.messages}
    assert 0 < len(first) < 100, "the kill should land part-way"
    results = op.execute(context_with(store, try_number=2))
    assert Counter(receiver(m) for m in checked_sandbox.messages) == dict.fromkeys(recipients, 1)
    already = {r["recipient"]: r["message_id"] for r in results if r["status"] == "already_sent"}
    assert already == first


@pytest.mark.parametrize("retries_now", [0, 1, 5])
def test_a_retry_after_the_dag_file_changed_retries_sends_nothing_twice(
    checked_sandbox, retries_now
):
    recipients = numbers(200)
    op, store = killed_first_try(checked_sandbox, recipients)
    op.execute(context_with(store, try_number=2, retries=retries_now))
    assert Counter(receiver(m) for m in checked_sandbox.messages) == dict.fromkeys(recipients, 1)


@pytest.mark.parametrize("lost", ["a middle group", "the last group", "the meta record"])
def test_a_retry_with_part_of_its_record_gone_sends_nothing_twice(checked_sandbox, lost, capsys):
    recipients = numbers(2500)
    store = MemoryStore()
    op = SendSmsOperator(task_id="t", recipients=recipients, text="x", max_concurrency=32)
    op.execute(context_with(store))
    groups = sorted(k for k in store.values if not k.endswith(":meta"))
    assert len(groups) >= 3
    key = {
        "a middle group": groups[1],
        "the last group": groups[-1],
        "the meta record": next(k for k in store.values if k.endswith(":meta")),
    }[lost]
    del store.values[key]
    results = op.execute(context_with(store, try_number=2))
    assert Counter(receiver(m) for m in checked_sandbox.messages) == dict.fromkeys(recipients, 1)
    assert (results["already_sent"], results["accepted"]) == (2500, 0)
    assert "looked up in Bird" in capsys.readouterr().out
    # And the next try still knows the record is incomplete.
    again = op.execute(context_with(store, try_number=3))
    assert (again["already_sent"], again["accepted"]) == (2500, 0)
    assert len(checked_sandbox.messages) == 2500


def test_reconciliation_that_cannot_list_sends_nothing_in_doubt_and_fails_for_good(
    checked_sandbox, monkeypatch, listing
):
    recipients = numbers(200)
    op, store = killed_first_try(checked_sandbox, recipients)
    in_doubt = recipients
    posts_before = Counter(receiver(r.json) for r in checked_sandbox.requests if r.method == "POST")
    checked_sandbox.inject("status", count=100, status=503, method="GET")
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=0)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    with pytest.raises(AirflowFailException) as e:
        op.execute(context_with(store, try_number=2))
    first_group = store.values.get(f"{Ledger(store, max_tries=first_run()).prefix}:0", {})
    in_doubt = [r for r in recipients[:800] if r in set(first_group.get("in_flight", []))]
    assert in_doubt
    posts_after = Counter(receiver(r.json) for r in checked_sandbox.requests if r.method == "POST")
    assert all(posts_after[r] == posts_before[r] for r in in_doubt)
    assert f"{len(in_doubt)} recipient(s) were in flight" in str(e.value)
    assert "listing the channel's messages failed" in str(e.value)
    assert not any(r in str(e.value) for r in recipients)


def test_batch_rejections_are_sent_again_on_retry(checked_sandbox, listing):
    checked_sandbox.status_delays = None  # Bird's status at listing time: still accepted
    store = MemoryStore()
    recipients = numbers(5)
    checked_sandbox.reject_recipients = {recipients[2]}
    op = SendSmsOperator(
        task_id="t", recipients=recipients, text="x", use_batch_api=True, check_batch_results=True
    )
    with pytest.raises(AirflowFailException):
        op.execute(context_with(store))
    checked_sandbox.reject_recipients = set()
    results = op.execute(context_with(store, try_number=2))
    by_recipient = {r["recipient"]: r for r in results}
    assert by_recipient[recipients[2]]["status"] == "accepted"
    assert {by_recipient[r]["status"] for r in recipients if r != recipients[2]} == {"already_sent"}
    # The ids learned by listing the batch were kept for the retry's report.
    assert all(by_recipient[r]["message_id"] for r in recipients if r != recipients[2])


def test_sends_without_answer_are_retried_after_looking_them_up_in_bird(
    checked_sandbox, monkeypatch, listing
):
    # Bird accepts each message but answers after the client stopped waiting.
    checked_sandbox.latency = 1.0
    conn = checked_sandbox.connection()
    conn["extra"].update(timeout=0.3)
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
    store = MemoryStore()
    op = SendSmsOperator(task_id="t", recipients=numbers(3), text="x", max_concurrency=3)
    with pytest.raises(AirflowException) as e:
        op.execute(context_with(store))
    assert not isinstance(e.value, AirflowFailException), "a retry can settle it"
    assert "a retry looks them up in Bird" in str(e.value)
    checked_sandbox.latency = 0
    ids = {receiver(m): m["id"] for m in checked_sandbox.messages}
    results = op.execute(context_with(store, try_number=2))
    assert {r["recipient"]: r["message_id"] for r in results} == ids
    assert {r["status"] for r in results} == {"already_sent"}
    assert len([r for r in checked_sandbox.requests if r.method == "POST"]) == 3


def test_batches_left_unchecked_by_a_failed_try_are_checked_before_skipping(
    checked_sandbox, listing
):
    checked_sandbox.status_delays = None  # Bird's status at listing time: still accepted
    store = MemoryStore()
    recipients = numbers(5)
    checked_sandbox.reject_recipients = {recipients[2]}
    # Only the listing that checks the batch fails; the batch itself is accepted.
    checked_sandbox.inject("status", count=100, status=503, method="GET")
    conn = checked_sandbox.connection()
    conn["extra"].update(max_retries=0)
    op = SendSmsOperator(
        task_id="t", recipients=recipients, text="x", use_batch_api=True, check_batch_results=True
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_BIRD_DEFAULT", json.dumps(conn))
        with pytest.raises(AirflowException) as e:
            op.execute(context_with(store))
    assert not isinstance(e.value, AirflowFailException)
    assert "listing the batches to check them failed" in str(e.value)
    # The try failed before Bird's asynchronous validation was seen; let it finish under the
    # rejecting setting, so the rejection is what the retry finds.
    assert checked_sandbox.wait_idle(10)
    checked_sandbox.clear_faults()
    checked_sandbox.reject_recipients = set()
    results = op.execute(context_with(store, try_number=2))
    statuses = {r["recipient"]: r["status"] for r in results}
    assert statuses[recipients[2]] == "accepted"  # rejected before, so sent again
    assert {statuses[r] for r in recipients if r != recipients[2]} == {"already_sent"}
    accepted = [
        m["receiver"]["contacts"][0]["identifierValue"]
        for m in checked_sandbox.messages
        if m["status"] != "rejected"
    ]
    assert sorted(accepted) == sorted(recipients)


def test_a_sender_that_cannot_start_threads_loses_no_accepted_send(checked_sandbox, monkeypatch):
    import threading

    from airflow_provider_sms.bird import fanout

    started, original = [], threading.Thread

    class ScarceThread(original):  # only the send threads are scarce
        def start(self):
            sender = self.name.startswith("bird") and self.name != "bird-sender"
            if sender and len(started) >= 6:
                # Fail only once a send has reached Bird: its answer is then on its way,
                # the worst moment for it to be lost.
                deadline = time.monotonic() + 10
                while not checked_sandbox.messages and time.monotonic() < deadline:
                    time.sleep(0.005)
                raise RuntimeError("can't start new thread")
            started.append(self.name)
            super().start()

    monkeypatch.setattr(fanout.threading, "Thread", ScarceThread)
    checked_sandbox.latency = 0.05
    recipients = numbers(100)
    store = MemoryStore()
    op = SendSmsOperator(task_id="t", recipients=recipients, text="x", max_concurrency=50)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        op.execute(context_with(store))
    first = {receiver(m): m["id"] for m in checked_sandbox.messages}
    assert first, "some sends should have gone out on the threads that started"
    earlier = Ledger(store, max_tries=first_run()).load().sent
    assert {r: (e.message_id, e.batch_id) for r, e in earlier.items()} == {
        r: (i, None) for r, i in first.items()
    }
    monkeypatch.setattr(fanout.threading, "Thread", original)
    checked_sandbox.latency = 0
    results = op.execute(context_with(store, try_number=2))
    assert Counter(receiver(m) for m in checked_sandbox.messages) == dict.fromkeys(recipients, 1)
    assert sum(r["status"] == "already_sent" for r in results) == len(first)


@pytest.mark.parametrize("body", ["null", "[]", '"ok"', "{}"])
def test_a_202_that_is_not_a_message_object_still_counts_as_sent(checked_sandbox, body):
    checked_sandbox.inject("body", count=5, body=body, method="POST")
    recipients = numbers(20)
    store = MemoryStore()
    op = SendSmsOperator(task_id="t", recipients=recipients, text="x", max_concurrency=4)
    results = op.execute(context_with(store))
    assert {r["status"] for r in results} == {"accepted"}
    assert sum(r["message_id"] is None for r in results) == 5
    assert len(Ledger(store, max_tries=first_run()).load().sent) == 20
    again = op.execute(context_with(store, try_number=2))
    assert {r["status"] for r in again} == {"already_sent"}
    assert len(checked_sandbox.messages) == 20


def test_without_a_store_a_send_cut_off_by_a_timeout_fails_for_good(checked_sandbox):
    import signal

    from airflow.providers.common.compat.sdk import AirflowTaskTimeout

    def time_out(*_):
        raise AirflowTaskTimeout("execution_timeout")

    checked_sandbox.latency = 0.05
    previous = signal.signal(signal.SIGALRM, time_out)
    signal.setitimer(signal.ITIMER_REAL, 0.5)  # as Airflow's execution_timeout does
    try:
        op = SendSmsOperator(task_id="t", recipients=numbers(200), text="x", max_concurrency=4)
        with pytest.raises(AirflowFailException) as e:
            op.execute({})
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert isinstance(e.value.__cause__, AirflowTaskTimeout)
    assert "were accepted before the send was cut short (AirflowTaskTimeout)" in str(e.value)
    assert 0 < len(checked_sandbox.messages) < 200
