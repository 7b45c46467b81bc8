"""The sandbox's validation (bird_sandbox/validation.py): remembered verdicts, the schedule
limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox_support import text_message

from airflow_provider_sms.bird import facts
from bird_sandbox.validation import validation_details

TO = "+31612345678"


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_remembered_verdicts_still_check_each_receiver():
    assert validation_details("create_message", text_message(to="+31600000001")) == {}
    bad = text_message()
    bad["receiver"]["contacts"][0]["identifierValue"] = 31600000002
    assert validation_details("create_message", bad) == {
        "receiver.contacts.0.identifierValue": ["must be of type string"]
    }
    assert validation_details("create_message", {"body": text_message()["body"]}) == {
        "receiver": ["is required"]
    }
    # And the part that is remembered keeps its problems, whatever the receiver.
    for to in ("+31600000003", "+31600000004"):
        assert validation_details("create_message", text_message(text="", to=to)) == {
            "body.text.text": ["must not be empty"]
        }


def test_the_schedule_limit_is_checked_on_every_message(monkeypatch):
    from bird_sandbox import validation

    ahead = datetime.now(UTC) + timedelta(days=facts.MAX_SCHEDULE_AHEAD_DAYS - 1)
    message = text_message(scheduledFor=_rfc3339(ahead))
    assert validation_details("create_message", message) == {}

    class TwoDaysEarlier(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) - timedelta(days=2)

    monkeypatch.setattr(validation, "datetime", TwoDaysEarlier)
    assert list(validation_details("create_message", message)) == ["scheduledFor"]
