"""What the provider's triggers share (`triggers/polling.py`)."""

import asyncio
import time
from types import SimpleNamespace

import pytest
from airflow.triggers.base import TriggerEvent
from support import HITL, WATCHERS

from airflow_provider_sms.bird.errors import BirdNotFoundError, BirdServerError
from airflow_provider_sms.triggers.message_status import MessageStatusTrigger
from airflow_provider_sms.triggers.polling import MaskedEvent, PollingTrigger, mask_event
from airflow_provider_sms.triggers.reply import ReplyTrigger

NUMBER = "+12025550170"


def test_an_sms_answers_log_line_names_the_approver_masked_and_the_reply_by_its_length():
    reply = {"message_id": "m1", "from": NUMBER, "text": "approve ok", "comment": "ok"}
    payload = {
        "chosen_options": ["Approve"],
        "responded_by_user": {"id": NUMBER, "name": "SMS +120******70"},
        "sms_reply": reply,
    }
    shown = repr(MaskedEvent(payload))
    assert NUMBER not in shown and "ok" not in shown
    assert mask_event(payload) == {
        "chosen_options": ["Approve"],
        "responded_by_user": "SMS +120******70",
        "sms_reply": {
            "message_id": "m1",
            "from": "+120******70",
            "text": "<10 characters>",
            "comment": "<2 characters>",
        },
    }
    assert payload["sms_reply"]["from"] == NUMBER  # the event itself keeps it


def test_what_is_no_message_shows_as_it_is():
    assert mask_event({"status": "timeout", "text": "2 replies"}) == {
        "status": "timeout",
        "text": "2 replies",
    }
    assert mask_event("x") == "x"


APPROVAL = pytest.param(None, id="approval", marks=pytest.mark.needs_airflow("3.1", feature=HITL))


@pytest.mark.parametrize("cls", [MessageStatusTrigger, ReplyTrigger, APPROVAL])
def test_the_polling_triggers_share_one_loop_and_one_serialize(cls):
    if cls is None:
        from airflow_provider_sms.triggers.approval import SmsApprovalTrigger as cls
    assert issubclass(cls, PollingTrigger)
    assert "run" not in vars(cls) and "serialize" not in vars(cls)
    assert cls.run is PollingTrigger.run and cls.serialize is PollingTrigger.serialize


@WATCHERS
def test_the_watcher_shares_serialize():
    from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

    assert "serialize" not in vars(InboundMessageTrigger)
    assert InboundMessageTrigger.serialize is PollingTrigger.serialize


class Scripted(PollingTrigger):
    """A poll that finds each of `steps` in turn (an error is raised); it ends on "done" or
    at its end time."""

    fields = ("steps", "end_time")
    polling = "read the script"

    def __init__(self, steps, end_time=None):
        super().__init__()
        self.steps, self.end_time = list(steps), end_time
        self.bird_conn_id, self.poll_interval = "bird_default", 0.01
        self.concluded = []

    def poll(self, hook, cancel):
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    async def conclude(self, found, error, ended):
        self.concluded.append((found, error is not None, ended))
        if found == "done" or ended:
            return TriggerEvent({"found": found, "ended": ended})
        return None


@pytest.fixture(autouse=True)
def no_connection(monkeypatch):
    async def aconnect(conn_id):
        return SimpleNamespace(close=lambda: None)

    monkeypatch.setattr("airflow_provider_sms.hooks.bird.BirdHook.aconnect", aconnect)


def events(trigger) -> list[dict]:
    async def run():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(run())


def test_transient_errors_are_counted_logged_and_outlasted(capsys):
    trigger = Scripted([BirdServerError("down"), BirdServerError("down"), None, "done"])
    assert events(trigger) == [{"found": "done", "ended": False}]
    assert trigger.concluded == [
        (None, True, False),
        (None, True, False),
        (None, False, False),
        ("done", False, False),
    ]
    logged = capsys.readouterr().out  # the triggers' log (Airflow's structlog)
    assert "Could not read the script (poll 1 in a row to fail); the wait goes on" in logged
    assert "(poll 2 in a row to fail)" in logged and "(poll 3" not in logged


def test_a_lasting_error_fails_the_trigger_unless_the_trigger_says_otherwise():
    with pytest.raises(BirdNotFoundError):
        events(Scripted([BirdNotFoundError("gone")]))

    class Patient(Scripted):
        def lasting_error(self, error):
            return None

    patient = Patient([BirdNotFoundError("gone"), "done"])
    assert events(patient) == [{"found": "done", "ended": False}]


def test_the_poll_at_the_end_time_concludes_ended():
    trigger = Scripted([None] * 100, end_time=time.time() + 0.1)
    assert events(trigger) == [{"found": None, "ended": True}]
    assert trigger.concluded[-1] == (None, False, True)


def test_an_event_from_start_or_before_a_poll_ends_the_wait_there():
    class Refused(Scripted):
        async def start(self):
            return TriggerEvent({"status": "error"})

    class Answered(Scripted):
        async def before_poll(self, hook):
            return TriggerEvent({"status": "answered"})

    assert events(Refused(["done"])) == [{"status": "error"}]
    answered = Answered(["done"])
    assert events(answered) == [{"status": "answered"}] and answered.steps == ["done"]
