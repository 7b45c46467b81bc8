"""Webhook deliveries: Bird's side of a webhook, sent from threads of their own so that no
request of the sandbox waits for one.

A ticker thread asks the backend, every :data:`TICK`, for the events that happened since its
last pass (:meth:`.webhooks.WebhookOperations.publish_webhook_events`), turns each event and
subscription into a :class:`Delivery`, and moves retries that came due back into line. Each
URL has a small pool of workers (up to :data:`WORKERS_PER_URL`), so a slow endpoint holds up
only its own deliveries. The first attempts of one object's events for one subscription (a
message's statuses) are sent one after the other, in order: the next waits until the one
before is answered or has failed. Retries are not held in that order.

Each attempt is signed as Bird signs (:func:`signature`) with a fresh timestamp, and recorded
(:meth:`WebhookDeliveries.records`): every attempt, every withheld delivery, whatever its end.
The ``webhook_*`` faults (:mod:`.faults`) are taken one per attempt, in the order queued. The
settings (:mod:`.settings`, ``webhook_*``) are read where they apply: the envelope when an
event is turned into deliveries, the rest when an attempt is made.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import http.client
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .catalogue import WORKSPACE_ID
from .faults import DUPLICATE_COPIES, STALE_SECONDS, Fault
from .statuses import timestamp
from .webhooks import SERVICE

if TYPE_CHECKING:
    from .webhooks import Subscription, WebhookEvent

SIGNATURE_HEADER = "messagebird-signature"
TIMESTAMP_HEADER = "messagebird-request-timestamp"
# Seconds between the ticker's passes: how late, at most, a status change is noticed.
TICK = 0.02
WORKERS_PER_URL = 8
# Seconds a worker with nothing to send waits for more before it ends.
IDLE_WORKER = 1.0
# Of an endpoint's answer, only the status counts; this much of its body is read.
MAX_ANSWER_BYTES = 64 * 1024
_USER_AGENT = "BirdSandbox/1.0 (webhooks)"
_WITHHELD = "withheld: webhook_deliveries is paused"

log = logging.getLogger(__name__)


def signature(signing_key: str, stamp: str, url: str, body: bytes) -> str:
    """Bird's ``messagebird-signature``: base64 of HMAC-SHA256 keyed with the subscription's
    signing key, over ``"{timestamp}\\n{url}\\n"`` and the SHA-256 digest of the raw body."""
    signed = f"{stamp}\n{url}\n".encode() + hashlib.sha256(body).digest()
    return base64.b64encode(
        hmac.new(signing_key.encode(), signed, hashlib.sha256).digest()
    ).decode()


def envelope(shape: str, event: str, payload: dict, subscription_id: str) -> dict:
    """The JSON a delivery posts, by the ``webhook_envelope`` setting. Bird does not document
    the body around the object [I]: ``envelope`` is the shape integrations show, ``bare`` the
    object alone, ``extended`` the envelope with fields a receiver does not know (the attempt,
    ``deliveryAttempt``, is added to each attempt's body)."""
    if shape == "bare":
        return payload
    document: dict[str, Any] = {"service": SERVICE, "event": event, "payload": payload}
    if shape == "extended":
        document["version"] = 2
        document["meta"] = {
            "deliveryId": str(uuid.uuid4()),
            "subscriptionId": subscription_id,
            "workspaceId": WORKSPACE_ID,
            "publishedAt": timestamp(),
        }
    return document


@dataclass(eq=False)
class Delivery:
    """One event for one subscription, from its first attempt to its last."""

    event: str
    subscription: Subscription
    id_field: str
    object_id: Any
    document: Any
    generation: int
    per_attempt: bool  # the body names its attempt (the extended envelope)
    attempt: int = 1
    # Its first attempt keeps its place among its object's events (see the module's doc).
    in_order: bool = True
    # Sent even while deliveries are paused (it was flushed).
    flushed: bool = False
    queued_at: float = 0.0
    _body: bytes | None = field(default=None, repr=False)

    @property
    def order_key(self) -> tuple[str, Any]:
        return self.subscription.id, self.object_id

    def body(self) -> bytes:
        """The same bytes for every attempt, but for the attempt an extended body names."""
        if self.per_attempt:
            return _dumps({**self.document, "deliveryAttempt": self.attempt})
        if self._body is None:
            self._body = _dumps(self.document)
        return self._body


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class _Connection:
    """A worker's keep-alive connection to its URL, opened when first needed and again after
    the endpoint closes it."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._host, self._port = parts.hostname, parts.port
        https = parts.scheme == "https"
        self._kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
        self._open: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
        """(the status answered, "") or (None, what went wrong: no connection, a timeout, a
        broken answer). A kept connection the endpoint has closed meanwhile is opened again
        once, as any HTTP client does: the request never reached it."""
        while True:
            reused = self._open is not None
            if self._open is None:
                self._open = self._kind(self._host, self._port, timeout=timeout)
            elif self._open.sock is not None:
                self._open.sock.settimeout(timeout)
            try:
                self._open.request("POST", self._target, body=body, headers=headers)
                answer = self._open.getresponse()
                unread = len(answer.read(MAX_ANSWER_BYTES + 1)) > MAX_ANSWER_BYTES
                if answer.will_close or unread:
                    self.close()
                return answer.status, ""
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                # RemoteDisconnected is a ConnectionResetError.
                if not (reused and isinstance(exc, ConnectionResetError | BrokenPipeError)):
                    return None, f"{type(exc).__name__}: {exc}".rstrip(": ")

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None


class _Endpoint:
    """One URL's deliveries ready to be attempted, and its workers."""

    def __init__(self, lock: threading.Lock):
        self.ready: deque[Delivery] = deque()
        self.has_work = threading.Condition(lock)
        self.workers = 0
        self.busy = 0


class WebhookDeliveries:
    """The deliveries of a backend's webhook events (see the module's doc). Thread-safe; its
    threads start with the first subscription (:meth:`start`) and end with :meth:`close`."""

    def __init__(self, backend: Any, generation: int):
        self._backend = backend  # its settings, its clock and publish_webhook_events
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # Events the backend's passes handed over, as (generation, events): appended under
        # the backend's lock, so in the order they happened.
        self._incoming: deque[tuple[int, list[WebhookEvent]]] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None
        self._sequence = itertools.count()
        self._passes_started = self._passes_done = 0
        self._endpoints: dict[str, _Endpoint] = {}
        with self._lock:
            self._reset_locked(generation)

    def _reset_locked(self, generation: int) -> None:
        self._generation = generation
        for endpoint in self._endpoints.values():  # their workers end, idle
            endpoint.ready.clear()
            endpoint.has_work.notify_all()
        self._endpoints = {}
        # First attempts waiting for the one before them, by Delivery.order_key.
        self._waiting: dict[tuple, deque[Delivery]] = {}
        self._retries: list[tuple[float, int, Delivery]] = []  # a heap, by monotonic time
        self._withheld: list[Delivery] = []
        self._records: list[dict] = []
        self._faults: deque[list] = deque()  # [kind, attempts left]
        self._outstanding = 0  # deliveries queued, in flight or waiting for a retry
        self._incoming.clear()
        self._changed.notify_all()

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._ticker is not None and self._ticker.is_alive():
                return
            self._stopping.clear()
            self._ticker = threading.Thread(
                target=self._tick, name="bird-sandbox-webhooks", daemon=True
            )
            self._ticker.start()

    def close(self) -> None:
        """Stop the ticker and the workers (what is queued is not sent)."""
        self._stopping.set()
        self._wake.set()
        with self._lock:
            ticker = self._ticker
            for endpoint in self._endpoints.values():
                endpoint.has_work.notify_all()
        if ticker is not None:
            ticker.join(timeout=5)

    def reset(self, generation: int) -> None:
        """Forget deliveries, records, retries and faults; events of an earlier generation
        (the backend's, before its reset) are dropped wherever they are."""
        with self._lock:
            self._reset_locked(generation)

    # what the backend and the sandbox call -------------------------------------------------

    def take(self, events: list[WebhookEvent], generation: int) -> None:
        """Events of one pass, in the order they happened (called under the backend's lock:
        only appends)."""
        self._incoming.append((generation, events))

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append([fault.kind, fault.count])

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def flush(self) -> int:
        """Send the withheld deliveries now (in the order they were withheld, even while
        deliveries are paused); how many."""
        now = time.time()
        with self._lock:
            withheld, self._withheld = self._withheld, []
            for delivery in withheld:
                delivery.flushed, delivery.in_order, delivery.queued_at = True, True, now
                self._outstanding += 1
                self._queue_in_order_locked(delivery)
        return len(withheld)

    def records(self) -> list[dict]:
        """Every attempt, and every delivery withheld, in the order they ended."""
        with self._lock:
            return [dict(record) for record in self._records]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until the events that happened by now are delivered: none queued, in flight
        or waiting for a retry (withheld ones aside); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._ticker is None:
                return True  # no subscription was ever made
            goal = self._passes_started + 1  # a pass that starts after this call
        self._wake.set()
        with self._lock:
            while self._passes_done < goal or self._outstanding:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, TICK))
            return True

    # the ticker --------------------------------------------------------------------------

    def _tick(self) -> None:
        while not self._stopping.is_set():
            try:
                self._pass()
            except Exception:  # a sandbox bug must not end the deliveries
                log.exception("Bird sandbox: webhook pass failed")
            self._wake.wait(TICK)
            self._wake.clear()

    def _pass(self) -> None:
        with self._lock:
            self._passes_started += 1
            this_pass = self._passes_started
        self._backend.publish_webhook_events()
        shape = self._backend.webhook_envelope
        deliveries = []
        while self._incoming:
            generation, events = self._incoming.popleft()
            for event in events:
                object_id = event.payload.get("id")
                for subscription in event.subscriptions:
                    document = envelope(shape, event.name, event.payload, subscription.id)
                    deliveries.append(
                        Delivery(
                            event.name,
                            subscription,
                            event.id_field,
                            object_id,
                            document,
                            generation,
                            per_attempt=shape == "extended",
                        )
                    )
        now, clock = time.time(), time.monotonic()
        with self._lock:
            for delivery in deliveries:
                if delivery.generation == self._generation:
                    delivery.queued_at = now
                    self._outstanding += 1
                    self._queue_in_order_locked(delivery)
            while self._retries and self._retries[0][0] <= clock:
                delivery = heapq.heappop(self._retries)[2]
                delivery.queued_at = now
                self._ready_locked(delivery)
            self._passes_done = this_pass
            self._changed.notify_all()

    # queues ------------------------------------------------------------------------------

    def _queue_in_order_locked(self, delivery: Delivery) -> None:
        waiting = self._waiting.get(delivery.order_key)
        if waiting is None:
            self._waiting[delivery.order_key] = deque()
            self._ready_locked(delivery)
        else:
            waiting.append(delivery)

    def _next_in_order_locked(self, delivery: Delivery) -> None:
        """The first attempt of `delivery` has ended: the next of its object's events goes."""
        delivery.in_order = False
        waiting = self._waiting.get(delivery.order_key)
        if waiting:
            self._ready_locked(waiting.popleft())
        else:
            self._waiting.pop(delivery.order_key, None)

    def _ready_locked(self, delivery: Delivery) -> None:
        url = delivery.subscription.url
        endpoint = self._endpoints.get(url)
        if endpoint is None:
            endpoint = self._endpoints[url] = _Endpoint(self._lock)
        endpoint.ready.append(delivery)
        idle = endpoint.workers - endpoint.busy
        if idle < len(endpoint.ready) and endpoint.workers < WORKERS_PER_URL:
            endpoint.workers += 1
            threading.Thread(
                target=self._work, args=(endpoint, url), name="bird-sandbox-webhook", daemon=True
            ).start()
        endpoint.has_work.notify()

    # the workers -------------------------------------------------------------------------

    def _work(self, endpoint: _Endpoint, url: str) -> None:
        connection = _Connection(url)
        try:
            while True:
                with self._lock:
                    while not endpoint.ready and not self._stopping.is_set():
                        if not endpoint.has_work.wait(IDLE_WORKER):
                            break
                    if self._stopping.is_set() or not endpoint.ready:
                        endpoint.workers -= 1
                        return
                    delivery = endpoint.ready.popleft()
                    endpoint.busy += 1
                try:
                    self._attempt(delivery, connection)
                except Exception:  # a sandbox bug: recorded, and the delivery ends
                    log.exception("Bird sandbox: webhook delivery failed")
                    error = self._record(delivery, None, None, "sandbox error")
                    self._end(delivery, [error], None)
                finally:
                    with self._lock:
                        endpoint.busy -= 1
        finally:
            connection.close()

    def _attempt(self, delivery: Delivery, connection: _Connection) -> None:
        backend = self._backend
        if backend.webhook_deliveries == "paused" and not delivery.flushed:
            self._end(delivery, [self._record(delivery, None, None, _WITHHELD)], None)
            return
        delivery.flushed = False
        fault = self._take_fault()
        body = delivery.body()
        records = []
        for _ in range(DUPLICATE_COPIES if fault == "webhook_duplicate" else 1):
            if delivery.generation != self._generation:
                return  # reset() meanwhile: nothing more goes out
            headers = self._headers(delivery, body, fault)
            sent_at = time.time()
            status, error = connection.post(body, headers, backend.webhook_timeout)
            answered_at = time.time()
            records.append(
                self._record(delivery, body, status, error, (sent_at, answered_at), fault)
            )
        delays = backend.webhook_retry_delays
        delivered = any(r["status"] is not None and 200 <= r["status"] < 300 for r in records)
        retry = (
            None if delivered or delivery.attempt > len(delays) else delays[delivery.attempt - 1]
        )
        self._end(delivery, records, retry)

    def _headers(self, delivery: Delivery, body: bytes, fault: str | None) -> dict[str, str]:
        stamp = int(time.time()) - (STALE_SECONDS if fault == "webhook_stale_timestamp" else 0)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            TIMESTAMP_HEADER: str(stamp),
        }
        key = delivery.subscription.signing_key
        if key is not None:  # Bird's signing key is optional: without one, nothing to sign with
            if fault == "webhook_bad_signature":
                key = "not-" + key
            url = delivery.subscription.url
            headers[SIGNATURE_HEADER] = signature(key, str(stamp), url, body)
        return headers

    def _take_fault(self) -> str | None:
        with self._lock:
            if not self._faults:
                return None
            entry = self._faults[0]
            entry[1] -= 1
            if entry[1] <= 0:
                self._faults.popleft()
            return entry[0]

    @staticmethod
    def _record(
        delivery: Delivery,
        body: bytes | None,
        status: int | None,
        error: str,
        sent: tuple[float, float] | None = None,
        fault: str | None = None,
    ) -> dict:
        """An attempt as the records show it: `sent` is when it was sent and answered (None:
        it was not sent), `body` what was sent."""
        sent_at, answered_at = sent or (None, None)
        return {
            "subscription_id": delivery.subscription.id,
            "event": delivery.event,
            "url": delivery.subscription.url,
            "attempt": delivery.attempt,
            "status": status,
            "error": error or None,
            "queued_at": delivery.queued_at,
            "sent_at": sent_at,
            "answered_at": answered_at,
            delivery.id_field: delivery.object_id,
            "body_sha256": None if body is None else hashlib.sha256(body).hexdigest(),
            "fault": fault,
            "withheld": error == _WITHHELD,
            "retry_at": None,
        }

    def _end(self, delivery: Delivery, records: list[dict], retry: float | None) -> None:
        """Record an attempt (or a withheld delivery) and settle what comes next: the next
        event in order, a retry after `retry` seconds, or the end of the delivery."""
        with self._lock:
            if delivery.generation != self._generation:
                return  # reset() while it was out
            if retry is not None:
                for record in records:
                    record["retry_at"] = time.time() + retry
            self._records.extend(records)
            if delivery.in_order:
                self._next_in_order_locked(delivery)
            if records[-1]["withheld"]:
                self._withheld.append(delivery)
            if retry is not None:
                delivery.attempt += 1
                due = time.monotonic() + retry
                heapq.heappush(self._retries, (due, next(self._sequence), delivery))
            else:
                self._outstanding -= 1
                self._changed.notify_all()
