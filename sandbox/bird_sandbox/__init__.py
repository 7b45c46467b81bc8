"""A local, Bird-compatible Channels API sandbox (SMS, MMS, templates, batches, faults).

Importing this package is cheap (DAG tests load its pytest plugin): the server and backend
modules are imported on first use of :class:`BirdSandbox`.

Stored messages carry what the recipient would read under
``meta.extraInformation.renderedText`` (the rendered template, or the body's text).

Messages move through Bird's statuses as time passes (accepted, processing, sent, delivered,
after ``DEFAULT_STATUS_DELAYS`` unless configured); messages to the magic recipients end
otherwise, as their catalogue (:mod:`.catalogue`) says. See :class:`BirdSandbox`.

The return path: inbound SMS (``BirdSandbox.receive``, ``POST /_sandbox/inbound``), Bird's
message interactions (clicks, STOP and START), and recipients that answer (:mod:`.inbound`).

The modules, after moto's three rooms: Bird's operations and state in :mod:`.backend`
(split by job), the route tables in :mod:`.routes`, the request pipeline in :mod:`.gateway`,
the raw HTTP transport in :mod:`.server`, the control API in :mod:`.control`, the facade in
:mod:`.facade`, faults in :mod:`.faults`, seeded ids and magic recipients in
:mod:`.catalogue`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .catalogue import (
    ABSENT,
    ACCESS_KEY,
    ANSWERING_RECIPIENTS,
    CLICKS_LINK_US,
    DELETED_US,
    DELIVERED_UPPER_US,
    DELIVERY_FAILS_NL,
    DELIVERY_FAILS_US,
    INACTIVE_TEMPLATE_VERSION_ID,
    MAGIC_RECIPIENTS,
    MMS_CHANNEL_ID,
    MMS_CHANNEL_NUMBER,
    ODD_STATUSES,
    QUIET_HOURS_CHANNEL_ID,
    QUIET_HOURS_UTC,
    REPLIES_STOP_US,
    REPLIES_YES_US,
    SENDING_FAILS_NL,
    SENDING_FAILS_US,
    SHORT_LINK_DOMAIN,
    SKIPPED_US,
    SMS_CHANNEL_ID,
    SMS_CHANNEL_SENDER,
    STATUS_ABSENT_US,
    STATUS_NULL_US,
    STATUS_NUMBER_US,
    STAYS_SENT_NL,
    STAYS_SENT_US,
    TEMPLATE_LOCALES,
    TEMPLATE_PROJECT_ID,
    TEMPLATE_VERSION_ID,
    UNDELIVERABLE_US,
    WORKSPACE_ID,
)

if TYPE_CHECKING:
    from .backend import (
        DEFAULT_LISTING,
        DEFAULT_REPLY_DELAY,
        DEFAULT_STATUS_DELAYS,
        DEFAULT_UPLOAD,
        SandboxBackend,
    )
    from .facade import BirdSandbox
    from .gateway import RecordedRequest
    from .process import SandboxProcess

__all__ = [
    "ABSENT",
    "ANSWERING_RECIPIENTS",
    "CLICKS_LINK_US",
    "DEFAULT_REPLY_DELAY",
    "REPLIES_STOP_US",
    "REPLIES_YES_US",
    "DELETED_US",
    "DELIVERED_UPPER_US",
    "ODD_STATUSES",
    "QUIET_HOURS_CHANNEL_ID",
    "QUIET_HOURS_UTC",
    "SHORT_LINK_DOMAIN",
    "SKIPPED_US",
    "STATUS_ABSENT_US",
    "STATUS_NULL_US",
    "STATUS_NUMBER_US",
    "UNDELIVERABLE_US",
    "ACCESS_KEY",
    "DEFAULT_LISTING",
    "DEFAULT_STATUS_DELAYS",
    "DEFAULT_UPLOAD",
    "DELIVERY_FAILS_NL",
    "DELIVERY_FAILS_US",
    "INACTIVE_TEMPLATE_VERSION_ID",
    "MAGIC_RECIPIENTS",
    "MMS_CHANNEL_ID",
    "MMS_CHANNEL_NUMBER",
    "SENDING_FAILS_NL",
    "SENDING_FAILS_US",
    "SMS_CHANNEL_ID",
    "SMS_CHANNEL_SENDER",
    "STAYS_SENT_NL",
    "STAYS_SENT_US",
    "TEMPLATE_LOCALES",
    "TEMPLATE_PROJECT_ID",
    "TEMPLATE_VERSION_ID",
    "WORKSPACE_ID",
    "BirdSandbox",
    "RecordedRequest",
    "SandboxBackend",
    "SandboxProcess",
]

_LAZY = {
    "DEFAULT_LISTING": "backend",
    "DEFAULT_REPLY_DELAY": "backend",
    "DEFAULT_STATUS_DELAYS": "backend",
    "DEFAULT_UPLOAD": "backend",
    "BirdSandbox": "facade",
    "RecordedRequest": "gateway",
    "SandboxBackend": "backend",
    "SandboxProcess": "process",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
