"""SendSmsOperator: an SMS to one or many recipients. (MMS and template messages have their
own modules, `operators.mms` and `operators.template`.)

Kept cheap to import (DAG files import it at parse time): `message`, the HTTP client,
`requests` and `phonenumbers` load inside `execute()`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_sms.operators.send import DEFAULT_MAX_SEGMENTS, BirdSendOperator


class SendSmsOperator(BirdSendOperator):
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
    :param max_segments: the most SMS segments one message may take (default 10); a longer
        text fails before anything is sent, naming the count, the encoding and the
        characters that forced UCS-2.
    :param max_messages: the most messages this send may make, counted after
        de-duplication and ``exclude_recipients``; more fails the task before any request,
        naming both numbers. Default: the connection's ``max_messages`` extra (no cap
        without one).
    :param max_total_segments: the most SMS segments the whole send may take (messages
        times segments per message; an MMS counts as one, and so does a template message,
        whose text Bird renders); default the connection's ``max_total_segments`` extra.
    :param smart_encoding: ask Bird to replace look-alike characters (curly quotes, ...) so
        the text can stay GSM-7 (``meta.sms.smartEncoding``); segment counts shown here are
        before that replacement.
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
    """

    content_fields = ("text",)
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
        self._keep_content(locals())
        self.max_segments = max_segments
        self.smart_encoding = smart_encoding

    def _content(self) -> dict[str, dict]:
        from airflow_provider_sms.message.bodies import sms_body

        body, count = sms_body(self.text, max_segments=self.max_segments)
        self._segments = count.segments
        # Bird bills per segment: worth seeing before ten thousand of them go out.
        notes = []
        if self.smart_encoding:
            notes.append("before Bird's smart encoding")
        if self.short_links is not None:
            notes.append("an upper bound: Bird shortens the links afterwards")
        self.log.info(
            "Text of %d character(s): %d %s segment(s) per message%s",
            count.characters,
            count.segments,
            count.encoding,
            f" ({'; '.join(notes)})" if notes else "",
        )
        return {"body": body}

    def _segments_per_message(self) -> int:
        return self._segments

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "smart_encoding": bool(self.smart_encoding)}
