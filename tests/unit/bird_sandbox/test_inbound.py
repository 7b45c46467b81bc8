"""The return path in the backend with a clock that moves when told (bird_sandbox/inbound.py):
inbound messages, keywords, interactions, the answering recipients."""

from __future__ import annotations

import re
import uuid

import pytest
from sandbox_support import stamp, text_message

from airflow_provider_sms.message.recipients import normalize_recipients
from bird_sandbox import (
    ANSWERING_RECIPIENTS,
    CLICKS_LINK_US,
    MMS_CHANNEL_ID,
    MMS_CHANNEL_NUMBER,
    QUIET_HOURS_CHANNEL_ID,
    REPLIES_STOP_US,
    REPLIES_YES_US,
    SHORT_LINK_DOMAIN,
    SMS_CHANNEL_ID,
    WORKSPACE_ID,
    BirdSandbox,
    SandboxBackend,
)
from bird_sandbox.backend import ApiError
from bird_sandbox.catalogue import CHANNELS

PERSON = "+12025550199"
CONNECTOR = CHANNELS[MMS_CHANNEL_ID]["connectorId"]


def send(backend, to=PERSON, text="Hello", channel_id=MMS_CHANNEL_ID, **extra) -> dict:
    return backend.create_message(WORKSPACE_ID, channel_id, text_message(text, to, **extra))


def listed(backend, channel_id=MMS_CHANNEL_ID, limit=100, page_token=None) -> dict:
    return backend.list_messages(WORKSPACE_ID, channel_id, limit=limit, page_token=page_token)


def interactions_of(backend, message_id, channel_id=MMS_CHANNEL_ID) -> list[dict]:
    return backend.list_message_interactions(WORKSPACE_ID, channel_id, message_id)["results"]


def every_page(backend, limit=2) -> list[dict]:
    field = backend.listing["page_token_field"]
    seen, token = [], None
    while True:
        page = listed(backend, limit=limit, page_token=token)
        seen += page["results"]
        token = page.get(field)
        if not token:
            return seen


def test_an_inbound_message_has_birds_shape(backend, clock):
    message = backend.receive(PERSON, "Hi there")
    moment = stamp(clock.now)
    uuid.UUID(message["id"])
    uuid.UUID(message["parts"][0]["platformReference"])
    sender = message["sender"]["contact"]
    assert message == {
        "id": message["id"],
        "channelId": MMS_CHANNEL_ID,
        "sender": {
            "contact": {
                "id": sender["id"],
                "identifierKey": "phonenumber",
                "identifierValue": PERSON,
            }
        },
        "receiver": {"connector": {"id": CONNECTOR, "identifierValue": MMS_CHANNEL_NUMBER}},
        "body": {"type": "text", "text": {"text": "Hi there"}},
        "parts": [{"platformReference": message["parts"][0]["platformReference"]}],
        "status": "delivered",
        "direction": "incoming",
        "lastStatusAt": moment,
        "createdAt": moment,
        "updatedAt": moment,
    }
    # The contact is the one messages to the number go to.
    again = backend.receive(PERSON, "Again")
    assert again["sender"]["contact"]["id"] == sender["id"]
    sent = send(backend)
    assert sent["direction"] == "outgoing"
    assert sent["receiver"]["contacts"][0]["id"] == sender["id"]
    assert backend.get_message(WORKSPACE_ID, MMS_CHANNEL_ID, message["id"]) == message
    assert backend.receive("+31612345678", "x")["sender"]["contact"]["id"] != sender["id"]


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_inbound_messages_are_listed_among_the_channels_messages(backend, clock, order):
    backend.listing = {"order": order}
    expected = []
    for index in range(3):
        expected.append(send(backend, text=f"out {index}")["id"])
        clock.now += 0.5
        expected.append(backend.receive(PERSON, f"in {index}")["id"])
        clock.now += 0.5
    shown = every_page(backend)
    if order == "newest_first":
        expected.reverse()
    assert [m["id"] for m in shown] == expected
    assert [m["direction"] for m in shown[:2]] == (
        ["incoming", "outgoing"] if order == "newest_first" else ["outgoing", "incoming"]
    )
    # Another channel lists none of them.
    assert listed(backend, SMS_CHANNEL_ID)["results"] == []


