"""The write-ahead ledger's storage: few writes, small values, later records win."""

import json

from support import MemoryStore

from airflow_provider_sms.bird.fanout import Accepted
from airflow_provider_sms.outbound.ledger import Earlier, Ledger, max_tries_of


def sent(recipients, prefix="m"):
    return [Accepted(r, f"{prefix}{r}", "accepted") for r in recipients]


def test_recipients_go_from_in_flight_to_sent_or_forgotten():
    store = MemoryStore()
    ledger = Ledger(store, max_tries=1)
    ledger.load()
    ledger.before_send(["+1", "+2", "+3", "+4"])
    assert Ledger(store, max_tries=1).load().in_flight == ["+1", "+2", "+3", "+4"]
    ledger.settle(sent(["+1"]), ["+2"])
    ledger.settle([Accepted("+3", None, "submitted", "b1", in_batch=True)], [])
    earlier = Ledger(store, max_tries=1).load()
    assert earlier.sent == {
        "+1": Accepted("+1", "m+1", "already_sent"),
        "+3": Accepted("+3", None, "already_sent", "b1"),
    }
    assert earlier.sent["+3"].unchecked and not earlier.sent["+1"].unchecked
    assert earlier.in_flight == ["+4"]
    assert sorted(store.values) == ["bird-ledger:m1:0", "bird-ledger:m1:meta"]


def test_a_recipient_sent_again_in_a_later_group_takes_its_latest_state():
    store = MemoryStore()
    first = Ledger(store, max_tries=1)
    first.load()
    first.before_send(["+1", "+2"])
    second = Ledger(store, max_tries=1)
    assert second.load().in_flight == ["+1", "+2"]
    second.settle([], ["+1"])  # not found in Bird: forgotten, then sent again
    second.before_send(["+1"])
    second.settle(sent(["+1"], "new"), [])
    assert Ledger(store, max_tries=1).load().sent == {"+1": Accepted("+1", "new+1", "already_sent")}


def test_generations_do_not_see_each_other():
    store = MemoryStore()
    ledger = Ledger(store, max_tries=1)
    ledger.load()
    ledger.before_send(["+1"])
    assert Ledger(store, max_tries=2).load() == Earlier()


def test_a_100000_recipient_send_is_read_back_from_few_small_keys():
    store = MemoryStore()
    ledger = Ledger(store, max_tries=1)
    ledger.load()
    ledger.begin(started=1.0, digest="d", earlier=Earlier())
    recipients = [f"+3161{i:07d}" for i in range(100_000)]
    for start in range(0, len(recipients), 800):
        group = recipients[start : start + 800]
        ledger.before_send(group)
        ledger.settle(sent(group, "6f1c0d2e-8a3b-4c5d-9e7f-"), [])
    assert len(store.values) <= 130
    assert max(len(json.dumps(v)) for v in store.values.values()) < 60_000
    earlier = Ledger(store, max_tries=1).load()
    assert len(earlier.sent) == 100_000 and earlier.started == 1.0


def test_the_ledger_is_named_by_max_tries_never_by_the_dag_files_retries():
    class Ti:
        def __init__(self, max_tries, retries):
            self.max_tries, self.task = max_tries, type("T", (), {"retries": retries})()

    # Airflow keeps max_tries between tries whatever the DAG file says now ...
    assert max_tries_of(Ti(3, 3)) == max_tries_of(Ti(3, 1)) == max_tries_of(Ti(3, 8)) == 3
    # ... and raises it on a clear (to the try number plus the retries).
    assert max_tries_of(Ti(5, 3)) != max_tries_of(Ti(3, 3))
    assert max_tries_of(None) == 0


def _four_groups():
    store = MemoryStore()
    ledger = Ledger(store, max_tries=1)
    ledger.begin(started=1.0, digest="d", earlier=ledger.load())
    groups = [[f"+{g}{i}" for i in range(3)] for g in range(1, 5)]
    for group in groups:
        ledger.before_send(group)
        ledger.settle(sent(group), [])
    return store, groups


def test_a_group_gone_from_the_store_is_reported_lost_never_as_unsent():
    for index in (1, 3):
        store, groups = _four_groups()
        del store.values[f"bird-ledger:m1:{index}"]
        earlier = Ledger(store, max_tries=1).load()
        assert earlier.lost_groups == [index]
        assert not set(groups[index]) & set(earlier.sent)
        assert len(earlier.sent) == 9


def test_a_meta_record_gone_is_reported_and_stays_reported():
    store, _ = _four_groups()
    del store.values["bird-ledger:m1:meta"]
    ledger = Ledger(store, max_tries=1)
    earlier = ledger.load()
    assert earlier.lost_groups == [-1] and earlier.started is None
    ledger.begin(started=2.0, digest="d", earlier=earlier)
    again = Ledger(store, max_tries=1).load()
    assert again.lost_groups == [-1] and again.started is None


def test_a_try_killed_between_a_group_and_its_count_loses_nothing():
    store, _ = _four_groups()
    ledger = Ledger(store, max_tries=1)
    ledger.load()
    meta = dict(store.values["bird-ledger:m1:meta"])
    ledger.before_send(["+9"])
    store.values["bird-ledger:m1:meta"] = meta  # the count was never updated
    earlier = Ledger(store, max_tries=1).load()
    assert earlier.lost_groups == [] and earlier.in_flight == ["+9"]
