"""Operators that send SMS, MMS and template messages through Bird.

Kept cheap to import (DAG files import it at parse time): the message model, the HTTP
client, `requests` and `phonenumbers` load inside `execute()`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_sms.hooks.bird import BirdHook

# Enough requests in flight to reach Bird's 500 POST/s with answers taking up to 100 ms.
DEFAULT_MAX_CONCURRENCY = 50
# A text needing more SMS segments than this is refused unless the task allows more: an
# accidental 30-part message costs thirty times one.
DEFAULT_MAX_SEGMENTS = 10
# Where Bird offers MMS.
MMS_REGIONS = frozenset({"US", "CA"})
# Bird takes 500 POST/s per workspace; answers taking up to 400 ms need no more in flight.
MAX_CONCURRENCY = 200
# Up to this many recipients the XCom lists one entry per recipient; above it, a summary.
DEFAULT_XCOM_ENTRIES_LIMIT = 1000


class _BirdSendOperator(BaseOperator):
    """What SMS, MMS and template sends share: recipients, optional fields, sending, results.

    Subclasses supply the message content (`_content`) and optional pre-send checks."""

    template_fields: Sequence[str] = (
        "recipients",
        "channel_id",
        "reference",
        "tags",
        "bird_conn_id",
    )
    ui_color = "#fdf1e2"
    message_kind = "message"

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        channel_id: str | None = None,
        bird_conn_id: str = "bird_default",
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
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
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
        if not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= MAX_CONCURRENCY:
            raise ValueError(
                f"max_concurrency: must be 1 to {MAX_CONCURRENCY}, got {max_concurrency!r}"
            )
        self.max_concurrency = max_concurrency
        self.fail_on_partial_failure = fail_on_partial_failure
        self.use_batch_api = use_batch_api
        self.check_batch_results = check_batch_results
        self.xcom_entries_limit = xcom_entries_limit
        self.allow_premium_numbers = allow_premium_numbers
        self.allowed_regions = allowed_regions

    # -- subclass hooks ------------------------------------------------------------------

    def _content(self) -> dict[str, dict]:
        """``{"body": ...}`` or ``{"template": ...}``; raises InvalidMessageError."""
        raise NotImplementedError

    def _check_channel(self, hook: BirdHook, channel_id: str) -> None:
        """Checks against the channel before anything is sent."""

    def _regions(self) -> tuple[Any, str]:
        """The regions recipients may be in, and why others are refused."""
        return self.allowed_regions, "not in allowed_regions"

    def _options(self) -> dict[str, Any]:
        """Further options of this kind of message for `Outgoing.build`."""
        return {}

    # -- execution -----------------------------------------------------------------------

    def execute(self, context: Context) -> list[dict] | dict:
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.model import Outgoing
        from airflow_provider_sms.operators import _delivery as delivery
        from airflow_provider_sms.operators._ledger import generation_of

        with BirdHook(self.bird_conn_id, pool_size=self.max_concurrency) as hook:
            with delivery.invalid_input(self.message_kind):
                regions, regions_note = self._regions()
                outgoing = Outgoing.build(
                    kind=self.message_kind,
                    recipients=self.recipients,
                    default_region=self.default_region,
                    channel_id=hook.channel_id(self.channel_id),
                    content=self._content(),
                    reference=self.reference,
                    tags=self.tags,
                    reference_seed=delivery.reference_seed(context),
                    allow_premium_numbers=self.allow_premium_numbers,
                    allowed_regions=regions,
                    regions_note=regions_note,
                    **self._options(),
                )
            if self.dry_run:
                # Rendered and checked; nothing is asked of Bird, not even the channel.
                return delivery.preview(outgoing, log=self.log)
            with delivery.pre_send_check():
                self._check_channel(hook, outgoing.channel_id)
            policy = delivery.SendPolicy(
                max_concurrency=self.max_concurrency,
                use_batch_api=self.use_batch_api,
                check_batch_results=self.check_batch_results,
                fail_on_partial_failure=self.fail_on_partial_failure,
                xcom_entries_limit=self.xcom_entries_limit,
            )
            result = delivery.send(
                hook,
                outgoing,
                policy,
                store=context.get("task_state_store") if context else None,
                generation=generation_of(context.get("ti") if context else None),
                log=self.log,
            )
        if self.wait_for_delivery:
            self._defer_until_delivered(outgoing.channel_id, result)
        return result

    def _defer_until_delivered(self, channel_id: str, result: list[dict] | dict) -> None:
        import time

        from airflow_provider_sms.triggers.message_status import (
            MessageStatusTrigger,
            message_targets,
        )

        message_ids, batch_ids = message_targets(result)
        self.log.info("Sent; waiting in the triggerer until Bird reports each delivered")
        self.defer(
            trigger=MessageStatusTrigger(
                channel_id=channel_id,
                message_ids=message_ids,
                batch_ids=batch_ids,
                bird_conn_id=self.bird_conn_id,
                poll_interval=self.delivery_poll_interval,
                end_time=time.time() + self.delivery_timeout,
            ),
            method_name="delivery_complete",
        )

    def delivery_complete(self, context: Context, event: dict[str, Any]) -> dict:
        """With `wait_for_delivery`: the final statuses, or the failures."""
        from airflow_provider_sms.triggers.message_status import conclude

        return conclude(event, self.log)


class SendSmsOperator(_BirdSendOperator):
    """Send an SMS to one or many recipients through Bird's Channels API.

    One Bird message per recipient, sent concurrently through one pooled session, under the
    connection's rate limit (``max_requests_per_second``).

    Returns (XCom), for up to ``xcom_entries_limit`` recipients, one entry per recipient:
    ``{"recipient", "message_id", "status"}`` where status is Bird's (``accepted``), or
    ``already_sent`` (an earlier try of this task sent it; ``message_id`` is the original),
    or ``failed`` (with ``error``; only with ``fail_on_partial_failure=False``). With
    ``use_batch_api`` entries also carry ``batch_id``, and status is ``submitted`` (Bird
    validates batch items asynchronously) unless ``check_batch_results`` lists the batches
    afterwards to fill in ``message_id`` and the real status. Above ``xcom_entries_limit``
    recipients the XCom is a summary: ``{"total", "accepted", "already_sent", "failed",
    "failures" (the first 20), "batch_ids", "entries_omitted"}`` (about 40 KB for 100,000
    recipients in batch mode, well under 1 KB otherwise).

    On Airflow 3.3+ each accepted recipient is recorded in the task state store, so a retry of
    the task sends only to the recipients not yet accepted.

    :param recipients: a phone number, a list of them, or a comma-separated string (templated).
        Normalised to E.164; duplicates dropped.
    :param text: the message text (templated).
    :param channel_id: the Bird SMS channel; defaults to the connection's ``channel_id``.
    :param bird_conn_id: the Bird connection id.
    :param reference: a reference stored on each message (templated). By default each
        message gets a deterministic one (see ``model.default_reference``), the same on
        every try, to reconcile messages in Bird.
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
    :param max_segments: the most SMS segments one message may take (default 10); a longer
        text fails before anything is sent, naming the count, the encoding and the
        characters that forced UCS-2.
    :param smart_encoding: ask Bird to replace look-alike characters (curly quotes, ...) so
        the text can stay GSM-7 (``meta.sms.smartEncoding``); segment counts shown here are
        before that replacement.
    :param dry_run: render and check everything, send nothing (no request to Bird at all),
        log the request bodies (numbers masked) and return what would be sent.
    :param wait_for_delivery: after sending, wait in the triggerer (deferred, holding no
        worker slot) until Bird reports every message delivered, for up to
        `delivery_timeout` seconds, looking every `delivery_poll_interval`; the task then
        returns the final statuses (see :class:`~airflow_provider_sms.sensors.message_status.
        MessageStatusSensor`), or fails naming the failed messages.
    """

    template_fields: Sequence[str] = (*_BirdSendOperator.template_fields, "text")
    message_kind = "SMS"

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        text: str,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        smart_encoding: bool = False,
        **kwargs: Any,
    ):
        super().__init__(recipients=recipients, **kwargs)
        self.text = text
        self.max_segments = max_segments
        self.smart_encoding = smart_encoding

    def _content(self) -> dict[str, dict]:
        from airflow_provider_sms.model import check_segments, text_body

        # The segment limit first: it says more (the count, the encoding, the culprits) than
        # the absolute bound on length that text_body applies; text_body names a wrong type.
        count = check_segments(self.text, self.max_segments) if isinstance(self.text, str) else None
        body = text_body(self.text)
        # Bird bills per segment: worth seeing before ten thousand of them go out.
        self.log.info(
            "Text of %d character(s): %d %s segment(s) per message%s",
            count.characters,
            count.segments,
            count.encoding,
            " (before Bird's smart encoding)" if self.smart_encoding else "",
        )
        return {"body": body}

    def _options(self) -> dict[str, Any]:
        return {"smart_encoding": bool(self.smart_encoding)}


class SendMmsOperator(_BirdSendOperator):
    """Send an MMS (images or files, optional text and title) through Bird.

    :param images: 1-10 image URLs, or dicts ``{"url", "alt_text"}`` (templated).
    :param files: 1-10 file URLs, or dicts ``{"url", "content_type", "filename"}`` (templated).
    :param text: optional text sent with the media (templated).
    :param title: optional MMS subject (templated).
    :param check_mms_capability: fetch the channel once and fail before sending when it
        cannot send MMS.
    :param allow_mms_outside_us_ca: Bird offers MMS to US and Canadian numbers only, so
        others are refused before anything is sent; True sends to them anyway (for when Bird
        offers more).

    Other arguments as for :class:`SendSmsOperator`.
    """

    template_fields: Sequence[str] = (
        *_BirdSendOperator.template_fields,
        "images",
        "files",
        "text",
        "title",
    )
    template_fields_renderers = {"images": "json", "files": "json"}
    message_kind = "MMS"

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        images: Any = None,
        files: Any = None,
        text: str | None = None,
        title: str | None = None,
        check_mms_capability: bool = True,
        allow_mms_outside_us_ca: bool = False,
        **kwargs: Any,
    ):
        super().__init__(recipients=recipients, **kwargs)
        self.images = images
        self.files = files
        self.text = text
        self.title = title
        self.check_mms_capability = check_mms_capability
        self.allow_mms_outside_us_ca = allow_mms_outside_us_ca

    def _regions(self) -> tuple[Any, str]:
        if self.allow_mms_outside_us_ca:
            return super()._regions()
        regions = set(MMS_REGIONS)
        if self.allowed_regions is not None:
            given = self.allowed_regions
            given = given.split(",") if isinstance(given, str) else given
            regions &= {str(r).strip().upper() for r in given}
            if not regions:
                from airflow_provider_sms.model import InvalidMessageError

                raise InvalidMessageError(
                    "allowed_regions", "includes neither US nor CA, where Bird offers MMS"
                )
        note = (
            "and Bird offers MMS to US and Canadian numbers only (allow_mms_outside_us_ca=True "
            "sends anyway)"
        )
        return sorted(regions), note

    def _content(self) -> dict[str, dict]:
        from airflow_provider_sms.model import mms_body

        return {
            "body": mms_body(images=self.images, files=self.files, text=self.text, title=self.title)
        }

    def _check_channel(self, hook: BirdHook, channel_id: str) -> None:
        if not self.check_mms_capability:
            return
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_sms.bird.channels import is_mms_capable

        channel = hook.get_channel(channel_id)
        if not is_mms_capable(channel):
            raise AirflowFailException(
                f"channel_id: channel {channel_id} ({channel.get('name', 'unnamed')}) cannot "
                "send MMS (capabilities.messaging.outgoing.mms.status is not 'active'); "
                "nothing was sent. Use an MMS-capable (US/Canada) number."
            )


class SendTemplateOperator(_BirdSendOperator):
    """Send a Bird Studio template message.

    :param project_id: the template's Studio project id (UUID, templated).
    :param version: ``"latest"`` or a version UUID (templated).
    :param locale: a BCP 47 locale such as ``"en"`` or ``"pt-BR"`` (templated).
    :param parameters: a dict of name to str/number/bool, or a list of Bird parameter
        dicts (templated).

    Other arguments as for :class:`SendSmsOperator`.
    """

    template_fields: Sequence[str] = (
        *_BirdSendOperator.template_fields,
        "project_id",
        "version",
        "locale",
        "parameters",
    )
    template_fields_renderers = {"parameters": "json"}
    message_kind = "template message"

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        project_id: str,
        version: str = "latest",
        locale: str = "en",
        parameters: dict | list | None = None,
        **kwargs: Any,
    ):
        super().__init__(recipients=recipients, **kwargs)
        self.project_id = project_id
        self.version = version
        self.locale = locale
        self.parameters = parameters

    def _content(self) -> dict[str, dict]:
        from airflow_provider_sms.model import template_payload

        return {
            "template": template_payload(
                self.project_id,
                version=self.version,
                locale=self.locale,
                parameters=self.parameters,
            )
        }