def test_a_one_way_channel_cannot_receive_and_bad_input_is_refused(backend):
    for channel in (SMS_CHANNEL_ID, QUIET_HOURS_CHANNEL_ID):
        with pytest.raises(ValueError, match="one-way"):
            backend.receive(PERSON, "Hi", channel_id=channel)
    with pytest.raises(ValueError, match="unknown channel"):
        backend.receive(PERSON, "Hi", channel_id="nope")
    for number in ("12025550199", "+1202", "+1202555019912345", "+1 202 555 0199", 12025550199):
        with pytest.raises(ValueError, match="E.164"):
            backend.receive(number, "Hi")
    for text in ("", None, 7):
        with pytest.raises(ValueError, match="text"):
            backend.receive(PERSON, text)
    assert backend.messages() == []


@pytest.mark.parametrize(
    ("text", "kind", "keyword"),
    [
        ("STOP", "unsubscribe-request", "STOP"),
        ("  stop \n", "unsubscribe-request", "STOP"),
        ("StopAll", "unsubscribe-request", "STOPALL"),
        ("unsubscribe", "unsubscribe-request", "UNSUBSCRIBE"),
        ("Cancel", "unsubscribe-request", "CANCEL"),
        ("end", "unsubscribe-request", "END"),
        ("QUIT", "unsubscribe-request", "QUIT"),
        ("start", "subscribe-consent", "START"),
        ("Unstop", "subscribe-consent", "UNSTOP"),
    ],
)
def test_keywords_record_an_interaction_on_the_last_message_to_the_number(
    backend, clock, text, kind, keyword
):
    older = send(backend, reference="older")
    clock.now += 1
    latest = send(backend, reference="latest", tags=["Reminders"])
    send(backend, to="+12025550198")  # to someone else
    clock.now += 1
    backend.receive(PERSON, text)
    assert interactions_of(backend, older["id"]) == []
    [interaction] = interactions_of(backend, latest["id"])
    uuid.UUID(interaction["id"])
    assert interaction == {
        "id": interaction["id"],
        "messageId": latest["id"],
        "channelId": MMS_CHANNEL_ID,
        "platformId": "sms-messagebird",
        "type": kind,
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": PERSON}]},
        "details": {"keyword": keyword},
        "metadata": {},
        "createdAt": stamp(clock.now),
        "messageReference": "latest",
        "messagePartsCount": 1,
        "messageTags": ["reminders"],
        "isFirstInteraction": True,
    }


@pytest.mark.parametrize("text", ["YES", "stop please", "Hello", "STOP STOP", "S T O P"])
def test_other_texts_are_not_keywords(backend, text):
    sent = send(backend)
    backend.receive(PERSON, text)
    assert interactions_of(backend, sent["id"]) == [] and backend.interactions() == []


def test_a_keyword_with_nothing_sent_to_the_number_records_nothing(backend):
    send(backend, to="+12025550198")
    send(backend, channel_id=SMS_CHANNEL_ID)  # to the number, but on another channel
    backend.receive(PERSON, "STOP")
    assert backend.interactions() == [] and len(backend.messages()) == 3


def test_interactions_are_listed_newest_first_and_flag_the_first_of_each_type(backend, clock):
    long_text = "x" * 200 + " https://example.com/a"
    sent = send(backend, text=long_text)
    assert "messageReference" not in backend.interact(sent["id"], "clicked")
    clock.now += 1
    backend.interact(sent["id"], "clicked", url="https://example.com/b")
    clock.now += 1
    backend.receive(PERSON, "STOP")
    clock.now += 1
    backend.receive(PERSON, "START")
    shown = interactions_of(backend, sent["id"])
    assert [(i["type"], i["isFirstInteraction"]) for i in shown] == [
        ("subscribe-consent", True),
        ("unsubscribe-request", True),
        ("clicked", False),
        ("clicked", True),
    ]
    assert [i["details"] for i in shown] == [
        {"keyword": "START"},
        {"keyword": "STOP"},
        {"url": "https://example.com/b"},
        {"url": "https://example.com/a"},
    ]
    assert {i["messagePartsCount"] for i in shown} == {2}
    assert [i["createdAt"] for i in shown] == sorted((i["createdAt"] for i in shown), reverse=True)
    assert backend.interactions() == shown[::-1]


