"""Opt-outs, opt-ins and clicks read back from Bird's interactions, exclude_recipients on a
send, and ReplySensor's checks: bad input fails before any request, naming the field."""

import time

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_sms.operators.interactions import MessageInteractionsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sandbox import CLICKS_LINK_US, REPLIES_STOP_US, REPLIES_YES_US
from airflow_provider_sms.sensors.reply import ReplySensor

CUSTOMER = "+12025550160"


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_summary_lists_the_opt_out_and_the_click_and_the_next_send_leaves_it_out(
    checked_sandbox,
):
    checked_sandbox.reply_delay = 0.2
    campaign = SendSmsOperator(
        task_id="campaign",
        recipients=[REPLIES_STOP_US, CLICKS_LINK_US, CUSTOMER],
        text="Winter sale: https://shop.example/sale Reply STOP to opt out.",
    ).execute({})
    time.sleep(0.5)
    report = MessageInteractionsOperator(task_id="report", messages=campaign).execute({})
    assert report["opted_out"] == [REPLIES_STOP_US] and report["opted_in"] == []
    assert report["counts"] == {"unsubscribe-request": 1, "clicked": 1}
    [click] = report["clicks"]
    assert click["recipient"] == CLICKS_LINK_US and click["url"] == "https://shop.example/sale"
    assert report["messages"] == 3 and report["not_found"] == 0 and report["clicked"] == 1

    before = len(checked_sandbox.requests)
    reminder = SendSmsOperator(
        task_id="reminder",
        recipients=[REPLIES_STOP_US, CLICKS_LINK_US, CUSTOMER],
        exclude_recipients=report,
        text="Last day of the winter sale!",
    ).execute({})
    suppressed = [e for e in reminder if e["status"] == "suppressed"]
    assert suppressed == [
        {"recipient": REPLIES_STOP_US, "message_id": None, "status": "suppressed"}
    ]
    posts = [r for r in checked_sandbox.requests[before:] if r.method == "POST"]
    assert sorted(r.json["receiver"]["contacts"][0]["identifierValue"] for r in posts) == sorted(
        [CLICKS_LINK_US, CUSTOMER]
    )


def test_an_opt_in_after_an_opt_out_takes_the_number_off_the_list(checked_sandbox):
    [sent] = SendSmsOperator(task_id="send", recipients=[CUSTOMER], text="Hi").execute({})
    checked_sandbox.receive(CUSTOMER, "STOP")
    time.sleep(0.01)
    checked_sandbox.receive(CUSTOMER, "start")
    report = MessageInteractionsOperator(task_id="report", messages=[sent]).execute({})
    assert report["opted_out"] == [] and report["opted_in"] == [CUSTOMER]
    assert report["counts"] == {"unsubscribe-request": 1, "subscribe-consent": 1}


def test_a_send_whose_recipients_are_all_excluded_sends_nothing_and_succeeds(checked_sandbox):
    result = SendSmsOperator(
        task_id="send",
        recipients=[CUSTOMER],
        exclude_recipients=[CUSTOMER],
        text="Hi",
        wait_for_delivery=True,
    ).execute({})
    assert result == [{"recipient": CUSTOMER, "message_id": None, "status": "suppressed"}]
    assert checked_sandbox.requests == []


def test_a_large_send_counts_its_suppressed_in_the_summary(checked_sandbox):
    recipients = [f"+3162{n:07d}" for n in range(30)]
    result = SendSmsOperator(
        task_id="send",
        recipients=recipients,
        exclude_recipients=recipients[:5],
        text="Hi",
        xcom_entries_limit=10,
    ).execute({})
    assert result["total"] == 25 and result["suppressed"] == 5 and result["accepted"] == 25
    assert len(checked_sandbox.messages) == 25


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"from_numbers": ["+12025550160", "not a number"]}, "from_numbers"),
        ({"from_numbers": [CUSTOMER], "pattern": "(yes"}, "pattern"),
        ({"from_numbers": [CUSTOMER], "channel_id": "support-line"}, "channel_id"),
        ({"from_numbers": [CUSTOMER], "after": "yesterday"}, "after"),
        ({"from_numbers": []}, "from_numbers"),
    ],
)
def test_a_reply_sensor_with_bad_input_fails_before_any_request(checked_sandbox, arguments, field):
    sensor = ReplySensor(task_id="wait", **arguments)
    with pytest.raises(AirflowFailException, match=f"ReplySensor: {field}"):
        sensor.execute({})
    assert checked_sandbox.requests == []


@pytest.mark.parametrize(
    ("operator", "field"),
    [
        (lambda: MessageInteractionsOperator(task_id="r", messages=["not-a-uuid"]), "messages"),
        (lambda: MessageInteractionsOperator(task_id="r", messages={"total": 5000}), "messages"),
        (
            lambda: SendSmsOperator(
                task_id="s", recipients=[CUSTOMER], exclude_recipients=["12"], text="x"
            ),
            "exclude_recipients",
        ),
    ],
)
def test_bad_input_elsewhere_names_its_field_before_any_request(checked_sandbox, operator, field):
    with pytest.raises(Exception, match=field):
        operator().execute({})
    assert checked_sandbox.requests == []


def test_a_poking_reply_sensor_finds_the_magic_yes(checked_sandbox):
    checked_sandbox.reply_delay = 0.2
    started = time.time()
    [sent] = SendSmsOperator(task_id="ask", recipients=[REPLIES_YES_US], text="OK?").execute({})
    sensor = ReplySensor(
        task_id="wait", from_numbers=[sent], after=started, pattern="^yes", deferrable=False
    )
    wait_for(lambda: isinstance(sensor.poke({}), PokeReturnValue))
    done = sensor.poke({})
    assert done.xcom_value["from"] == REPLIES_YES_US and done.xcom_value["text"] == "YES"
