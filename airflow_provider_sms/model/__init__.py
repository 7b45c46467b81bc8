"""Pure message model: operator arguments in, validated Bird request bodies out."""

from typing import Any

from .errors import InvalidMessageError, mask_phone, redact_numbers
from .messages import (
    build_message,
    channel_id,
    file_body,
    image_body,
    message_options,
    mms_body,
    template_payload,
    text_body,
)
from .references import content_key, default_reference
from .segments import SegmentCount, count_segments

__all__ = [
    "InvalidMessageError",
    "SegmentCount",
    "build_message",
    "channel_id",
    "content_key",
    "count_segments",
    "default_reference",
    "file_body",
    "image_body",
    "mask_phone",
    "message_options",
    "mms_body",
    "normalize_recipients",
    "redact_numbers",
    "template_payload",
    "text_body",
]


def __getattr__(name: str) -> Any:
    # phonenumbers is slow to import; load it only when a task actually needs it,
    # not whenever a DAG file imports an operator.
    if name == "normalize_recipients":
        from .recipients import normalize_recipients

        return normalize_recipients
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
