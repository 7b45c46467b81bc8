"""Bird's webhooks without a server: the signature, reading a delivery, the asset URI, the
subscriptions' bodies."""

import base64
import hashlib
import hmac
import json
import uuid

import pytest

from airflow_provider_sms.bird.errors import BirdConfigurationError
from airflow_provider_sms.bird.settings import webhook_url
from airflow_provider_sms.bird.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRefused,
    asset_uri,
    event_key,
    read_delivery,
    receiver_url,
    same_subscription,
    signature,
    subscription,
    verify,
)

KEY = "signing-key"
URL = "https://airflow.example.com/bird/webhooks/bird_default"
WORKSPACE = str(uuid.uuid4())
CHANNEL = str(uuid.uuid4())
NOW = 1_800_000_000.0


def bird_signature(key: str, stamp: str, url: str, body: bytes) -> str:
    """Bird's signature as its documentation's PHP example computes it."""
    body_hash = hashlib.sha256(body).digest()
    signed = stamp.encode() + b"\n" + url.encode() + b"\n" + body_hash
    return base64.b64encode(hmac.new(key.encode(), signed, hashlib.sha256).digest()).decode()


def headers(body: bytes, *, key: str = KEY, url: str = URL, stamp: float = NOW) -> dict:
    text = str(int(stamp))
    return {SIGNATURE_HEADER: bird_signature(key, text, url, body), TIMESTAMP_HEADER: text}


def test_the_signature_is_birds():
    body = b'{"service":"channels"}'
    assert signature(KEY, "1719823259", URL, body) == bird_signature(KEY, "1719823259", URL, body)


def test_a_signed_body_verifies_within_the_window():
    body = b"{}"
    verify(KEY, headers(body), URL, body, now=NOW)
    verify(KEY, headers(body, stamp=NOW - 299), URL, body, now=NOW)


@pytest.mark.parametrize(
    ("case", "given", "url", "body"),
    [
        ("no headers", {}, URL, b"{}"),
        ("another key", headers(b"{}", key="other"), URL, b"{}"),
        ("another URL", headers(b"{}", url=URL + "/"), URL, b"{}"),
        ("another body", headers(b"{}"), URL, b"{ }"),
        ("stale", headers(b"{}", stamp=NOW - 600), URL, b"{}"),
        ("ahead", headers(b"{}", stamp=NOW + 600), URL, b"{}"),
        ("not base64", {SIGNATURE_HEADER: "***", TIMESTAMP_HEADER: str(int(NOW))}, URL, b"{}"),
        (
            "timestamp not a number",
            {SIGNATURE_HEADER: "AA==", TIMESTAMP_HEADER: "soon"},
            URL,
            b"{}",
        ),
    ],
)
def test_anything_else_is_401(case, given, url, body):
    with pytest.raises(WebhookRefused) as refused:
        verify(KEY, given, url, body, now=NOW)
    assert refused.value.status == 401
    assert KEY not in str(refused.value)


def message(**fields) -> dict:
    return {"id": str(uuid.uuid4()), "channelId": CHANNEL, "direction": "incoming", **fields}


def read(document, channel_id=None) -> object:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return read_delivery(body, workspace_id=WORKSPACE, channel_id=channel_id)


def test_an_envelope_a_bare_message_and_an_interaction_are_read():
    inbound = message()
    assert read({"service": "channels", "event": "sms.inbound", "payload": inbound}).payload == (
        inbound
    )
    assert read(inbound).name == "sms.inbound"
    assert read(message(direction="outgoing", status="sent")).name == "sms.outbound"
    clicked = {"id": str(uuid.uuid4()), "messageId": "m", "channelId": CHANNEL, "type": "clicked"}
    assert read(clicked).name == "sms.interaction"


def test_the_key_is_the_same_for_every_delivery_of_one_event_and_not_across_statuses():
    sent = message(direction="outgoing", status="sent")
    envelope = {"event": "sms.outbound", "payload": sent}
    assert read(envelope).key == read({**envelope, "deliveryAttempt": 2}).key == read(sent).key
    assert read({"event": "sms.outbound", "payload": {**sent, "status": "delivered"}}).key != (
        read(envelope).key
    )
    assert event_key("sms.inbound", sent) != event_key("sms.outbound", sent)


def test_an_unknown_shape_is_taken_not_retried():
    with pytest.raises(WebhookRefused) as refused:
        read({"kind": "new", "data": {}})
    assert refused.value.status == 202


def test_another_channel_is_refused_when_the_connection_names_one():
    with pytest.raises(WebhookRefused, match="not the connection's channel") as refused:
        read(message(channelId=str(uuid.uuid4())), channel_id=CHANNEL)
    assert refused.value.status == 422
    assert read(message(), channel_id=CHANNEL).channel_id == CHANNEL


def test_the_asset_uri():
    assert (
        asset_uri(WORKSPACE, CHANNEL, "sms.inbound") == f"bird://{WORKSPACE}/{CHANNEL}/sms.inbound"
    )
    with pytest.raises(ValueError, match="event"):
        asset_uri(WORKSPACE, CHANNEL, "sms.nothing")
    with pytest.raises(ValueError, match="channel_id"):
        asset_uri(WORKSPACE, "general", "sms.inbound")


def test_a_subscription_is_found_again_by_what_it_delivers_not_its_key():
    wanted = subscription("sms.inbound", URL, KEY, CHANNEL)
    assert wanted["signingKey"] == KEY
    listed = {k: v for k, v in wanted.items() if k != "signingKey"} | {"id": "1"}
    assert same_subscription(listed, wanted)
    assert not same_subscription({**listed, "url": URL + "x"}, wanted)
    assert not same_subscription({**listed, "event": "sms.outbound"}, wanted)
    assert not same_subscription({**listed, "eventFilters": []}, wanted)
    assert not same_subscription("not a subscription", wanted)


def test_the_receiver_url():
    assert (
        receiver_url("bird_eu", None, "http://af:8080/") == "http://af:8080/bird/webhooks/bird_eu"
    )
    assert receiver_url("bird_eu", URL + "/", "http://af:8080") == URL


@pytest.mark.parametrize("value", ["airflow.example.com/bird", "ftp://x/y", "https://", 3])
def test_a_webhook_url_must_be_absolute_http(value):
    with pytest.raises(BirdConfigurationError, match="extra.webhook_url"):
        webhook_url(value)


def test_a_webhook_url_is_kept_as_given():
    assert webhook_url(f" {URL} ") == URL
    assert webhook_url("") is None