def test_interact_checks_its_type_message_and_recipient(backend):
    sent = send(backend, text="No link here")
    clicked = backend.interact(sent["id"], "clicked")
    assert re.fullmatch(rf"https://{SHORT_LINK_DOMAIN}/[\w-]{{8}}", clicked["details"]["url"])
    assert backend.interact(sent["id"], "unsubscribe-request")["details"] == {"keyword": "STOP"}
    assert backend.interact(sent["id"], "subscribe-consent")["details"] == {"keyword": "START"}
    via_link = backend.interact(sent["id"], "unsubscribe-request", url="https://x.example/o")
    assert via_link["details"] == {"url": "https://x.example/o"}
    with pytest.raises(ValueError, match="unknown interaction type"):
        backend.interact(sent["id"], "opened")
    with pytest.raises(ValueError, match="no sent message"):
        backend.interact(str(uuid.uuid4()), "clicked")
    inbound = backend.receive(PERSON, "Hi")
    with pytest.raises(ValueError, match="no sent message"):
        backend.interact(inbound["id"], "clicked")
    with pytest.raises(ValueError, match="not a recipient"):
        backend.interact(sent["id"], "clicked", recipient="+12025550198")


def test_the_interactions_of_an_unknown_message_are_birds_404(backend):
    sent = send(backend)
    for channel, message_id in [
        (MMS_CHANNEL_ID, str(uuid.uuid4())),
        (SMS_CHANNEL_ID, sent["id"]),  # the message is on another channel
    ]:
        with pytest.raises(ApiError) as caught:
            interactions_of(backend, message_id, channel)
        assert caught.value.status == 404
        assert caught.value.body() == {
            "code": "NotFound",
            "message": "The requested resource does not exist: message not found",
        }


@pytest.mark.parametrize("other_channel", ["empty", "listed"])
def test_another_channels_message_can_be_answered_as_bird_might(backend, other_channel):
    """Whether Bird scopes a message and its interactions by the channel in the path is not
    documented (API-NOTES section 5): the sandbox plays each answer."""
    sent = send(backend, to=PERSON)
    backend.interact(sent["id"], "unsubscribe-request")
    backend.listing = {"other_channel": other_channel}
    message = backend.get_message(WORKSPACE_ID, SMS_CHANNEL_ID, sent["id"])
    assert message["id"] == sent["id"] and message["channelId"] == MMS_CHANNEL_ID
    shown = interactions_of(backend, sent["id"], SMS_CHANNEL_ID)
    assert shown == (interactions_of(backend, sent["id"]) if other_channel == "listed" else [])
    assert [i["channelId"] for i in shown] == [MMS_CHANNEL_ID] * len(shown)
    with pytest.raises(ApiError) as caught:  # a message no channel holds is still a 404
        interactions_of(backend, str(uuid.uuid4()), SMS_CHANNEL_ID)
    assert caught.value.status == 404
    backend.reset()
    assert backend.listing["other_channel"] == "not_found"


def test_the_answering_recipients_are_valid_us_numbers_in_the_fiction_range():
    numbers = [REPLIES_STOP_US, REPLIES_YES_US, CLICKS_LINK_US]
    assert normalize_recipients(numbers) == numbers == list(ANSWERING_RECIPIENTS)
    assert numbers == ["+12025550111", "+12025550112", "+12025550113"]
    assert BirdSandbox.replies_stop_us == REPLIES_STOP_US
    assert BirdSandbox.clicks_link_us == CLICKS_LINK_US


