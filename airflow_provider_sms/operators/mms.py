"""SendMmsOperator: images or files, with optional text and title, through Bird."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_sms.operators.send import BirdSendOperator
from airflow_provider_sms.outbound.sends import MmsSend


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
    send_kind = MmsSend

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
