"""Opt-outs, opt-ins and clicks read back from Bird's interactions, exclude_recipients on a
send, and ReplySensor's checks: bad input fails before any request, naming the field."""

import json
import time
import uuid

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, PokeReturnValue

from airflow_provider_sms.operators.interactions import MessageInteractionsOperator
from airflow_provider_sms.operators.sms import SendSmsOperator
from airflow_provider_sms.sensors.reply import ReplySensor
from bird_sandbox import (
    CLICKS_LINK_US,
    MMS_CHANNEL_ID,
    REPLIES_STOP_US,
    REPLIES_YES_US,
    SMS_CHANNEL_ID,
)

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
    sensor = ReplySensor(task_id="wait", deferrable=True, **arguments)
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


# What a report must not take for "nobody opted out" (H5), and how opt-outs rank (M1).


def sent_on_the_one_way_channel(sandbox, recipients):
    """A campaign on the SMS channel, not the connection's default; its entries once
    REPLIES_STOP_US has opted out (as from a link: the channel is one-way)."""
    sandbox.reply_delay = 0.1
    campaign = SendSmsOperator(
        task_id="campaign", recipients=recipients, channel_id=SMS_CHANNEL_ID, text="Sale! STOP?"
    ).execute({})
    wait_for(lambda: sandbox.interactions)
    return campaign


@pytest.mark.parametrize(
    ("other_channel", "reason"),
    [
        ("not_found", "1 not found there"),
        ("empty", f"1 sent on channel {SMS_CHANNEL_ID}"),
        ("listed", f"1 sent on channel {SMS_CHANNEL_ID}"),
    ],
)
def test_a_report_read_on_another_channel_fails_naming_why(checked_sandbox, other_channel, reason):
    """Whatever Bird answers for a message read under a channel not its own (API-NOTES
    section 5 does not say), the report fails rather than list nobody as opted out."""
    checked_sandbox.listing = {"other_channel": other_channel}
    campaign = sent_on_the_one_way_channel(checked_sandbox, [REPLIES_STOP_US])
    report = MessageInteractionsOperator(task_id="report", messages=campaign)  # default channel
    with pytest.raises(AirflowFailException) as caught:
        report.execute({})
    text = str(caught.value)
    assert f"1 of 1 message(s) cannot be read on channel {MMS_CHANNEL_ID}: {reason}" in text
    assert campaign[0]["message_id"] in text and "channel_id" in text


def test_the_same_report_on_the_channel_the_messages_were_sent_on_lists_the_opt_out(
    checked_sandbox,
):
    checked_sandbox.listing = {"other_channel": "empty"}
    campaign = sent_on_the_one_way_channel(checked_sandbox, [REPLIES_STOP_US, CUSTOMER])
    report = MessageInteractionsOperator(
        task_id="report", messages=campaign, channel_id=SMS_CHANNEL_ID
    ).execute({})
    assert report["opted_out"] == [REPLIES_STOP_US] and report["not_found"] == 0


def test_a_report_on_messages_bird_no_longer_keeps_fails(checked_sandbox):
    campaign = SendSmsOperator(task_id="send", recipients=[CUSTOMER], text="Hi").execute({})
    checked_sandbox.reset()  # Bird keeps messages for a while only
    with pytest.raises(AirflowFailException, match="1 of 1 message.* 1 not found there"):
        MessageInteractionsOperator(task_id="report", messages=campaign).execute({})


def test_a_send_refuses_a_summary_that_could_not_read_its_messages(checked_sandbox):
    """A summary from before reports failed on unread messages (or written by hand)."""
    summary = {"messages": 2, "not_found": 2, "counts": {}, "opted_out": [], "opted_in": []}
    reminder = SendSmsOperator(
        task_id="reminder", recipients=[CUSTOMER], exclude_recipients=summary, text="Hi"
    )
    with pytest.raises(Exception, match="exclude_recipients: .*could not read 2 of its messages"):
        reminder.execute({})
    assert checked_sandbox.requests == []


def opt(kind, at, number=CUSTOMER, *, message=None):
    """An interaction as Bird lists it; `at` None leaves createdAt out, `number` None the
    receiver; `message` (its id and channel) confirms where it was read."""
    interaction = {"id": str(uuid.uuid4()), "type": kind, "platformId": "sms-messagebird"}
    if at is not None:
        interaction["createdAt"] = at
    if number is not None:
        contact = {"identifierKey": "phonenumber", "identifierValue": number}
        interaction["receiver"] = {"contacts": [contact]}
    if message is not None:
        interaction.update(messageId=message, channelId=MMS_CHANNEL_ID)
    return interaction


