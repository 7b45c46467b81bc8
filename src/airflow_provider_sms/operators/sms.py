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
    from airflow_provider_sms.sending import SendReport

DEFAULT_MAX_CONCURRENCY = 16


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
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.recipients = recipients
        self.channel_id = channel_id
        self.bird_conn_id = bird_conn_id
        self.reference = reference
        self.tags = tags
        self.default_region = default_region
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency: must be at least 1, got {max_concurrency!r}")
        self.max_concurrency = max_concurrency
        self.fail_on_partial_failure = fail_on_partial_failure

    # -- subclass hooks ------------------------------------------------------------------

    def _content(self) -> dict[str, dict]:
        """``{"body": ...}`` or ``{"template": ...}``; raises InvalidMessageError."""
        raise NotImplementedError

    def _check_channel(self, hook: BirdHook, channel_id: str) -> None:
        """Checks against the channel before anything is sent."""

    # -- execution -----------------------------------------------------------------------

    def execute(self, context: Context) -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_sms.bird.errors import BirdError
        from airflow_provider_sms.hooks.bird import BirdHook
        from airflow_provider_sms.model import (
            InvalidMessageError,
            build_message,
            message_options,
            normalize_recipients,
        )

        try:
            recipients = normalize_recipients(self.recipients, default_region=self.default_region)
            content = self._content()
            options = message_options(reference=self.reference, tags=self.tags)
        except InvalidMessageError as exc:
            raise AirflowFailException(f"Invalid {self.message_kind}: {exc}") from None

        hook = BirdHook(self.bird_conn_id, pool_size=self.max_concurrency)
        try:
            channel_id = self.channel_id or hook.default_channel_id
            if not channel_id:
                raise AirflowFailException(
                    "channel_id: not given, and the connection "
                    f"{self.bird_conn_id!r} has no default channel_id extra"
                )
            self._check_channel(hook, channel_id)
        except BirdError as exc:
            raise AirflowFailException(str(exc)) from None

        def build(recipient: str) -> dict:
            return build_message(recipient, options=options, **content)

        self.log.info(
            "Sending %s to %d recipient(s) on channel %s",
            self.message_kind,
            len(recipients),
            channel_id,
        )
        from airflow_provider_sms.sending import send_each

        try:
            report = send_each(
                hook.client, channel_id, recipients, build, max_concurrency=self.max_concurrency
            )
        finally:
            hook.client.close()
        return self._finish(report, len(recipients))

    def _finish(self, report: SendReport, total: int) -> list[dict]:
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        from airflow_provider_sms.bird.errors import BirdAmbiguousError
        from airflow_provider_sms.model import mask_phone, redact_phone

        self.log.info("Bird accepted %d of %d message(s)", len(report.accepted), total)
        results = list(report.accepted)
        if report.ok:
            return results
        # Bird's error text may quote the request, and with it the full number.
        reasons = [redact_phone(str(f.error), f.recipient) for f in report.failures]
        lines = [
            f"  {mask_phone(f.recipient)}: {reason}"
            for f, reason in zip(report.failures[:20], reasons, strict=False)
        ]
        if len(report.failures) > 20:
            lines.append(f"  ... and {len(report.failures) - 20} more")
        summary = (
            f"{len(report.accepted)} of {total} {self.message_kind}(s) accepted, "
            f"{len(report.failures)} failed"
        )
        if report.aborted_by is not None:
            summary += (
                f", {report.not_attempted} not attempted (stopped: the error applies to "
                "every recipient)"
            )
        message = summary + ":\n" + "\n".join(lines)
        for failure, reason in zip(report.failures, reasons, strict=True):
            self.log.warning("Not sent to %s: %s", mask_phone(failure.recipient), reason)
        if report.aborted_by is None and not self.fail_on_partial_failure:
            self.log.warning("%s; continuing (fail_on_partial_failure=False)", summary)
            results.extend(
                {
                    "recipient": f.recipient,
                    "message_id": None,
                    "status": "failed",
                    "error": reason,
                }
                for f, reason in zip(report.failures, reasons, strict=True)
            )
            return results
        retryable = all(f.error.retryable for f in report.failures) and not any(
            isinstance(f.error, BirdAmbiguousError) for f in report.failures
        )
        if retryable and report.aborted_by is None:
            raise AirflowException(message)
        raise AirflowFailException(message)


class SendSmsOperator(_BirdSendOperator):
    """Send an SMS to one or many recipients through Bird's Channels API.

    One Bird message per recipient. Returns (XCom) one ``{"recipient", "message_id",
    "status"}`` per accepted recipient.

    :param recipients: a phone number, a list of them, or a comma-separated string (templated).
        Normalised to E.164; duplicates dropped.
    :param text: the message text (templated).
    :param channel_id: the Bird SMS channel; defaults to the connection's ``channel_id``.
    :param bird_conn_id: the Bird connection id.
    :param reference: a reference stored on each message (templated).
    :param tags: up to 10 Bird tags (templated).
    :param default_region: region (e.g. ``"NL"``) for numbers written without a country code.
    :param max_concurrency: requests in flight at once.
    :param fail_on_partial_failure: fail the task when some recipients fail (default); if
        False, succeed and return the failures alongside the accepted messages.
    """

    template_fields: Sequence[str] = (*_BirdSendOperator.template_fields, "text")
    message_kind = "SMS"

    def __init__(self, *, recipients: str | Sequence[str], text: str, **kwargs: Any):
        super().__init__(recipients=recipients, **kwargs)
        self.text = text

    def _content(self) -> dict[str, dict]:
        from airflow_provider_sms.model import text_body

        return {"body": text_body(self.text)}


class SendMmsOperator(_BirdSendOperator):
    """Send an MMS (images or files, optional text and title) through Bird.

    :param images: 1-10 image URLs, or dicts ``{"url", "alt_text"}`` (templated).
    :param files: 1-10 file URLs, or dicts ``{"url", "content_type", "filename"}`` (templated).
    :param text: optional text sent with the media (templated).
    :param title: optional MMS subject (templated).
    :param check_mms_capability: fetch the channel once and fail before sending when it
        cannot send MMS.

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
        **kwargs: Any,
    ):
        super().__init__(recipients=recipients, **kwargs)
        self.images = images
        self.files = files
        self.text = text
        self.title = title
        self.check_mms_capability = check_mms_capability

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
