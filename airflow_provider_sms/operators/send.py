"""What the three send operators share: arguments, templated fields, and `execute()`.

Kept cheap to import (DAG files import the operators at parse time): `message`, the HTTP client,
`requests` and `phonenumbers` load inside `execute()`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_sms import DEFAULT_CONN_NAME
from airflow_provider_sms.compat import BaseOperator

# What a send is, shared with the hook's verbs (cheap: its heavy imports are in functions).
from airflow_provider_sms.outbound.sends import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_SEGMENTS,
    DEFAULT_XCOM_ENTRIES_LIMIT,
    MAX_CONCURRENCY,
    Send,
    check_max_concurrency,
)

if TYPE_CHECKING:
    from datetime import timedelta

    from airflow.sdk import Context

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_SEGMENTS",
    "DEFAULT_XCOM_ENTRIES_LIMIT",
    "MAX_CONCURRENCY",
    "BirdSendOperator",
]


class BirdSendOperator(BaseOperator):
    """What SMS, MMS and template sends share: recipients, optional fields, sending, results.

    Each kind (`send_kind`, in ``outbound.sends``) says what its messages are made of and
    checks; the hook's TaskFlow verbs send the same kinds.

    :param recipients: a phone number, a list of them, or a comma-separated string (templated).
        Normalised to E.164; duplicates dropped.
    :param channel_id: the Bird channel; defaults to the connection's ``channel_id``.
    :param bird_conn_id: the Bird connection id.
    :param reference: a reference stored on each message (templated). By default each
        message gets a deterministic one (see ``message.outgoing.default_reference``), the
        same on every try until a clear, to reconcile messages in Bird.
    :param tags: up to 10 Bird tags (templated).
    :param default_region: region (e.g. ``"NL"``) for numbers written without a country code.
    :param max_concurrency: requests in flight at once (default 50, at most 200).
    :param allow_premium_numbers: send to premium-rate and shared-cost numbers too; refused
        by default, as what SMS pumping (toll fraud) sends to.
    :param allowed_regions: ISO 3166 region codes (e.g. ``["NL", "BE"]``); recipients in
        other regions are refused before anything is sent.
    :param fail_on_partial_failure: fail the task when some recipients fail (default); if
        False, succeed and return the failures alongside the accepted messages.
    :param use_batch_api: send through Bird's batch endpoint, up to 100 messages a request.
    :param check_batch_results: with ``use_batch_api``, list each batch afterwards and fail
        for the messages Bird rejected during its asynchronous validation.
    :param xcom_entries_limit: the most recipients listed one by one in the XCom.
    :param max_messages: the most messages this send may make, counted after
        de-duplication and ``exclude_recipients``; more fails the task before any request,
        naming both numbers. Default: the connection's ``max_messages`` extra (no cap
        without one).
    :param max_total_segments: the most SMS segments the whole send may take (messages
        times segments per message; an MMS counts as one, and so does a template message,
        whose text Bird renders); default the connection's ``max_total_segments`` extra.
    :param dry_run: render and check everything, send nothing (no request to Bird at all),
        log the request bodies (numbers masked) and return what would be sent.
    :param validity: whole seconds (an int, a string of digits, or a ``timedelta``) Bird keeps
        trying to deliver each message (``validity``; templated). Bird's default is 36 hours,
        10 minutes on 2FA channels.
    :param ignore_quiet_hours: send at once despite the channel's quiet hours
        (``ignoreQuietHours``).
    :param ignore_global_holdout: skip Bird's global holdout check, for transactional
        messages (``ignoreGlobalHoldout``).
    :param track_links: add Bird's web-tracking parameters to links (``enableLinkTracking``);
        needs ``short_links``.
    :param short_links: shorten links: ``"default"`` (the workspace's domain) or a bare
        domain of at most 128 characters (``shortLinks``; templated). Segment counts are then
        an upper bound.
    :param notification_url: an https webhook URL, without credentials, for this message's
        events (``notification.url``; a webhook subscription must exist; templated).
    :param extra_information: a JSON-serialisable mapping of at most 4 KB stored with each
        message (``meta.extraInformation``; templated).
    :param wait_for_delivery: after sending, wait in the triggerer (deferred, holding no
        worker slot) until Bird reports every message delivered, for up to
        `delivery_timeout` seconds, looking every `delivery_poll_interval`; the task then
        returns the final statuses (see :class:`~airflow_provider_sms.sensors.message_status.
        MessageStatusSensor`), or fails naming the failed messages.
    :param delivery_timeout: with ``wait_for_delivery``, the longest wait, in seconds
        (default an hour).
    :param delivery_poll_interval: with ``wait_for_delivery``, seconds between looks
        (default 10).
    :param send_at: when Bird sends (templated): an aware ``datetime`` or an RFC 3339 string,
        up to 35 days ahead; messages wait in Bird as ``scheduled`` (docs/scheduling.md).
    :param local_window: a pair of local times (``("09:00", "20:00")``) each recipient's
        message is held to, in the recipient's own time zone (templated; docs/scheduling.md).
    :param exclude_recipients: numbers never sent to (templated): a list, a comma-separated
        string, or ``MessageInteractionsOperator``'s result (its opt-outs); they are reported
        ``suppressed``.
    """

    template_fields: Sequence[str] = (
        "recipients",
        "exclude_recipients",
        "channel_id",
        "reference",
        "tags",
        "bird_conn_id",
        "send_at",
        "local_window",
        "validity",
        "short_links",
        "notification_url",
        "extra_information",
    )
    template_fields_renderers = {"extra_information": "json"}
    ui_color = "#fdf1e2"
    send_kind: ClassVar[type[Send]] = Send
    # A kind's own templated arguments (its content), after the shared ones, and those of
    # them the UI renders as JSON.
    content_fields: ClassVar[tuple[str, ...]] = ()
    json_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # A subclass that names its own template_fields keeps them.
        if "content_fields" in vars(cls) and "template_fields" not in vars(cls):
            cls.template_fields = (*BirdSendOperator.template_fields, *cls.content_fields)
            cls.template_fields_renderers = {
                **BirdSendOperator.template_fields_renderers,
                **dict.fromkeys(cls.json_fields, "json"),
            }

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        channel_id: str | None = None,
        bird_conn_id: str = DEFAULT_CONN_NAME,
        reference: str | None = None,
        tags: Sequence[str] | str | None = None,
        default_region: str | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        fail_on_partial_failure: bool = True,
        use_batch_api: bool = False,
        check_batch_results: bool = False,
        xcom_entries_limit: int = DEFAULT_XCOM_ENTRIES_LIMIT,
        allow_premium_numbers: bool = False,
        allowed_regions: Sequence[str] | None = None,
        dry_run: bool = False,
        wait_for_delivery: bool = False,
        delivery_timeout: float = 3600.0,
        delivery_poll_interval: float = 10.0,
        send_at: Any = None,
        local_window: Any = None,
        validity: int | timedelta | None = None,
        ignore_quiet_hours: bool | None = None,
        ignore_global_holdout: bool | None = None,
        track_links: bool | None = None,
        short_links: str | None = None,
        notification_url: str | None = None,
        extra_information: Mapping[str, Any] | None = None,
        exclude_recipients: Any = None,
        max_messages: int | None = None,
        max_total_segments: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        # Caps on what one send may cost (default: the connection's extras of these names),
        # checked in execute() once the recipients are known.
        self.max_messages = max_messages
        self.max_total_segments = max_total_segments
        # Numbers never sent to (an opt-out list, or MessageInteractionsOperator's result).
        self.exclude_recipients = exclude_recipients
        # When Bird sends (docs/scheduling.md): an aware datetime or RFC 3339 string, and/or
        # a pair of local times each recipient's message is held to, in its own time zone.
        self.send_at = send_at
        self.local_window = local_window
        # Checked in execute(), by message.options: most of them may be templated.
        self.validity = validity
        self.ignore_quiet_hours = ignore_quiet_hours
        self.ignore_global_holdout = ignore_global_holdout
        self.track_links = track_links
        self.short_links = short_links
        self.notification_url = notification_url
        self.extra_information = extra_information
        self.dry_run = dry_run
        self.wait_for_delivery = wait_for_delivery
        self.delivery_timeout = delivery_timeout
        self.delivery_poll_interval = delivery_poll_interval
        self.recipients = recipients
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.reference = reference
        self.tags = tags
        self.default_region = default_region
        check_max_concurrency(max_concurrency)
        self.max_concurrency = max_concurrency
        self.fail_on_partial_failure = fail_on_partial_failure
        self.use_batch_api = use_batch_api
        self.check_batch_results = check_batch_results
        self.xcom_entries_limit = xcom_entries_limit
        self.allow_premium_numbers = allow_premium_numbers
        self.allowed_regions = allowed_regions

    def _keep_content(self, arguments: Mapping[str, Any]) -> None:
        """Keep this kind's content arguments (`content_fields`), given as its `__init__`'s
        ``locals()``, under their own names: Airflow renders templated fields by name."""
        for name in self.content_fields:
            setattr(self, name, arguments[name])

    # -- execution -----------------------------------------------------------------------

    def execute(self, context: Context) -> list[dict] | dict:
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.outbound.result import SendResult

        send = self.send_kind.of(self, self.log)
        with BirdHook(self.bird_conn_id, pool_size=self.max_concurrency) as hook:
            result, channel_id = send.deliver(hook, context)
        if self.wait_for_delivery and not SendResult.was_dry_run(result):
            self._defer_until_delivered(channel_id, result)
        return result

    def _defer_until_delivered(self, channel_id: str, result: list[dict] | dict) -> None:
        from airflow_provider_sms.outbound.result import SendResult
        from airflow_provider_sms.triggers.message_status import defer_until_final

        message_ids, batch_ids = SendResult.read(result, "message_ids").targets()
        if not (message_ids or batch_ids):
            return  # every recipient suppressed: nothing to wait for
        defer_until_final(
            self,
            channel_id,
            message_ids,
            batch_ids,
            timeout=self.delivery_timeout,
            method_name="delivery_complete",
            poll_interval=self.delivery_poll_interval,
        )

    def delivery_complete(self, context: Context, event: dict[str, Any]) -> dict:
        """With `wait_for_delivery`: the final statuses, or the failures."""
        from airflow_provider_sms import metrics
        from airflow_provider_sms.inbound.status import conclude

        return conclude(event, self.log, tags=metrics.tags(None, self.bird_conn_id, context))