def report_on(sandbox, interactions, *, messages=None, message_answer=None):
    """The report of one message sent to CUSTOMER whose interactions Bird answers as
    `interactions` (and, when given, the message itself as `message_answer`)."""
    [sent] = SendSmsOperator(task_id="send", recipients=[CUSTOMER], text="Hi").execute({})
    message_id = sent["message_id"]
    listed = [{**i, "messageId": message_id} if "messageId" in i else i for i in interactions]
    path = f"/messages/{message_id}"
    sandbox.inject("body", path=f"{path}/interactions", body=json.dumps({"results": listed}))
    if message_answer is not None:
        body = json.dumps({**message_answer, "id": message_id, "channelId": MMS_CHANNEL_ID})
        sandbox.inject("body", path=path, method="GET", body=body)
    return MessageInteractionsOperator(
        task_id="report", messages=[sent] if messages is None else messages(message_id)
    ).execute({})


OPT_OUT, OPT_IN = "unsubscribe-request", "subscribe-consent"


@pytest.mark.parametrize(
    "interactions",
    [
        # A STOP with no readable time, then a dated START.
        [opt(OPT_OUT, None, message="m"), opt(OPT_IN, "2026-12-02T10:00:01Z", message="m")],
        [opt(OPT_OUT, "yesterday", message="m"), opt(OPT_IN, "2026-12-02T10:00:01Z", message="m")],
        # RFC 3339's lowercase z, a STOP after the START.
        [opt(OPT_OUT, "2026-12-02t10:00:05z", message="m"), opt(OPT_IN, "2026-12-02T10:00:01Z")],
        # A STOP and a START at one instant, in either order.
        [opt(OPT_OUT, "2026-12-02T10:00:01Z", message="m"), opt(OPT_IN, "2026-12-02T10:00:01Z")],
        [opt(OPT_IN, "2026-12-02T10:00:01Z", message="m"), opt(OPT_OUT, "2026-12-02T10:00:01Z")],
        # An undated START never outranks a STOP.
        [opt(OPT_OUT, "2026-12-02T10:00:01Z", message="m"), opt(OPT_IN, None)],
    ],
    ids=["no-date", "bad-date", "lowercase-z", "tie", "tie-reversed", "undated-start"],
)
def test_an_opt_out_that_cannot_be_dated_or_ties_is_never_outranked(checked_sandbox, interactions):
    report = report_on(checked_sandbox, interactions)
    assert report["opted_out"] == [CUSTOMER] and report["opted_in"] == []


def test_a_stop_naming_no_number_opts_out_the_messages_receiver(checked_sandbox):
    """Message ids alone name no recipient: the message itself does."""
    report = report_on(
        checked_sandbox,
        [opt(OPT_OUT, "2026-12-02T10:00:01Z", None, message="m")],
        messages=lambda message_id: [message_id],
    )
    assert report["opted_out"] == [CUSTOMER]


@pytest.mark.parametrize("receiver", ["+12025550160", ["+12025550160"], {"contacts": "x"}])
def test_a_receiver_that_is_not_an_object_is_read_as_naming_no_one(checked_sandbox, receiver):
    stop = {**opt(OPT_OUT, "2026-12-02T10:00:01Z", None, message="m"), "receiver": receiver}
    report = report_on(checked_sandbox, [stop])  # the send's entry names the recipient
    assert report["opted_out"] == [CUSTOMER]
    report = report_on(checked_sandbox, [stop], messages=lambda message_id: [message_id])
    assert report["opted_out"] == [CUSTOMER]


def test_a_stop_that_names_no_number_anywhere_fails_the_report(checked_sandbox):
    with pytest.raises(AirflowFailException, match="1 holding an opt-out or opt-in that names"):
        report_on(
            checked_sandbox,
            [opt(OPT_OUT, "2026-12-02T10:00:01Z", None, message="m")],
            messages=lambda message_id: [message_id],
            message_answer={"receiver": {}, "status": "delivered"},
        )


def test_an_opt_out_counts_for_every_number_it_names(checked_sandbox):
    """The send's entry names the recipient; the interaction, another number."""
    other = "+12025550161"
    report = report_on(checked_sandbox, [opt(OPT_OUT, "2026-12-02T10:00:01Z", other, message="m")])
    assert report["opted_out"] == [CUSTOMER, other]
