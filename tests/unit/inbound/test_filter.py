"""What a watcher or a sensor wants, the cursor behind a channel's inbound messages, and the
checks that fail before any request (unit tests open no socket)."""

import pytest
from support import WATCHERS

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.bird.incoming import OVERLAP, Cursor, Resume
from airflow_provider_sms.bird.objects import inbound_message
from airflow_provider_sms.inbound.filter import InboundFilter
from airflow_provider_sms.message.recipients import excluded_numbers
from airflow_provider_sms.triggers.polling import MaskedEvent

CHANNEL = "6b52e9cb-2ddf-45b5-8aea-62882e999fb7"


def message(
    number="+12025550199", text="YES", direction="incoming", created="2026-12-02T10:00:00Z"
):
    return {
        "id": "96a0d1b2-0000-4000-8000-000000000001",
        "channelId": CHANNEL,
        "direction": direction,
        "sender": {"contact": {"identifierKey": "phonenumber", "identifierValue": number}},
        "body": {"type": "text", "text": {"text": text}},
        "createdAt": created,
    }


def test_an_inbound_message_is_carried_as_id_sender_text_and_time():
    assert inbound_message(message()) == {
        "message_id": "96a0d1b2-0000-4000-8000-000000000001",
        "from": "+12025550199",
        "text": "YES",
        "received_at": "2026-12-02T10:00:00Z",
        "channel_id": CHANNEL,
    }
    assert inbound_message(message(direction="outgoing")) is None
    odd = message()
    odd["body"] = {"type": "image", "image": {}}
    assert inbound_message(odd)["text"] == ""


def test_a_filter_takes_numbers_as_recipients_are_written_and_a_case_blind_pattern():
    wanted = InboundFilter.build(from_numbers="+1 202 555 0199, +31612345678", pattern=r"^\s*yes\b")
    assert wanted.from_numbers == {"+12025550199", "+31612345678"}
    assert wanted.matches(inbound_message(message(text=" Yes please")))
    assert not wanted.matches(inbound_message(message(text="no")))
    assert not wanted.matches(inbound_message(message(number="+12025550100")))
    anyone = InboundFilter.build()
    assert anyone.matches(inbound_message(message(number="+447700900123", text="")))


@pytest.mark.parametrize(
    ("arguments", "field", "says"),
    [
        ({"from_numbers": ["+12025550199", "not a number"]}, "from_numbers", "invalid phone"),
        ({"pattern": "(unclosed"}, "pattern", "not a valid regular expression"),
        ({"pattern": 42}, "pattern", "regular expression string"),
        ({"pattern": "a" * 1001}, "pattern", "at most 1000"),
    ],
)
def test_bad_filter_arguments_name_the_field(arguments, field, says):
    with pytest.raises(InvalidMessageError) as caught:
        InboundFilter.build(**arguments)
    assert caught.value.field == field and says in str(caught.value)
    assert "not a number" not in str(caught.value) or "'n**" in str(caught.value)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"channel_id": "my-channel"}, "channel_id"),
        ({"from_numbers": "+1202555019"}, "from_numbers"),
        ({"pattern": "[a-"}, "pattern"),
    ],
)
@WATCHERS
def test_a_watcher_with_bad_arguments_fails_when_the_dag_is_built(arguments, field):
    from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

    with pytest.raises(InvalidMessageError) as caught:
        InboundMessageTrigger(**arguments)
    assert caught.value.field == field


@WATCHERS
def test_a_watcher_polls_within_birds_get_limit_and_spaces_its_events():
    from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

    with pytest.raises(ValueError, match="poll_interval: at least 1"):
        InboundMessageTrigger(channel_id=CHANNEL, poll_interval=0.1)
    with pytest.raises(ValueError, match="event_spacing: at least 0"):
        InboundMessageTrigger(channel_id=CHANNEL, event_spacing=-1)


@WATCHERS
def test_a_watcher_serializes_what_it_was_given_in_e164():
    from airflow_provider_sms.triggers.inbound import InboundMessageTrigger

    trigger = InboundMessageTrigger(
        channel_id=CHANNEL, from_numbers=["(202) 555-0199"], default_region="US", pattern="stop"
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_sms.triggers.inbound.InboundMessageTrigger"
    assert kwargs["from_numbers"] == ["+12025550199"] and kwargs["pattern"] == "stop"
    again = InboundMessageTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)


def test_the_triggerers_log_line_of_an_event_masks_the_number_and_hides_the_text():
    event = MaskedEvent(inbound_message(message(text="my secret code 1234")))
    shown = repr(event)
    assert "+12025550199" not in shown and "+120******99" in shown
    assert "secret" not in shown and "<19 characters>" in shown
    assert event.payload["from"] == "+12025550199"  # the event itself keeps it
    reply = MaskedEvent({"status": "success", "reply": inbound_message(message())})
    assert "+12025550199" not in repr(reply)