def test_replies_stop_after_the_delay_with_the_unsubscribe_request(backend, clock):
    sent = send(backend, to=REPLIES_STOP_US, reference="r-1")
    start = clock.now
    clock.now = start + 0.999
    assert len(listed(backend)["results"]) == 1 and backend.interactions() == []
    clock.now = start + 5  # read late: the reply is stamped when it became due
    newest, _ = listed(backend)["results"]
    assert newest["direction"] == "incoming"
    assert newest["sender"]["contact"]["identifierValue"] == REPLIES_STOP_US
    assert newest["body"] == {"type": "text", "text": {"text": "STOP"}}
    assert newest["createdAt"] == stamp(start + 1)
    [interaction] = interactions_of(backend, sent["id"])
    assert interaction["type"] == "unsubscribe-request"
    assert interaction["details"] == {"keyword": "STOP"}
    assert interaction["createdAt"] == stamp(start + 1)
    assert interaction["messageReference"] == "r-1"
    # Its own message is delivered as any other's.
    assert backend.get_message(WORKSPACE_ID, MMS_CHANNEL_ID, sent["id"])["status"] == "delivered"
    # Replies once.
    clock.now += 60
    assert len(listed(backend)["results"]) == 2 and len(backend.interactions()) == 1


def test_replies_yes_is_a_message_and_no_interaction(backend, clock):
    sent = send(backend, to=REPLIES_YES_US)
    clock.now += 1
    [reply] = [m for m in backend.messages() if m["direction"] == "incoming"]
    assert reply["body"]["text"]["text"] == "YES"
    assert reply["sender"]["contact"]["identifierValue"] == REPLIES_YES_US
    assert interactions_of(backend, sent["id"]) == []


@pytest.mark.parametrize(
    ("text", "extra", "expected"),
    [
        ("Book at https://example.com/book?id=1. Thanks", {}, "https://example.com/book?id=1"),
        ("Two: http://a.example/x and https://b.example/y", {}, "http://a.example/x"),
        ("No link", {}, None),
    ],
)
def test_clicks_link_clicks_the_first_link_after_the_delay(backend, clock, text, extra, expected):
    sent = send(backend, to=CLICKS_LINK_US, text=text, **extra)
    clock.now += 0.5
    assert interactions_of(backend, sent["id"]) == []
    clock.now += 0.5
    [click] = interactions_of(backend, sent["id"])
    assert click["type"] == "clicked" and click["isFirstInteraction"] is True
    assert click["createdAt"] == stamp(clock.now)
    url = click["details"]["url"]
    if expected is None:
        assert re.fullmatch(rf"https://{SHORT_LINK_DOMAIN}/[\w-]{{8}}", url)
    else:
        assert url == expected
    # A click is no message.
    assert [m["id"] for m in listed(backend)["results"]] == [sent["id"]]


def test_clicks_link_clicks_the_short_link_of_a_shortened_message(backend, clock):
    sent = send(
        backend,
        to=CLICKS_LINK_US,
        text="See https://example.com/x",
        shortLinks={"domain": "default"},
    )
    short = sent["body"]["text"]["text"].split()[-1]
    assert short.startswith(f"https://{SHORT_LINK_DOMAIN}/")
    clock.now += 1
    [click] = interactions_of(backend, sent["id"])
    assert click["details"] == {"url": short}


def test_on_a_one_way_channel_stop_only_opts_out_and_yes_does_nothing(backend, clock):
    stop = send(backend, to=REPLIES_STOP_US, channel_id=SMS_CHANNEL_ID)
    yes = send(backend, to=REPLIES_YES_US, channel_id=SMS_CHANNEL_ID)
    click = send(backend, to=CLICKS_LINK_US, channel_id=SMS_CHANNEL_ID)
    clock.now += 1
    assert [m["direction"] for m in backend.messages()] == ["outgoing"] * 3
    [opt_out] = interactions_of(backend, stop["id"], SMS_CHANNEL_ID)
    assert opt_out["type"] == "unsubscribe-request"
    assert opt_out["details"]["url"].startswith(f"https://{SHORT_LINK_DOMAIN}/")
    assert interactions_of(backend, yes["id"], SMS_CHANNEL_ID) == []
    assert [i["type"] for i in interactions_of(backend, click["id"], SMS_CHANNEL_ID)] == ["clicked"]


