"""send_at and local_window against the sandbox: the stored scheduledFor, the XCom's due
times, and refusals before any request."""

from datetime import UTC, datetime, timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_sms.message.schedule import rfc3339
from airflow_provider_sms.operators.sms import SendSmsOperator

NL, LA, TOKYO = "+31612345678", "+14155550123", "+819012345678"


def _stamp(moment: datetime) -> str:
    return rfc3339(moment.replace(microsecond=0))


def test_send_at_is_stored_as_scheduled_for(checked_sandbox):
    due = _stamp(datetime.now(UTC) + timedelta(hours=2))
    result = SendSmsOperator(
        task_id="t", recipients=[NL, LA], text="Tomorrow at 10:00", send_at=due
    ).execute(context={})
    assert [entry["due"] for entry in result] == [due, due]
    stored = checked_sandbox.messages
    assert [m["scheduledFor"] for m in stored] == [due, due]
    assert {m["status"] for m in stored} == {"scheduled"}


def test_local_window_schedules_each_recipient_in_its_zone(checked_sandbox):
    result = SendSmsOperator(
        task_id="t",
        recipients=[NL, LA, TOKYO],
        text="Your appointment is tomorrow",
        local_window=("09:00", "09:30"),
        send_at=_stamp(datetime.now(UTC) + timedelta(hours=1)),
    ).execute(context={})
    stored = {m["receiver"]["contacts"][0]["identifierValue"]: m for m in checked_sandbox.messages}
    for entry in result:
        assert stored[entry["recipient"]]["scheduledFor"] == entry["due"]
        assert stored[entry["recipient"]]["status"] == "scheduled"


def test_summary_counts_by_due_hour_in_batch_mode(checked_sandbox):
    due = _stamp(datetime.now(UTC) + timedelta(hours=3))
    result = SendSmsOperator(
        task_id="t",
        recipients=[f"+3161234{i:04d}" for i in range(5)],
        text="Hi",
        send_at=due,
        use_batch_api=True,
        xcom_entries_limit=2,
    ).execute(context={})
    assert result["due_by_hour"] == {due[:13] + "Z": 5}


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"send_at": "2020-01-01T00:00:00Z"}, "send_at"),
        ({"send_at": datetime(2030, 1, 1)}, "send_at"),
        ({"local_window": ("09:00", "09:00")}, "local_window"),
        ({"local_window": "09:00"}, "local_window"),
    ],
)
def test_bad_schedules_fail_before_any_request(checked_sandbox, arguments, field):
    with pytest.raises(AirflowFailException, match=f"Invalid SMS: {field}: "):
        SendSmsOperator(task_id="t", recipients=[NL], text="Hi", **arguments).execute(context={})
    assert not [r for r in checked_sandbox.requests if r.method == "POST"]