def test_a_cursor_moves_past_messages_and_forgets_ids_older_than_the_overlap():
    cursor = Cursor().passed([("a", 100.0), ("b", 90.0)])
    assert cursor.after == 100.0 and set(cursor.seen) == {"a", "b"}
    assert cursor.behind("a", 100.0) and not cursor.behind("c", 95.0)
    assert cursor.behind("old", 100.0 - OVERLAP - 1)
    later = cursor.passed([("c", 100.0 + OVERLAP + 5)])
    assert set(later.seen) == {"c"}
    assert Cursor.from_json(later.to_json()) == later


@pytest.mark.parametrize(
    "stored", [None, "x", [], {"after": "soon", "seen": {}}, {"after": 1.0, "seen": {"a": "b"}}]
)
def test_a_stored_value_that_is_no_cursor_is_not_trusted(stored):
    assert Cursor.from_json(stored) is None


def test_a_cursor_with_its_window_settled_and_a_window_read_part_way_is_stored_and_read_back():
    message = {"id": "m", "direction": "incoming", "createdAt": "2026-12-06T10:00:00Z"}
    resume = Resume("token", 50.0, 120.0, 300, {"m": [110.0, 7, message]})
    cursor = Cursor(100.0, {"a": 95.0}, settled=90.0, mark=(100.0, 40.0), resume=resume)
    assert Cursor.from_json(cursor.to_json()) == cursor
    # What an earlier version stored is still read; a broken window part-way is not trusted.
    assert Cursor.from_json({"after": 100.0, "seen": {}}) == Cursor(100.0)
    assert Cursor.from_json({**cursor.to_json(), "resume": {"token": 1}}) is None
    assert cursor.floor == 90.0  # settled, later than after - OVERLAP
    assert Cursor(100.0, settled=10.0).floor == 100.0 - OVERLAP


def test_passing_a_scans_own_cursor_moves_past_everything_it_read():
    scan_end = Cursor(500.0, {"b": 480.0}, settled=300.0, mark=(500.0, 1.0))
    moved = Cursor(100.0).passed([("b", 480.0), scan_end])
    assert (moved.after, moved.settled, moved.mark) == (500.0, 300.0, (500.0, 1.0))
    assert moved.behind("b", 480.0) and moved.behind("sent", 400.0)
    # A prefix (an answer found before the end) moves past that message only.
    assert Cursor(100.0).passed([("b", 480.0)]).after == 480.0


def test_a_time_as_since_leaves_everything_earlier_behind():
    cursor = Cursor.since(1000.0)
    assert cursor.behind("x", 999.9) and not cursor.behind("x", 1000.0)


def test_exclusions_take_numbers_or_an_interactions_summary():
    assert excluded_numbers(None) == frozenset()
    assert excluded_numbers([]) == frozenset()
    assert excluded_numbers({"opted_out": ["+12025550111"], "counts": {}}) == {"+12025550111"}
    assert excluded_numbers("+1 (202) 555-0111") == {"+12025550111"}
    with pytest.raises(InvalidMessageError) as caught:
        excluded_numbers({"counts": {}})
    assert caught.value.field == "exclude_recipients"
    with pytest.raises(InvalidMessageError) as caught:
        excluded_numbers(["+12025550111", "12"])
    assert caught.value.field == "exclude_recipients"


@pytest.mark.parametrize("unseen", [1, True, None, "2"])
def test_exclusions_refuse_a_summary_that_could_not_read_some_messages(unseen):
    summary = {"opted_out": ["+12025550111"], "not_found": 0}
    assert excluded_numbers(summary) == {"+12025550111"}
    with pytest.raises(InvalidMessageError) as caught:
        excluded_numbers({**summary, "not_found": unseen})
    assert caught.value.field == "exclude_recipients" and "not_found" in caught.value.problem


def test_rfc3339_times_are_read_in_either_case():
    from airflow_provider_sms.bird.listing import timestamp

    assert timestamp("2026-12-02t10:00:05.5z") == timestamp("2026-12-02T10:00:05.5Z") is not None
    assert timestamp("2026-12-02T10:00:05+01:00") == timestamp("2026-12-02T09:00:05Z")


@pytest.mark.parametrize(
    "receiver", ["+12025550111", ["+12025550111"], {"contacts": "x"}, {"contacts": ["x"]}, None]
)
def test_a_receiver_of_another_shape_names_no_one(receiver):
    from airflow_provider_sms.bird.objects import recipient_of

    assert recipient_of({"receiver": receiver}) is None
    contact = {"identifierValue": "+12025550111"}
    assert recipient_of({"receiver": {"contacts": [contact]}}) == "+12025550111"
