"""The webhook receiver in a real Airflow API server (`airflow api-server`, SQLite), reached
over HTTP: what it takes, what it refuses, and that each event counts once."""

import base64
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import subprocess
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
from support import API_SERVER, needs_airflow

pytestmark = needs_airflow("3.0", API_SERVER)

from redis_server import free_port  # noqa: E402

from airflow_provider_sms.testing import AirflowHome  # noqa: E402
from bird_sandbox import BirdSandbox  # noqa: E402

WORKSPACE = "6b52e9cb-2ddf-45b5-8aea-62882e999fb7"
CHANNEL = "0c6e4a3a-4b43-4a55-8f7e-3c3c0f0e9a11"
OTHER_CHANNEL = "1d7f5b4b-5c54-4b66-9a8f-4d4d1a1fab22"
SECRET = "whsec-Z1x9-very-secret-signing-key"
CONN = {
    "conn_type": "bird",
    "password": "test-access-key",
    "extra": {"workspace_id": WORKSPACE, "webhook_signing_secret": SECRET},
}
# The same, naming its channel: deliveries for another channel are refused.
CHANNEL_CONN = {**CONN, "extra": {**CONN["extra"], "channel_id": CHANNEL}}
NO_KEY_CONN = {**CONN, "extra": {"workspace_id": WORKSPACE}}
# Two API-server workers: a delivery repeated at once may reach both.
WORKERS = ("--workers", "2")
ROUNDS = 5
URI = f"bird://{WORKSPACE}/{CHANNEL}/sms.inbound"
DAG = f'''
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("on_inbound", schedule=[Asset("{URI}")], catchup=False):
    EmptyOperator(task_id="noop")
'''


