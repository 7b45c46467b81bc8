"""Reading Bird's pushed events back: what the webhook receiver in Airflow's API server kept
for a channel (``GET /bird/webhooks/{conn_id}/events``), read by a wait in place of Bird's
own listings. Each read is signed with the connection's webhook signing key."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import requests

from airflow_provider_sms.bird.errors import BirdConnectionError, BirdError, error_for_status
from airflow_provider_sms.bird.webhooks import (
    MAX_READ_EVENTS,
    READ_SIGNATURE_HEADER,
    READ_TIMESTAMP_HEADER,
    read_signature,
)
from airflow_provider_sms.compat import RECEIVES_WEBHOOKS

# Pages one read takes at most, so that a read ends; the next goes on from there.
_MAX_PAGES = 50
_TIMEOUT = (5.0, 30.0)


class PushedEvents:
    """The events of one kind on one channel kept by the receiver, read on from where the
    last read ended; an event read twice (near the cursor) is given once."""

    def __init__(
        self,
        *,
        url: str,
        conn_id: str,
        signing_key: str,
        channel_id: str,
        event: str,
        since: float = 0.0,
    ):
        self.url = url
        self.conn_id = conn_id
        self._key = signing_key
        self.channel_id = channel_id
        self.event = event
        self.since = since
        self.cursor = 0
        # Key -> row of the events read past the cursor (read again until it passes them).
        self._seen: dict[str, int] = {}
        self._session = requests.Session()

    def read(self) -> list[dict]:
        """The payloads kept since the last read, oldest first. The pages are read to the end
        of what is kept; the next read starts from the last row every earlier row of which
        had settled (`store.SETTLE`), and drops by key what it gave already."""
        found: list[dict] = []
        after = settled = self.cursor
        settling = True  # every row so far had settled: `settled` may move on
        for _ in range(_MAX_PAGES):
            answer = self._page(after)
            events = answer.get("events")
            cursor = answer.get("cursor")
            if not isinstance(events, list) or not isinstance(cursor, int):
                raise BirdError("the webhook receiver's answer is not a page of events")
            for event in events:
                key = event.get("key")
                if key not in self._seen and isinstance(event.get("payload"), dict):
                    found.append(event["payload"])
                self._seen[key] = event.get("id", 0)
            if settling:
                settled = max(settled, cursor)
                settling = not events or cursor == events[-1].get("id")
            if len(events) < MAX_READ_EVENTS:
                break
            after = events[-1].get("id", after)
        self.cursor = settled
        self._seen = {key: row for key, row in self._seen.items() if row > settled}
        return found

    def _page(self, after: int) -> dict:
        query = urlencode(
            {
                "channel_id": self.channel_id,
                "event": self.event,
                "after": after,
                "since": int(self.since),
                "limit": MAX_READ_EVENTS,
            }
        )
        stamp = str(int(time.time()))
        headers = {
            READ_TIMESTAMP_HEADER: stamp,
            READ_SIGNATURE_HEADER: read_signature(self._key, stamp, self.conn_id, query),
        }
        try:
            response = self._session.get(
                f"{self.url}/events?{query}", headers=headers, timeout=_TIMEOUT
            )
        except requests.RequestException as exc:
            raise BirdConnectionError(
                f"could not reach the webhook receiver at {self.url}: {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise error_for_status(response.status_code)(
                f"the webhook receiver at {self.url} answered", status=response.status_code
            )
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        return answer if isinstance(answer, dict) else {}

    def close(self) -> None:
        self._session.close()


class PushedWait:
    """A wait's side of pushed events: whether it reads them (`use_webhooks`; None: when the
    connection has a signing key), what was pushed since its last read, and when Bird is to
    be asked after all: no relevant push (`heard`) for `push_fallback` seconds, or a
    receiver that cannot be read."""

    def __init__(
        self,
        *,
        use_webhooks: bool | None,
        push_fallback: float,
        conn_id: str,
        channel_id: str,
        event: str,
        since: float,
        log: Any,
    ):
        self.use_webhooks = use_webhooks
        self.push_fallback = push_fallback
        self._where = {"conn_id": conn_id, "channel_id": channel_id, "event": event}
        self._since = since
        self._log = log
        self._events: PushedEvents | None = None
        self._last = time.monotonic()

    def read(self, hook: Any) -> list[dict] | None:
        """The payloads pushed since the last read; None when pushes are off or cannot be
        read (the wait then asks Bird)."""
        if self.use_webhooks is None:
            # Where no receiver can run, use_webhooks=True fails when the DAG is parsed.
            self.use_webhooks = RECEIVES_WEBHOOKS and bool(hook.settings.webhook_signing_secret)
        if not self.use_webhooks:
            return None
        if self._events is None:
            self._events = PushedEvents(
                url=hook.webhook_url(),
                signing_key=hook.settings.webhook_signing_secret or "",
                since=self._since,
                **self._where,
            )
            self._log.info("Reading the events Bird pushes to %s", self._events.url)
        try:
            return self._events.read()
        except BirdError as exc:
            if exc.retryable:
                self._log.warning("Could not read the pushed events (%s): asking Bird", exc)
            else:
                # Refused (a key the receiver does not take): not worth asking again.
                self.use_webhooks = False
                self._log.warning(
                    "The webhook receiver refused to give the pushed events (%s): asking Bird "
                    "from now on",
                    exc,
                )
            return None

    def heard(self) -> None:
        """A push the wait was waiting for came: Bird is not asked for another bound."""
        self._last = time.monotonic()

    def bird_due(self) -> bool:
        """Whether `push_fallback` seconds passed since the last push heard (or Bird asked);
        if so, the clock starts again."""
        now = time.monotonic()
        if now - self._last < self.push_fallback:
            return False
        self._last = now
        return True
