"""ReplyTrigger: waits in the triggerer for a reply from given numbers (ReplySensor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_CONN_NAME, DEFAULT_PUSH_FALLBACK
from airflow_provider_sms.compat import TriggerEvent
from airflow_provider_sms.triggers.polling import MaskedEvent, PollingTrigger

if TYPE_CHECKING:
    import threading

    from airflow_provider_sms.hooks.bird import BirdHook


class ReplyTrigger(PollingTrigger):
    """Polls `channel_id` every `poll_interval` seconds for an inbound message from one of
    `from_numbers` (E.164) created at or after `after` (UNIX time) whose text matches
    `pattern`, until `end_time` (UNIX time).

    Yields one event: ``{"status": "success", "reply": {...}}`` (the message as
    ``bird.objects.inbound_message`` shapes it), ``{"status": "timeout", "seen": {...}}``
    (counts of the other messages it looked at), or ``{"status": "error", "error": ...}``.
    Each poll reads at most ``bird.incoming.MAX_PAGES`` pages, going on where the last one
    stopped. Restarted, it looks again from `after`, so it finds the same first reply.

    :param channel_id: the Bird channel replies come in on.
    :param from_numbers: who may reply (E.164 numbers).
    :param after: the earliest reply that counts, a UNIX time.
    :param pattern: a regular expression the reply's text must match (``re.search``; None:
        any text).
    :param bird_conn_id: the Bird connection id.
    :param poll_interval: seconds between polls (default 10).
    :param end_time: when to give up, a UNIX time (None: never).
    :param use_webhooks: read the inbound messages Bird pushed to the webhook receiver, and
        ask Bird only every `push_fallback` seconds (None: when the connection has a
        ``webhook_signing_secret``).
    :param push_fallback: with webhooks, seconds between two looks at Bird itself, so that
        a missed webhook delays a reply by at most this much.
    """

    fields = (
        "channel_id",
        "from_numbers",
        "after",
        "pattern",
        "bird_conn_id",
        "poll_interval",
        "end_time",
        "use_webhooks",
        "push_fallback",
    )
    polling = "look for replies"

    def __init__(
        self,
        *,
        channel_id: str,
        from_numbers: Sequence[str],
        after: float,
        pattern: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        poll_interval: float = 10.0,
        end_time: float | None = None,
        use_webhooks: bool | None = None,
        push_fallback: float = DEFAULT_PUSH_FALLBACK,
    ):
        super().__init__()
        self.channel_id = channel_id
        self.from_numbers = list(from_numbers)
        self.after = after
        self.pattern = pattern
        self.bird_conn_id = bird_conn_id
        self.poll_interval = poll_interval
        self.end_time = end_time
        self.use_webhooks = use_webhooks
        self.push_fallback = push_fallback

    async def start(self) -> TriggerEvent | None:
        from airflow_provider_sms.bird.errors import InvalidMessageError
        from airflow_provider_sms.bird.incoming import Cursor
        from airflow_provider_sms.inbound.replies import Seen, wanted_replies

        try:
            self._wanted = wanted_replies(self.from_numbers, self.pattern)
        except InvalidMessageError as exc:
            return self.lasting_error(exc)
        self._cursor, self._seen = Cursor.since(self.after), Seen()
        self._pushes = self.pushed_wait("sms.inbound", since=self.after)
        return None

    def poll(self, hook: BirdHook, cancel: threading.Event) -> dict | None:
        from airflow_provider_sms.inbound.replies import look_for_reply, pushed_reply

        pushed = self._pushes.read(hook)
        if pushed is not None:
            reply = pushed_reply(pushed, self.after, self._wanted, self._seen)
            # Bird itself is read now and then all the same: a webhook may be missed.
            if reply is not None or not self._pushes.bird_due():
                return reply
        reply, self._cursor = look_for_reply(
            hook, self.channel_id, self._cursor, self._wanted, self._seen, cancel=cancel
        )
        return reply

    async def conclude(self, found: dict | None, error: Any, ended: bool) -> TriggerEvent | None:
        if found is not None:
            return MaskedEvent({"status": "success", "reply": found})
        if ended:
            seen = self._seen
            return TriggerEvent(
                {"status": "timeout", "seen": seen.as_dict(), "text": seen.describe(self._wanted)}
            )
        return None

    def lasting_error(self, error: Exception) -> TriggerEvent:
        return TriggerEvent({"status": "error", "error": str(error)})
