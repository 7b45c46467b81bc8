"""ReplySensor: wait for a reply by SMS from given numbers.

Kept cheap to import (DAG files import it at parse time): the client loads when it runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_CONN_NAME, DEFAULT_PUSH_FALLBACK, compat
from airflow_provider_sms.compat import BaseSensorOperator, default_deferrable

if TYPE_CHECKING:
    from airflow.sdk import Context

# The messages of a send whose createdAt the default window is taken from (one GET each, once
# per task): a send's result lists earlier tries' messages first, then this try's in the
# order Bird answered, so the earliest is among the first.
SEND_LOOKUPS = 5
# The task state store's keys: the window's start and, between pokes and tries, where the
# reading of the channel stands ({} is the task instance's max_tries, raised by a clear: a
# cleared task starts afresh).
_AFTER_KEY = "airflow_provider_sms.reply:after:{}"
_CURSOR_KEY = "airflow_provider_sms.reply:cursor:{}"


class ReplySensor(BaseSensorOperator):
    """Wait for an inbound SMS from one of `from_numbers`, received after `after`, whose text
    matches `pattern`; returns (XCom) the reply: ``{"message_id", "from", "text",
    "received_at", "channel_id"}``, the first such message.

    ``send >> ReplySensor(task_id="wait", from_numbers=send.output, pattern=r"^\\s*yes\\b")``

    Deferrable by default: the wait runs in the triggerer
    (:class:`~airflow_provider_sms.triggers.reply.ReplyTrigger`), holding no worker slot.
    At the timeout (Airflow's ``timeout``, seconds) the task fails with
    ``AirflowSensorTimeout`` saying what it saw: counts of messages from the numbers that did
    not match, and from other numbers; the numbers masked.

    :param from_numbers: the numbers (one, a comma list or a list), or what a send operator
        returned: the recipients it sent to (templated).
    :param after: only messages received at or after this time: an aware datetime, an RFC
        3339 string or a UNIX time (templated). Default: when `from_numbers` is what a send
        returned, that send (the createdAt of the earliest of the first
        :data:`SEND_LOOKUPS` messages its result names); otherwise the start of this task's
        first try. Kept in the task's state store, so that a retry waits over the same window
        (a cleared task starts a new one).
    :param pattern: a regular expression the text must match (``re.search``,
        case-insensitive; templated); default any text.
    :param channel_id: the channel the reply comes in on; default the connection's.
    :param bird_conn_id: the Bird connection id.
    :param default_region: region for numbers written without a country code.
    :param deferrable: wait in the triggerer rather than on a worker; default Airflow's
        ``[operators] default_deferrable`` (False unless the deployment sets it).
    :param poll_interval: seconds between two looks; Airflow's ``poke_interval`` is accepted.
    :param use_webhooks: when deferred, read the inbound messages Bird pushed to the webhook
        receiver (docs/webhooks.md), and ask Bird itself only every `push_fallback` seconds;
        default: when the connection has a ``webhook_signing_secret``.
    :param push_fallback: with webhooks, seconds between two looks at Bird itself (default
        120), so that a missed webhook delays a reply by at most this much.
    """

    template_fields: Sequence[str] = (
        "from_numbers",
        "after",
        "pattern",
        "channel_id",
        "bird_conn_id",
    )
    ui_color = "#e2f1fd"

    def __init__(
        self,
        *,
        from_numbers: Any,
        after: Any = None,
        pattern: str | None = None,
        channel_id: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        default_region: str | None = None,
        deferrable: bool | None = None,
        poll_interval: float | timedelta | None = None,
        use_webhooks: bool | None = None,
        push_fallback: float = DEFAULT_PUSH_FALLBACK,
        **kwargs: Any,
    ):
        poke_interval = kwargs.pop("poke_interval", None)
        interval = poll_interval if poll_interval is not None else poke_interval
        super().__init__(poke_interval=10.0 if interval is None else interval, **kwargs)
        self.from_numbers = from_numbers
        self.after = after
        self.pattern = pattern
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.default_region = default_region
        self.deferrable = default_deferrable(deferrable)
        if use_webhooks:
            compat.require("use_webhooks")
        self.use_webhooks = use_webhooks
        self.push_fallback = push_fallback
        interval = self.poke_interval
        self.poll_interval = (
            interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
        )

    def _resolve(self, context: Context):
        """(channel, filter, after): checked before any request; bad input fails for good."""
        from airflow_provider_sms.bird.errors import BirdError, InvalidMessageError
        from airflow_provider_sms.compat import AirflowFailException
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.inbound.replies import moment, wanted_replies

        try:
            wanted = wanted_replies(
                self.from_numbers, self.pattern, default_region=self.default_region
            )
            after = None if self.after is None else moment(self.after)
            hook = BirdHook(self.bird_conn_id)
            channel = hook.channel_id(self.channel_id)
        except (InvalidMessageError, BirdError) as exc:
            raise AirflowFailException(f"ReplySensor: {exc}") from None
        if after is None:
            after = self._default_after(context, hook, channel)
        return channel, wanted, after

    def _default_after(self, context: Context, hook, channel: str) -> float:
        """The window's start when `after` is not given: the send's, or this task's first
        try's; read back from the task's state store by later pokes and tries."""
        from airflow_provider_sms.bird.errors import BirdError
        from airflow_provider_sms.bird.listing import timestamp
        from airflow_provider_sms.outbound.result import SendResult, is_send_result

        store, key = self._store(context, _AFTER_KEY)
        kept = store.get(key) if store is not None else None
        if isinstance(kept, int | float) and not isinstance(kept, bool):
            return float(kept)
        ids = []
        if is_send_result(self.from_numbers):
            ids = SendResult.read(self.from_numbers, "from_numbers").message_ids(SEND_LOOKUPS)
        created = []
        for message_id in ids:
            try:
                stamp = timestamp(hook.get_message(channel, message_id).get("createdAt"))
            except BirdError as exc:
                if exc.retryable:
                    raise
                self.log.warning("Could not read when message %s was sent: %s", message_id, exc)
                continue
            if stamp is not None:
                created.append(stamp)
        if created:
            after = min(created)
            self.log.info("Waiting for replies sent since the send, at %s", _iso(after))
        else:
            ti = context.get("ti")
            start = getattr(ti, "start_date", None)
            after = start.timestamp() if start is not None else time.time()
            if ids:
                self.log.warning(
                    "The send's messages could not be read: waiting for replies sent since "
                    "this task started, at %s",
                    _iso(after),
                )
        if store is not None:
            store.set(key, after)
        return after

    @staticmethod
    def _store(context: Context, key: str):
        """The task's state store (None on an Airflow without one) and `key` for this run
        of the task instance since its last clear."""
        from airflow_provider_sms.compat import task_state_store
        from airflow_provider_sms.outbound.ledger import max_tries_of

        return task_state_store(context), key.format(max_tries_of(context.get("ti")))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_sms.redaction import mask_phone
        from airflow_provider_sms.triggers.reply import ReplyTrigger

        channel, wanted, after = self._resolve(context)
        numbers = sorted(wanted.from_numbers)
        self.log.info(
            "Waiting, in the triggerer, for a reply from %s on channel %s",
            ", ".join(mask_phone(n) for n in numbers[:5])
            + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else ""),
            channel,
        )
        self.defer(
            trigger=ReplyTrigger(
                channel_id=channel,
                from_numbers=numbers,
                after=after,
                pattern=self.pattern or None,
                bird_conn_id=self.bird_conn_id,
                poll_interval=self.poll_interval,
                end_time=time.time() + self.timeout,
                use_webhooks=self.use_webhooks,
                push_fallback=self.push_fallback,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict:
        from airflow_provider_sms.compat import AirflowFailException, AirflowSensorTimeout

        status = event.get("status")
        if status == "success":
            return self._done(event["reply"])
        if status == "timeout":
            raise AirflowSensorTimeout(f"ReplySensor: {event.get('text')}")
        raise AirflowFailException(f"ReplySensor: {event.get('error', event)}")

    def _done(self, reply: dict) -> dict:
        from airflow_provider_sms.redaction import mask_phone

        self.log.info(
            "Reply %s from %s received at %s",
            reply.get("message_id"),
            mask_phone(reply.get("from") or ""),
            reply.get("received_at"),
        )
        return reply

    def poke(self, context: Context):
        from airflow_provider_sms.bird.errors import BirdError
        from airflow_provider_sms.bird.incoming import Cursor
        from airflow_provider_sms.compat import PokeReturnValue
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.inbound.replies import Seen, look_for_reply

        channel, wanted, after = self._resolve(context)
        # Each poke goes on where the last one stopped (a poke reads a bounded number of
        # pages: see bird.incoming.MAX_PAGES), so a poke costs little once the window is read.
        store, key = self._store(context, _CURSOR_KEY)
        kept = Cursor.from_json(store.get(key)) if store is not None else None
        cursor = kept or getattr(self, "_cursor", None) or Cursor.since(after)
        seen = getattr(self, "_seen", None) or Seen()
        try:
            with BirdHook(self.bird_conn_id, pool_size=2) as hook:
                reply, moved = look_for_reply(hook, channel, cursor, wanted, seen)
        except BirdError as exc:
            if not exc.retryable:
                raise
            self.log.warning("Could not look for replies; trying again later: %s", exc)
            return False
        if reply is None:
            self._cursor, self._seen = moved, seen
            if store is not None and moved != cursor:
                store.set(key, moved.to_json())
            self.log.info("Not yet: %s", seen.describe(wanted))
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._done(reply))


def _iso(moment: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
