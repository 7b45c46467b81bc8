"""Pure message model: operator arguments in, validated Bird request bodies out."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from .recipients import normalize_recipients
    from .references import default_reference, reference_for, task_seed
    from .segments import SegmentCount, check_segments, count_segments, ucs2_characters

# Each name loads its module on first use: importing one submodule (a DAG file building a
# watcher checks its arguments with model.inbound) does not load the whole model, and
# phonenumbers loads only when a task actually needs it.
_LAZY = {
    "channel_id": "messages",
    "file_body": "messages",
    "image_body": "messages",
    "message_options": "messages",
    "mms_body": "messages",
    "sms_body": "messages",
    "template_payload": "messages",
    "text_body": "messages",
    "Outgoing": "outgoing",
    "default_reference": "references",
    "reference_for": "references",
    "task_seed": "references",
    "SegmentCount": "segments",
    "check_segments": "segments",
    "count_segments": "segments",
    "ucs2_characters": "segments",
    "normalize_recipients": "recipients",
}

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
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
