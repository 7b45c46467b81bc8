"""SendMmsOperator: images or files, with optional text and title, through Bird."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_sms.bird.facts import MMS_REGIONS
from airflow_provider_sms.operators._base import _BirdSendOperator

if TYPE_CHECKING:
    from airflow_provider_sms.hooks.bird import BirdHook


class SendMmsOperator(_BirdSendOperator):
    """Send an MMS (images or files, optional text and title) through Bird.

    :param images: 1-10 image URLs, or dicts ``{"url", "alt_text"}`` (templated).
    :param files: 1-10 file URLs, or dicts ``{"url", "content_type", "filename"}`` (templated).
    :param text: optional text sent with the media (templated).
    :param title: optional MMS subject (templated).
    :param fallback_text: what a handset that cannot show MMS displays instead (the body's
        ``metadata.fallbackText``, templated).
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
        "fallback_text",
    )
    template_fields_renderers = {
        **_BirdSendOperator.template_fields_renderers,
        "images": "json",
        "files": "json",
    }
    message_kind = "MMS"

    def __init__(
        self,
        *,
        recipients: str | Sequence[str],
        images: Any = None,
        files: Any = None,
        text: str | None = None,
        title: str | None = None,
        fallback_text: str | None = None,
        check_mms_capability: bool = True,
        allow_mms_outside_us_ca: bool = False,
        **kwargs: Any,
    ):
        super().__init__(recipients=recipients, **kwargs)
        self.images = images
        self.files = files
        self.text = text
        self.title = title
        self.fallback_text = fallback_text
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
                from airflow_provider_sms.bird.errors import InvalidMessageError

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
            "body": mms_body(
                images=self.images,
                files=self.files,
                text=self.text,
                title=self.title,
                fallback_text=self.fallback_text,
            )
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
