"""SendMmsOperator: images or files, with optional text and title, through Bird."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_sms.bird.facts import MMS_REGIONS
from airflow_provider_sms.operators.send import BirdSendOperator

if TYPE_CHECKING:
    from airflow_provider_sms.hooks.bird import BirdHook
    from airflow_provider_sms.outbound.uploads import Media


class SendMmsOperator(BirdSendOperator):
    """Send an MMS (images or files, optional text and title) through Bird.

    :param images: 1-10 images (templated): each a URL, a file (an absolute path, a
        ``file://`` URL, or an ``airflow.sdk.ObjectStoragePath``), or a dict
        ``{"url", "alt_text"}`` whose ``url`` is either. Files are checked, uploaded once
        through Bird's presigned upload, and sent as Bird's media URL (docs/operators/media.md).
    :param files: 1-10 files, as for `images`; dicts ``{"url", "content_type", "filename"}``.
    :param allow_bird_resizing: send images of over 600 KB (up to 5 MB) for Bird to resize,
        which it does on a best-effort basis; without it they are refused.
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

    content_fields = ("images", "files", "text", "title", "fallback_text")
    json_fields = ("images", "files")
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
        allow_bird_resizing: bool = False,
        **kwargs: Any,
    ):
        super().__init__(recipients=recipients, **kwargs)
        self._keep_content(locals())
        self.check_mms_capability = check_mms_capability
        self.allow_mms_outside_us_ca = allow_mms_outside_us_ca
        self.allow_bird_resizing = allow_bird_resizing
        # The media as `_content` sends them: files replaced by what `_read_media` read.
        self._media_items: tuple[Any, Any] = (images, files)

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

    def _read_media(self) -> Media | None:
        from airflow_provider_sms.outbound.uploads import read_media

        images, files = self.images, self.files
        media = None
        if images is not None and files is None:
            images, media = read_media(
                images, "images", kind="image", allow_bird_resizing=self.allow_bird_resizing
            )
        elif files is not None and images is None:
            files, media = read_media(files, "files", kind="file")
        self._media_items = (images, files)
        return media

    def _content(self) -> dict[str, dict]:
        from airflow_provider_sms.message.bodies import mms_body

        images, files = self._media_items
        return {
            "body": mms_body(
                images=images,
                files=files,
                text=self.text,
                title=self.title,
                fallback_text=self.fallback_text,
            )
        }

    def _check_channel(self, hook: BirdHook, channel_id: str) -> None:
        if not self.check_mms_capability:
            return
        from airflow_provider_sms.bird.objects import is_mms_capable
        from airflow_provider_sms.compat import AirflowFailException

        channel = hook.get_channel(channel_id)
        if not is_mms_capable(channel):
            raise AirflowFailException(
                f"channel_id: channel {channel_id} ({channel.get('name', 'unnamed')}) cannot "
                "send MMS (capabilities.messaging.outgoing.mms.status is not 'active'); "
                "nothing was sent. Use an MMS-capable (US/Canada) number."
            )