def test_a_reply_is_stored_before_a_later_message_whatever_reads_it(backend, clock):
    backend.reply_delay = 2.0
    start = clock.now
    sent = send(backend, to=REPLIES_STOP_US)
    clock.now = start + 3  # the reply is due at start + 2; nothing read it yet
    later = send(backend, text="later")
    clock.now = start + 4
    inbound = backend.receive(PERSON, "hello")
    results = listed(backend, limit=100)["results"]
    assert [m["id"] for m in results[:2]] == [inbound["id"], later["id"]]
    assert results[2]["direction"] == "incoming" and results[2]["createdAt"] == stamp(start + 2)
    assert results[3]["id"] == sent["id"]
    stamps = [m["createdAt"] for m in results]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_created_at_never_decreases_in_storage_order(backend, clock, order):
    backend.listing = {"order": order}
    backend.reply_delay = 0.75
    for index in range(6):
        send(backend, to=[REPLIES_STOP_US, REPLIES_YES_US, PERSON][index % 3])
        clock.now += 0.5
        if index % 2:
            backend.receive(PERSON, "ok")
    clock.now += 2
    stamps = [m["createdAt"] for m in every_page(backend, limit=3)]
    assert len(stamps) == 6 + 3 + 4  # sent, received, replies
    assert stamps == sorted(stamps, reverse=order == "newest_first")


def test_a_message_stamped_before_the_channels_latest_takes_its_stamp(backend, clock):
    # A request whose clock was read before another's stored message (a race, or a clock
    # stepped back) must not list out of order.
    backend.receive(PERSON, "first")
    clock.now -= 5
    sent = send(backend)
    received = backend.receive(PERSON, "second")
    assert sent["createdAt"] == received["createdAt"] == stamp(clock.now + 5)


def test_reply_delay_is_a_setting_and_applies_to_messages_sent_afterwards(backend, clock):
    assert SandboxBackend().reply_delay == 1.0
    early = send(backend, to=REPLIES_YES_US)
    backend.reply_delay = 10
    late = send(backend, to=REPLIES_STOP_US)
    clock.now += 1
    assert interactions_of(backend, late["id"]) == []
    assert len(backend.messages()) == 3  # early's reply only
    clock.now += 9
    assert len(interactions_of(backend, late["id"])) == 1
    assert early["id"] != late["id"]
    for bad in (-1, "1", None, float("nan"), True):
        with pytest.raises(ValueError, match="reply_delay"):
            backend.reply_delay = bad
    with pytest.raises(ValueError, match="reply_delay"):
        SandboxBackend(reply_delay=-0.5)


def test_rejected_messages_get_no_reply(clock):
    backend = SandboxBackend(clock=clock)
    try:
        batch = backend.create_batch_messages(
            WORKSPACE_ID,
            MMS_CHANNEL_ID,
            {
                "messageRequests": [
                    {"receiver": {"contacts": [{"identifierValue": REPLIES_STOP_US}]}}
                ]
            },
        )
        assert backend.wait_idle(5)
        [rejected] = backend.messages()
        assert rejected["status"] == "rejected" and rejected["batchId"] == batch["batchId"]
        clock.now += 5
        assert len(backend.messages()) == 1 and backend.interactions() == []
        # A STOP later finds no sent message either.
        backend.receive(REPLIES_STOP_US, "STOP")
        assert backend.interactions() == []
    finally:
        backend.close()


def test_batch_items_to_answering_recipients_answer(clock):
    backend = SandboxBackend(clock=clock)
    try:
        item = text_message("Hi https://example.com/z", CLICKS_LINK_US)
        backend.create_batch_messages(WORKSPACE_ID, MMS_CHANNEL_ID, {"messageRequests": [item]})
        assert backend.wait_idle(5)
        clock.now += 1
        [click] = backend.interactions()
        assert click["details"] == {"url": "https://example.com/z"}
    finally:
        backend.close()


def test_reset_forgets_inbound_messages_interactions_and_pending_replies(backend, clock):
    backend.reply_delay = 3
    sent = send(backend, to=REPLIES_STOP_US)
    backend.receive(PERSON, "Hi")
    backend.interact(sent["id"], "clicked")
    backend.reset()
    assert backend.reply_delay == 1.0
    clock.now += 10
    assert backend.messages() == [] and backend.interactions() == []
    assert backend.message_count() == 0


def test_message_count_counts_accepted_messages_only(backend):
    send(backend)
    backend.receive(PERSON, "Hi")
    assert backend.message_count() == 1 and len(backend.messages()) == 2
