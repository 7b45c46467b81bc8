"""The return path over HTTP (bird_sandbox/inbound.py): Bird's interactions route, the control
API's /_sandbox/inbound and /_sandbox/interactions, the answering recipients in real time, and
injecting an inbound SMS into a sandbox in a process of its own from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
import requests
from sandbox_support import channel_url, closed_port, parse, send, text_message

from bird_sandbox import (
    CLICKS_LINK_US,
    MMS_CHANNEL_ID,
    REPLIES_STOP_US,
    REPLIES_YES_US,
    SMS_CHANNEL_ID,
    BirdSandbox,
)
from bird_sandbox.process import SandboxProcess

PERSON = "+12025550199"


def interactions_url(sb, message_id: str, channel_id: str = MMS_CHANNEL_ID) -> str:
    return channel_url(sb, channel_id, f"/messages/{message_id}/interactions")


def wait_for(read, ready, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def test_an_inbound_message_is_listed_and_read_by_id_over_http(sandbox, http):
    sent = send(sandbox, http, text_message(to=PERSON)).json()
    received = sandbox.receive(PERSON, "Hello back")
    listed = http.get(channel_url(sandbox, suffix="/messages")).json()["results"]
    assert [m["id"] for m in listed] == [received["id"], sent["id"]]
    assert [m["direction"] for m in listed] == ["incoming", "outgoing"]
    by_id = http.get(channel_url(sandbox, suffix=f"/messages/{received['id']}"))
    assert by_id.status_code == 200 and by_id.json() == received
    assert sandbox.messages == [sent, received]


def test_the_interactions_route_answers_in_birds_shape(sandbox, http):
    sent = send(sandbox, http, text_message("Go to https://example.com/p", to=PERSON)).json()
    assert http.get(interactions_url(sandbox, sent["id"])).json() == {"results": []}
    clicked = sandbox.interact(sent["id"], "clicked")
    sandbox.receive(PERSON, "stop")
    answer = http.get(interactions_url(sandbox, sent["id"]))
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [i["type"] for i in results] == ["unsubscribe-request", "clicked"]
    assert results[1] == clicked and clicked["details"] == {"url": "https://example.com/p"}
    assert set(results[0]) == {
        "id",
        "messageId",
        "channelId",
        "platformId",
        "type",
        "receiver",
        "details",
        "metadata",
        "createdAt",
        "messagePartsCount",
        "messageTags",
        "isFirstInteraction",
    }
    assert results[0]["details"] == {"keyword": "STOP"}
    assert sandbox.interactions == results[::-1]


def test_the_interactions_route_is_birds_404_and_401(sandbox, http):
    sent = send(sandbox, http, text_message()).json()
    for url in (
        interactions_url(sandbox, str(uuid.uuid4())),
        interactions_url(sandbox, sent["id"], SMS_CHANNEL_ID),
    ):
        answer = http.get(url)
        assert answer.status_code == 404
        assert answer.json() == {
            "code": "NotFound",
            "message": "The requested resource does not exist: message not found",
        }
    assert http.get(interactions_url(sandbox, "x", "no-such-channel")).status_code == 404
    assert requests.get(interactions_url(sandbox, sent["id"]), timeout=5).status_code == 401
    assert http.post(interactions_url(sandbox, sent["id"]), json={}).status_code == 405


def test_the_control_api_injects_inbound_messages_and_lists_interactions(sandbox, http):
    control = f"{sandbox.base_url}/_sandbox"
    sent = send(sandbox, http, text_message(to=PERSON)).json()
    answer = requests.post(f"{control}/inbound", json={"from": PERSON, "text": "START"})
    assert answer.status_code == 200
    stored = answer.json()
    assert stored["direction"] == "incoming" and stored["channelId"] == MMS_CHANNEL_ID
    assert stored["body"]["text"]["text"] == "START"
    [interaction] = requests.get(f"{control}/interactions").json()["results"]
    assert interaction["type"] == "subscribe-consent" and interaction["messageId"] == sent["id"]
    explicit = {"from": PERSON, "text": "Hi", "channel_id": MMS_CHANNEL_ID}
    assert requests.post(f"{control}/inbound", json=explicit).status_code == 200

    for body, error in [
        ({"from": PERSON, "text": "Hi", "channel_id": SMS_CHANNEL_ID}, "one-way"),
        ({"from": "0612345678", "text": "Hi"}, "E.164"),
        ({"from": PERSON, "text": ""}, "text"),
        ({"from": PERSON}, "missing field(s): text"),
        ({"text": "Hi"}, "missing field(s): from"),
        ({"from": PERSON, "text": "Hi", "to": "x"}, "unknown field(s): to"),
        ({"from": PERSON, "text": "Hi", "channel_id": "nope"}, "unknown channel"),
    ]:
        refused = requests.post(f"{control}/inbound", json=body)
        assert refused.status_code == 400, body
        assert refused.json()["code"] == "InvalidRequest" and error in refused.json()["message"]
    assert requests.post(f"{control}/inbound", json=[1]).status_code == 400
    assert len(sandbox.messages) == 3

    assert requests.post(f"{control}/reset", json={}).status_code == 200
    assert requests.get(f"{control}/interactions").json() == {"results": []}
    assert sandbox.messages == []


def test_reply_delay_is_configured_through_the_control_api(sandbox):
    control = f"{sandbox.base_url}/_sandbox"
    assert requests.get(f"{control}/config").json()["reply_delay"] == 1.0
    assert (
        requests.post(f"{control}/config", json={"reply_delay": 0.25}).json()["reply_delay"] == 0.25
    )
    assert sandbox.reply_delay == 0.25
    refused = requests.post(f"{control}/config", json={"reply_delay": -1})
    assert refused.status_code == 400 and "reply_delay" in refused.json()["message"]
    sandbox.reply_delay = 2
    assert sandbox.reply_delay == 2.0
    sandbox.reset()
    assert sandbox.reply_delay == 1.0
    assert BirdSandbox(reply_delay=0.5).reply_delay == 0.5


def test_the_answering_recipients_answer_in_real_time():
    with BirdSandbox(reply_delay=0.2) as sandbox, requests.Session() as http:
        http.headers["Authorization"] = f"AccessKey {sandbox.access_key}"
        sent = {
            number: send(sandbox, http, text_message("See https://example.com/r", to=number)).json()
            for number in (REPLIES_STOP_US, REPLIES_YES_US, CLICKS_LINK_US)
        }
        # Nothing yet: the answers are due reply_delay seconds after the messages went out.
        assert [m["direction"] for m in sandbox.messages] == ["outgoing"] * 3
        url = channel_url(sandbox, suffix="/messages")
        listed = wait_for(
            lambda: http.get(url).json()["results"],
            lambda results: len(results) == 5,
        )
        replies = {
            m["sender"]["contact"]["identifierValue"]: m
            for m in listed
            if m["direction"] == "incoming"
        }
        assert {n: m["body"]["text"]["text"] for n, m in replies.items()} == {
            REPLIES_STOP_US: "STOP",
            REPLIES_YES_US: "YES",
        }
        for number, reply in replies.items():
            waited = (parse(reply["createdAt"]) - parse(sent[number]["createdAt"])).total_seconds()
            assert 0.19 <= waited < 0.5, waited
        stamps = [m["createdAt"] for m in listed]
        assert stamps == sorted(stamps, reverse=True)

        def types(number):
            answer = http.get(interactions_url(sandbox, sent[number]["id"])).json()
            return [(i["type"], i["details"]) for i in answer["results"]]

        assert types(REPLIES_STOP_US) == [("unsubscribe-request", {"keyword": "STOP"})]
        assert types(REPLIES_YES_US) == []
        assert types(CLICKS_LINK_US) == [("clicked", {"url": "https://example.com/r"})]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bird_sandbox", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_line_injects_an_inbound_sms_into_a_sandbox_process():
    with SandboxProcess(reply_delay=0.2) as process:
        assert process.configure()["reply_delay"] == 0.2
        result = run_cli("receive", "--url", process.base_url, "--from", PERSON, "YES please")
        assert result.returncode == 0, result.stderr
        printed = json.loads(result.stdout)
        assert printed["body"]["text"]["text"] == "YES please"
        assert printed["sender"]["contact"]["identifierValue"] == PERSON
        assert [m["id"] for m in process.messages()] == [printed["id"]]

        one_way = run_cli(
            "receive",
            "--url",
            process.base_url,
            "--from",
            PERSON,
            "--channel",
            SMS_CHANNEL_ID,
            "Hi",
        )
        assert one_way.returncode == 1 and "400" in one_way.stderr and "one-way" in one_way.stderr
        bad = run_cli("receive", "--url", process.base_url, "--from", "12345", "Hi")
        assert bad.returncode == 1 and "E.164" in bad.stderr
        assert run_cli("receive", "--url", process.base_url, "Hi").returncode == 2  # no --from

        # The sandbox in its own process answers too, and SandboxProcess can inject.
        http = requests.Session()
        http.headers["Authorization"] = f"AccessKey {process.connection['password']}"
        posted = http.post(
            f"{process.base_url}/workspaces/{process.connection['extra']['workspace_id']}"
            f"/channels/{MMS_CHANNEL_ID}/messages",
            json=text_message(to=REPLIES_STOP_US),
            timeout=10,
        ).json()
        interactions = wait_for(process.interactions, lambda found: len(found) == 1)
        assert [(i["type"], i["messageId"]) for i in interactions] == [
            ("unsubscribe-request", posted["id"])
        ]
        assert process.receive(PERSON, "Bye")["body"]["text"]["text"] == "Bye"
        assert len(process.messages()) == 4  # the YES, the message, its STOP, the bye
        process.reset()
        assert process.messages() == [] and process.interactions() == []


def test_the_command_line_says_when_no_sandbox_answers():
    with closed_port() as port:
        result = run_cli("receive", "--url", f"http://127.0.0.1:{port}", "--from", PERSON, "Hi")
    assert result.returncode == 1 and "cannot reach the sandbox" in result.stderr


def test_the_command_line_takes_a_reply_delay():
    result = run_cli("--reply-delay", "-1")
    assert result.returncode == 2 and "--reply-delay" in result.stderr


@pytest.mark.parametrize("channel_id", [MMS_CHANNEL_ID, SMS_CHANNEL_ID])
def test_the_facade_checks_inbound_input(sandbox, channel_id):
    if channel_id == SMS_CHANNEL_ID:
        with pytest.raises(ValueError, match="one-way"):
            sandbox.receive(PERSON, "Hi", channel_id=channel_id)
    else:
        assert sandbox.receive(PERSON, "Hi", channel_id=channel_id)["channelId"] == channel_id
    with pytest.raises(ValueError, match="unknown interaction type"):
        sandbox.interact(str(uuid.uuid4()), "read")
    with pytest.raises(ValueError, match="no sent message"):
        sandbox.interact(str(uuid.uuid4()), "clicked")
