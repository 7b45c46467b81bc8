"""SendSmsOperator: an SMS to one or many recipients. (MMS and template messages have their
own modules, `operators.mms` and `operators.template`.)

Kept cheap to import (DAG files import it at parse time): `message`, the HTTP client,
`requests` and `phonenumbers` load inside `execute()`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_sms.operators.send import DEFAULT_MAX_SEGMENTS, BirdSendOperator
from airflow_provider_sms.outbound.sends import SmsSend


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

    :param text: the message text (templated).
    :param max_segments: the most SMS segments one message may take (default 10); a longer
        text fails before anything is sent, naming the count, the encoding and the
        characters that forced UCS-2.
    :param smart_encoding: ask Bird to replace look-alike characters (curly quotes, ...) so
        the text can stay GSM-7 (``meta.sms.smartEncoding``); segment counts shown here are
        before that replacement.

    Other arguments as for every send operator (``BirdSendOperator``: recipients, channel,
    checks, caps, delivery options, scheduling, dry runs, waiting for delivery).
    """

    content_fields = ("text",)
    send_kind = SmsSend

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
