"""A local, Bird-compatible Channels API sandbox (SMS, MMS, templates, batches, faults): the
``bird-sandbox`` distribution, released with ``airflow-provider-sms``, whose Airflow-free
``bird.facts`` (Bird's limits) and ``loopback`` it imports, and nothing else of it.

Importing this package is cheap (DAG tests load its pytest plugin): the server and backend
modules are imported on first use of :class:`BirdSandbox`.

Stored messages carry what the recipient would read under
``meta.extraInformation.renderedText`` (the rendered template, or the body's text).

Messages move through Bird's statuses as time passes (accepted, processing, sent, delivered,
after ``DEFAULT_STATUS_DELAYS`` unless configured); messages to the magic recipients end
otherwise, as their catalogue (:mod:`.catalogue`) says. See :class:`BirdSandbox`.

The return path: inbound SMS (``BirdSandbox.receive``, ``POST /_sandbox/inbound``), Bird's
message interactions (clicks, STOP and START), and recipients that answer (:mod:`.inbound`).

Webhooks: Bird's webhook subscriptions, and signed deliveries of inbound messages, status
changes and interactions to them, retried as Bird retries (:mod:`.webhooks`,
:mod:`.deliveries`).

The modules, after moto's three rooms: Bird's operations and state in :mod:`.backend`
(split by job), the route tables in :mod:`.routes`, the request pipeline in :mod:`.gateway`,
the raw HTTP transport in :mod:`.server`, the control API in :mod:`.control`, the facade in
:mod:`.facade`, faults in :mod:`.faults`, seeded ids and magic recipients in
:mod:`.catalogue`, the settings in :mod:`.settings`.
"""

from __future__ import annotations

from typing import Any

from . import catalogue
from .catalogue import *  # noqa: F403 - the seeded ids and magic recipients: catalogue.__all__

# The costly names, imported on first use: name -> its module.
_LAZY = {
    "BirdSandbox": "facade",
    "RecordedRequest": "gateway",
    "SandboxBackend": "backend",
    "SandboxProcess": "process",
    "DEFAULT_LISTING": "settings",
    "DEFAULT_REPLY_DELAY": "settings",
    "DEFAULT_STATUS_DELAYS": "settings",
    "DEFAULT_UPLOAD": "settings",
}

__all__ = [*catalogue.__all__, *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
