"""Pure message model: operator arguments in, validated Bird request bodies out."""

from typing import Any

from .messages import (
    channel_id,
    file_body,
    image_body,
    message_options,
    mms_body,
    sms_body,
    template_payload,
    text_body,
)
from .outgoing import Outgoing
from .references import default_reference, reference_for, task_seed
from .segments import SegmentCount, check_segments, count_segments, ucs2_characters

__all__ = [
    "Outgoing",
    "SegmentCount",
    "channel_id",
    "check_segments",
    "count_segments",
    "default_reference",
    "file_body",
    "image_body",
    "message_options",
    "mms_body",
    "normalize_recipients",
    "reference_for",
    "sms_body",
    "task_seed",
    "template_payload",
    "text_body",
    "ucs2_characters",
]


def __getattr__(name: str) -> Any:
    # phonenumbers is slow to import; load it only when a task actually needs it,
    # not whenever a DAG file imports an operator.
    if name == "normalize_recipients":
        from .recipients import normalize_recipients

        return normalize_recipients
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
