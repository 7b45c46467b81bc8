"""The retry ledger's storage: few writes, small values."""

from support import MemoryStore

from airflow_provider_sms.model import Outgoing, text_body
from airflow_provider_sms.operators._ledger import SentLedger
from airflow_provider_sms.sandbox import MMS_CHANNEL_ID


def test_ledger_groups_many_recipients_into_few_writes():
    store = MemoryStore()
    ledger = SentLedger(store, Outgoing("SMS", (), MMS_CHANNEL_ID, {"body": text_body("a")}))
    ledger.load()
    ledger.record([{"recipient": f"+1{i}", "message_id": str(i)} for i in range(500)])
    ledger.record([{"recipient": "+2", "message_id": "x", "batch_id": "b"}])
    assert len(store.values) == 2
    again = SentLedger(store, Outgoing("SMS", (), MMS_CHANNEL_ID, {"body": text_body("a")})).load()
    assert len(again) == 501 and again["+2"] == ["x", "b"]


def test_ledger_keeps_values_small():
    store = MemoryStore()
    ledger = SentLedger(store, Outgoing("SMS", (), MMS_CHANNEL_ID, {"body": text_body("a")}))
    ledger.record([{"recipient": f"+1{i}", "message_id": str(i)} for i in range(2500)])
    assert len(store.values) == 3
    assert (
        len(SentLedger(store, Outgoing("SMS", (), MMS_CHANNEL_ID, {"body": text_body("a")})).load())
        == 2500
    )