def sign(body: bytes, url: str, *, key: str = SECRET, timestamp: int | None = None) -> dict:
    """Bird's headers for `body` sent to `url`, computed here from Bird's description."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = f"{stamp}\n{url}\n".encode() + hashlib.sha256(body).digest()
    mac = hmac.new(key.encode(), signed, hashlib.sha256).digest()
    return {
        "messagebird-signature": base64.b64encode(mac).decode(),
        "messagebird-request-timestamp": stamp,
        "content-type": "application/json",
    }


def inbound(message_id: str | None = None, channel: str = CHANNEL, **fields) -> dict:
    return {
        "id": message_id or str(uuid.uuid4()),
        "channelId": channel,
        "direction": "incoming",
        "status": "delivered",
        "sender": {"contact": {"identifierValue": "+31612345678"}},
        "body": {"type": "text", "text": {"text": "hello"}},
        **fields,
    }


def envelope(payload, event="sms.inbound", **fields) -> bytes:
    return json.dumps(
        {"service": "channels", "event": event, "payload": payload, **fields}
    ).encode()


class Receiver:
    """An Airflow home with a DAG scheduled on the channel's inbound asset, and its API
    server (two workers) serving the receiver; `pushed_conn` is a connection to `sandbox`
    whose webhooks the receiver takes."""

    def __init__(self, folder: Path, sandbox: BirdSandbox):
        dags = folder / "dags"
        dags.mkdir(parents=True)
        (dags / "on_inbound.py").write_text(DAG)
        self.port = free_port()
        self.sandbox = sandbox
        self.pushed_conn = sandbox.connection()
        self.pushed_conn["extra"].update(
            webhook_signing_secret=SECRET, webhook_url=self.url("bird_pushed")
        )
        self.home = AirflowHome(
            folder / "home",
            dags,
            {
                "AIRFLOW_CONN_BIRD_PUSHED": json.dumps(self.pushed_conn),
                "AIRFLOW_CONN_BIRD_HOOKS": json.dumps(CONN),
                "AIRFLOW_CONN_BIRD_CHANNEL": json.dumps(CHANNEL_CONN),
                "AIRFLOW_CONN_BIRD_NO_KEY": json.dumps(NO_KEY_CONN),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                # Tokens one worker signs, the other takes (Airflow 3.0 needs an issuer).
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__API_AUTH__JWT_ISSUER": "airflow",
            },
        )
        self.log = folder / "api-server.log"
        self.process = None

    def start(self) -> "Receiver":
        self.home.migrate()
        self.home.airflow("dags", "reserialize")
        # A connection in the database, for Airflow's connection API to answer about.
        self.home.airflow("connections", "add", "bird_stored", "--conn-json", json.dumps(CONN))
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*AirflowHome.airflow_command(), "api-server", "--port", str(self.port), *WORKERS],
                env=self.home.environ(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(self.base + "/api/v2/monitor/health", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError("the API server did not start")

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, conn_id: str = "bird_hooks") -> str:
        return f"{self.base}/bird/webhooks/{conn_id}"

    def post(self, body: bytes, conn_id: str = "bird_hooks", **signing) -> requests.Response:
        url = self.url(conn_id)
        return requests.post(url, data=body, headers=sign(body, url, **signing), timeout=30)

    def query(self, sql: str, *args) -> list[tuple]:
        with sqlite3.connect(self.home.path / "airflow.db") as db:
            return db.execute(sql, args).fetchall()

    def asset_events(self) -> list[dict]:
        rows = self.query(
            "SELECT asset_event.extra FROM asset_event JOIN asset ON asset.id = "
            "asset_event.asset_id WHERE asset.uri = ? ORDER BY asset_event.id",
            URI,
        )
        return [json.loads(extra) for (extra,) in rows]

    def kept(self) -> int:
        # The receiver creates its table when it first keeps an event.
        if not self.query("SELECT name FROM sqlite_master WHERE name = 'bird_webhook_events'"):
            return 0
        return self.query("SELECT count(*) FROM bird_webhook_events")[0][0]


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    with BirdSandbox() as sandbox:
        server = Receiver(tmp_path_factory.mktemp("receiver"), sandbox).start()
        yield server
        server.stop()


def test_a_signed_delivery_becomes_one_asset_event_on_its_channels_asset(receiver):
    before = len(receiver.asset_events())
    message = inbound()
    answer = receiver.post(envelope(message))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"kept": True, "asset_events": 1}
    events = receiver.asset_events()
    assert len(events) == before + 1
    assert events[-1]["event"] == "sms.inbound"
    assert events[-1]["channel_id"] == CHANNEL
    # The event holds the message whole (its numbers too); the log does not.
    assert events[-1]["payload"] == message
    queued = receiver.query(
        "SELECT count(*) FROM asset_dag_run_queue WHERE target_dag_id = ?", "on_inbound"
    )
    assert queued[0][0] >= 1
    log = receiver.log.read_text()
    assert message["id"] in log
    assert "+31612345678" not in log and "hello" not in log


@pytest.mark.parametrize("shape", ["bare", "extended"])
def test_a_bare_message_and_an_envelope_with_unknown_fields_are_read_too(receiver, shape):
    message = inbound()
    body = (
        json.dumps(message).encode()
        if shape == "bare"
        else envelope(message, version=2, deliveryAttempt=1, meta={"region": "eu"})
    )
    answer = receiver.post(body)
    assert answer.status_code == 200, answer.text
    assert receiver.asset_events()[-1]["payload"] == message


def _refused_request(receiver, case: str) -> requests.Response:
    body = envelope(inbound())
    url = receiver.url()
    if case == "no signature":
        return requests.post(url, data=body, timeout=30)
    if case == "wrong signature":
        return requests.post(url, data=body, headers=sign(body, url, key="not-the-key"))
    if case == "body changed after signing":
        changed = body.replace(b"hello", b"HELLO")
        return requests.post(url, data=changed, headers=sign(body, url), timeout=30)
    if case == "timestamp 10 minutes old":
        return receiver.post(body, timestamp=int(time.time()) - 600)
    if case == "signed for another URL":
        return requests.post(url, data=body, headers=sign(body, url + "x"), timeout=30)
    if case == "unknown connection":
        return receiver.post(body, conn_id="bird_nobody")
    if case == "connection without a signing key":
        return receiver.post(body, conn_id="bird_no_key")
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "no signature",
        "wrong signature",
        "body changed after signing",
        "timestamp 10 minutes old",
        "signed for another URL",
        "unknown connection",
        "connection without a signing key",
    ],
)
def test_an_unsigned_or_wrongly_signed_request_gets_401_and_creates_nothing(receiver, case):
    events, kept = len(receiver.asset_events()), receiver.kept()
    answer = _refused_request(receiver, case)
    assert answer.status_code == 401, answer.text
    assert SECRET not in answer.text
    assert (len(receiver.asset_events()), receiver.kept()) == (events, kept)
    if case == "signed for another URL":
        # What a misconfigured proxy looks like, said where its operator looks.
        assert "(URL checked: the request's own)" in receiver.log.read_text()


def _malformed() -> list[tuple[str, bytes, str]]:
    """(case, signed body, what the answer must name): 30 bodies the receiver refuses."""
    good = inbound()
    cases = [
        ("not JSON", b"hello", "not JSON"),
        ("truncated JSON", envelope(good)[:-3], "not JSON"),
        ("not UTF-8", b"\xff\xfe{}", "not JSON"),
        ("empty body", b"", "not JSON"),
        ("a JSON array", b"[]", "not an object"),
        ("a JSON string", b'"sms.inbound"', "not an object"),
        ("a JSON number", b"42", "not an object"),
        ("JSON null", b"null", "not an object"),
        ("payload missing", json.dumps({"event": "sms.inbound"}).encode(), "payload"),
        ("payload a string", envelope("hello"), "payload"),
        ("payload a list", envelope([good]), "payload"),
        ("payload empty", envelope({}), "payload"),
        ("event unknown", envelope(good, event="sms.teleport"), "event"),
        ("event of another platform", envelope(good, event="whatsapp.inbound"), "event"),
        ("event a number", envelope(good, event=7), "event"),
        ("event empty", envelope(good, event=""), "event"),
        ("service not channels", envelope(good, service="conversations"), "service"),
        (
            "channelId missing",
            envelope({k: v for k, v in good.items() if k != "channelId"}),
            "channelId",
        ),
        ("channelId not a UUID", envelope({**good, "channelId": "my-channel"}), "channelId"),
        ("channelId a number", envelope({**good, "channelId": 12}), "channelId"),
        ("id missing", envelope({k: v for k, v in good.items() if k != "id"}), "payload.id"),
        ("id empty", envelope({**good, "id": ""}), "payload.id"),
        (
            "outbound without status",
            envelope({**inbound(), "direction": "outgoing", "status": None}, event="sms.outbound"),
            "payload.status",
        ),
        (
            "another workspace in the payload",
            envelope({**good, "workspaceId": str(uuid.uuid4())}),
            "another workspace",
        ),
        (
            "another workspace in the envelope",
            envelope(good, workspaceId=str(uuid.uuid4())),
            "another workspace",
        ),
        ("oversized", envelope({**good, "padding": "x" * 300_000}), "bytes"),
        ("oversized, no envelope", json.dumps([0] * 140_000).encode(), "bytes"),
        ("oversized with a JSON object", b'{"a": "' + b"y" * 270_000 + b'"}', "bytes"),
    ]
    return cases


MALFORMED = _malformed()
# Refused for the connection naming its channel: a delivery of another channel.
WRONG_CHANNEL = [
    ("another channel", envelope(inbound(channel=OTHER_CHANNEL)), "not the connection's channel"),
    (
        "another channel, bare",
        json.dumps(inbound(channel=OTHER_CHANNEL)).encode(),
        "not the connection's channel",
    ),
]


def test_thirty_malformed_bodies_are_counted():
    assert len(MALFORMED) + len(WRONG_CHANNEL) == 30


@pytest.mark.parametrize(
    ("conn_id", "body", "named"),
    [pytest.param("bird_hooks", body, named, id=case) for case, body, named in MALFORMED]
    + [pytest.param("bird_channel", body, named, id=case) for case, body, named in WRONG_CHANNEL],
)
def test_a_malformed_body_gets_a_clear_4xx_and_creates_nothing(receiver, conn_id, body, named):
    events, kept = len(receiver.asset_events()), receiver.kept()
    answer = receiver.post(body, conn_id=conn_id)
    assert 400 <= answer.status_code < 500, answer.text
    assert named in answer.json()["detail"]
    assert (len(receiver.asset_events()), receiver.kept()) == (events, kept)


def test_a_signed_body_of_an_unknown_shape_is_taken_logged_and_not_retried(receiver):
    events = len(receiver.asset_events())
    body = json.dumps({"kind": "something new", "data": {"number": "+31699999999"}}).encode()
    answer = receiver.post(body)
    # 2xx: Bird would retry anything else for 8 hours, to no avail.
    assert answer.status_code == 202, answer.text
    assert answer.json()["kept"] is False
    assert len(receiver.asset_events()) == events
    log = receiver.log.read_text()
    assert f"{len(body)} bytes" in log
    assert "+31699999999" not in log


def test_the_same_event_delivered_again_and_at_once_counts_once(receiver):
    events = len(receiver.asset_events())
    body = envelope(inbound())
    # Bird's retries: the same body, signed anew each time.
    answers = [receiver.post(body).json() for _ in range(3)]
    assert answers == [
        {"kept": True, "asset_events": 1},
        {"kept": False, "asset_events": 0},
        {"kept": False, "asset_events": 0},
    ]
    # At once, to both workers: only one request keeps each new event.
    for _ in range(ROUNDS):
        body = envelope(inbound())
        barrier = threading.Barrier(8)
        results: list[dict] = []

        def deliver(body=body, barrier=barrier, results=results):
            barrier.wait()
            results.append(receiver.post(body).json())

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r["kept"] for r in results) == [False] * 7 + [True]
    assert len(receiver.asset_events()) == events + 1 + ROUNDS


def test_a_status_change_is_a_new_event_of_the_same_message(receiver):
    message = {**inbound(), "direction": "outgoing", "status": "sent"}
    first = receiver.post(envelope(message, event="sms.outbound")).json()
    second = receiver.post(envelope({**message, "status": "delivered"}, event="sms.outbound"))
    assert first["kept"] and second.json()["kept"]


def _read(receiver, query: dict, *, key: str = SECRET, conn_id: str = "bird_hooks"):
    from airflow_provider_sms.bird.webhooks import read_signature

    text = urllib.parse.urlencode(query)
    stamp = str(int(time.time()))
    headers = {
        "x-bird-read-timestamp": stamp,
        "x-bird-read-signature": read_signature(key, stamp, conn_id, text),
    }
    return requests.get(f"{receiver.url(conn_id)}/events?{text}", headers=headers, timeout=30)


def test_kept_events_are_read_back_only_with_the_key(receiver):
    message = inbound()
    receiver.post(envelope(message))
    query = {"channel_id": CHANNEL, "event": "sms.inbound", "after": 0}
    answer = _read(receiver, query)
    assert answer.status_code == 200, answer.text
    assert message in [event["payload"] for event in answer.json()["events"]]
    assert _read(receiver, query, key="guess").status_code == 401
    unsigned = requests.get(f"{receiver.url()}/events", params=query, timeout=30)
    assert unsigned.status_code == 401


def test_the_signing_key_shows_in_no_log_no_answer_and_no_connection_response(receiver):
    token = requests.get(f"{receiver.base}/auth/token", timeout=30).json()["access_token"]
    answer = requests.get(
        f"{receiver.base}/api/v2/connections/bird_stored",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert SECRET not in answer.text
    assert "webhook_signing_secret" in answer.text  # there, hidden
    receiver.post(b"not json")
    receiver.post(envelope(inbound()), timestamp=1)
    assert SECRET not in receiver.log.read_text()


def _first_event(trigger) -> dict:
    """The first event of `trigger`, run as the triggerer would."""
    import asyncio

    async def first():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(first())


def _wait_for_statuses(receiver, monkeypatch, message_ids, *, conn=None, **options):
    """A MessageStatusTrigger's event, run as the triggerer would (through `conn`, default
    the receiver's own); and the GETs of the messages it made to Bird meanwhile."""
    from airflow_provider_sms.triggers.message_status import MessageStatusTrigger

    monkeypatch.setenv("AIRFLOW_CONN_BIRD_PUSHED", json.dumps(conn or receiver.pushed_conn))
    before = len(receiver.sandbox.requests)
    trigger = MessageStatusTrigger(
        channel_id=receiver.sandbox.mms_channel_id,
        message_ids=message_ids,
        bird_conn_id="bird_pushed",
        poll_interval=0.2,
        end_time=time.time() + 60,
        **options,
    )

    event = _first_event(trigger)
    gets = [
        r for r in receiver.sandbox.requests[before:] if r.method == "GET" and "/messages" in r.path
    ]
    return event, gets


