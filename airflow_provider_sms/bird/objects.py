"""Reading Bird channel objects."""

from __future__ import annotations

from typing import Any


def mms_capability(channel: dict[str, Any]) -> dict[str, Any] | None:
    """The channel's outgoing MMS capability node, under either nesting Bird's docs show:
    ``capabilities.messaging.outgoing.mms`` or ``capabilities.messaging.messaging.outgoing.mms``.
    """
    messaging = (channel.get("capabilities") or {}).get("messaging") or {}
    for node in (messaging, messaging.get("messaging") or {}):
        mms = (node.get("outgoing") or {}).get("mms")
        if isinstance(mms, dict):
            return mms
    return None


def is_mms_capable(channel: dict[str, Any]) -> bool:
    mms = mms_capability(channel)
    return bool(mms) and mms.get("status") == "active" and mms.get("paused") is not True
