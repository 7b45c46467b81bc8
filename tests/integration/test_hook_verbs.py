"""BirdHook's TaskFlow verbs against the sandbox: the operators' arguments, checks and
results; the exactly-once record of a task inside one (tests/e2e/test_taskflow_sends.py runs
them in real tasks)."""

import re
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from support import MemoryStore, receiver

from airflow_provider_sms import compat
from airflow_provider_sms.hooks.bird import BirdHook
from bird_sandbox import TEMPLATE_PROJECT_ID

US = ["+14155552671", "+14155552672"]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082"
)


def test_send_sms_returns_the_operators_entries(checked_sandbox):
    entries = BirdHook().send_sms(US, "Your parcel arrives today.", tags=["parcels"])
    assert sorted((e["recipient"], e["status"]) for e in entries) == [(n, "accepted") for n in US]
    assert [m["tags"] for m in checked_sandbox.messages] == [["parcels"], ["parcels"]]


def test_send_mms_uploads_a_local_file_once_and_send_template_renders(checked_sandbox, tmp_path):
    chart = tmp_path / "chart.png"
    chart.write_bytes(PNG)
    hook = BirdHook()
    mms = hook.send_mms(US, images=[str(chart)], title="Sales", text="Today's sales.")
    assert [e["status"] for e in mms] == ["accepted", "accepted"]
    assert len(checked_sandbox.uploads) == 1
    template = hook.send_template(
        "+31612345678", project_id=TEMPLATE_PROJECT_ID, parameters={"name": "Ana", "date": "today"}
    )
    assert [e["status"] for e in template] == ["accepted"]


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda h: h.send_sms(["+31612345678", "12"], "x"), "Invalid SMS: recipients: "),
        (lambda h: h.send_sms(US, "x", max_messages=1), "more than max_messages allows (1)"),
        (lambda h: h.send_mms(US), "Invalid MMS: "),
        (lambda h: h.send_template(US), "Invalid template message: "),
    ],
)
def test_bad_arguments_fail_before_any_request_naming_them(checked_sandbox, call, said):
    with pytest.raises(AirflowFailException, match=re.escape(said)):
        call(BirdHook())
    assert checked_sandbox.requests == []


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"wait_for_delivery": True}, "wait_for_delivery: an operator's argument"),
        ({"bird_conn_id": "other"}, "bird_conn_id: the hook's own connection is used"),
        ({"max_segmnets": 2}, "max_segmnets: not an argument of a SMS send"),
        ({"max_concurrency": 0}, "max_concurrency: must be 1 to 200, got 0"),
    ],
)
def test_arguments_no_call_takes_are_refused_naming_them(checked_sandbox, options, said):
    with pytest.raises((TypeError, ValueError), match=said):
        BirdHook().send_sms(US, "x", **options)
    assert checked_sandbox.requests == []


def test_in_a_task_each_call_keeps_its_record_and_a_retry_sends_nothing_twice(
    checked_sandbox, monkeypatch
):
    store = MemoryStore()
    ti = SimpleNamespace(
        dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=1, max_tries=1
    )
    monkeypatch.setattr(compat, "current_context", lambda: {"ti": ti, "task_state_store": store})

    def the_task() -> list[str]:
        hook = BirdHook()
        first = hook.send_sms(US, "Your order is confirmed.")
        second = hook.send_sms(US, "It ships tomorrow.")
        return [e["status"] for e in first + second]

    assert the_task() == ["accepted"] * 4
    ti.try_number = 2
    assert the_task() == ["already_sent"] * 4
    assert len(checked_sandbox.messages) == 4
    texts = {(receiver(m), m["body"]["text"]["text"]) for m in checked_sandbox.messages}
    assert len(texts) == 4