def _sent(receiver, count: int) -> list[dict]:
    from airflow_provider_sms.hooks.bird import BirdHook

    hook = BirdHook("bird_pushed")
    channel = receiver.sandbox.mms_channel_id
    body = {
        "receiver": {"contacts": [{"identifierValue": "+31612345678"}]},
        "body": {"type": "text", "text": {"text": "hi"}},
    }
    with hook:
        return [hook.client.send_message(channel, body) for _ in range(count)]


def test_a_status_wait_reads_pushed_statuses_and_asks_bird_nothing(receiver, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_PUSHED", json.dumps(receiver.pushed_conn))
    sent = _sent(receiver, 20)
    for message in sent:
        pushed = {**message, "status": "delivered"}
        answer = receiver.post(envelope(pushed, event="sms.outbound"), conn_id="bird_pushed")
        assert answer.status_code == 200, answer.text
    event, gets = _wait_for_statuses(receiver, monkeypatch, [m["id"] for m in sent])
    assert event["status"] == "success", event
    assert event["counts"] == {"delivered": 20}
    assert gets == []


def test_a_status_wait_without_pushes_asks_bird_after_the_fallback(receiver, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_PUSHED", json.dumps(receiver.pushed_conn))
    sent = _sent(receiver, 5)
    started = time.monotonic()
    event, gets = _wait_for_statuses(
        receiver, monkeypatch, [m["id"] for m in sent], push_fallback=1.0
    )
    assert event["status"] == "success", event
    assert gets, "the wait never asked Bird"
    assert time.monotonic() - started >= 1.0


def test_a_status_wait_the_receiver_refuses_asks_bird(receiver, monkeypatch):
    # A key the receiver does not take: it answers 401, and the wait asks Bird instead.
    conn = json.loads(json.dumps(receiver.pushed_conn))
    conn["extra"]["webhook_signing_secret"] = "not-the-receivers-key"
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_PUSHED", json.dumps(conn))
    sent = _sent(receiver, 3)
    logged = len(receiver.log.read_text())
    event, gets = _wait_for_statuses(receiver, monkeypatch, [m["id"] for m in sent], conn=conn)
    assert event["status"] == "success", event
    assert gets
    # Once refused, the receiver is not asked again (each poll would be refused alike).
    reads = [
        line
        for line in receiver.log.read_text()[logged:].splitlines()
        if "/bird/webhooks/bird_pushed/events" in line
    ]
    assert len(reads) == 1 and "401" in reads[0], reads


def test_a_status_wait_told_not_to_use_webhooks_asks_bird(receiver, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_PUSHED", json.dumps(receiver.pushed_conn))
    sent = _sent(receiver, 3)
    event, gets = _wait_for_statuses(
        receiver, monkeypatch, [m["id"] for m in sent], use_webhooks=False
    )
    assert event["status"] == "success", event
    assert gets


def test_a_reply_wait_takes_a_pushed_reply_without_reading_the_listing(receiver, monkeypatch):
    from datetime import UTC, datetime

    from airflow_provider_sms.triggers.reply import ReplyTrigger

    monkeypatch.setenv("AIRFLOW_CONN_BIRD_PUSHED", json.dumps(receiver.pushed_conn))
    channel = receiver.sandbox.mms_channel_id
    after = time.time() - 1
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    # Pushed only (the sandbox never had them): from someone else, then the awaited reply.
    for number, text in (("+31699999999", "YES"), ("+31612345678", "no"), ("+31612345678", "Yes!")):
        message = inbound(channel=channel, createdAt=now)
        message["sender"] = {"contact": {"identifierValue": number}}
        message["body"] = {"type": "text", "text": {"text": text}}
        answer = receiver.post(envelope(message), conn_id="bird_pushed")
        assert answer.status_code == 200, answer.text
    before = len(receiver.sandbox.requests)
    trigger = ReplyTrigger(
        channel_id=channel,
        from_numbers=["+31612345678"],
        after=after,
        pattern="^yes",
        bird_conn_id="bird_pushed",
        poll_interval=0.2,
        end_time=time.time() + 30,
    )

    event = _first_event(trigger)
    assert event["status"] == "success", event
    assert event["reply"]["text"] == "Yes!"
    assert [r for r in receiver.sandbox.requests[before:] if r.method == "GET"] == []
