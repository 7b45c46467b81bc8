"""Faults the sandbox can inject in place of a normal answer: an error status (optionally with
Retry-After), a dropped connection, or no answer at all; or, for a request it processes as
usual, an odd answer: a body that is not what Bird answers (``body``), or the answer sent a
few bytes at a time (``drip``). The ``webhook_*`` faults are taken by the webhook deliveries
the sandbox sends (:mod:`.deliveries`), not by the requests it answers.

:class:`Fault` is the one place a fault's parameters are spelled out: its fields, each with
its default, its description and its check. ``BirdSandbox.inject``, ``POST /_sandbox/faults``
and :func:`parse_fault` take exactly these (``BirdSandbox.inject``'s signature and help are
made from them)."""

from __future__ import annotations

import inspect
import re
from dataclasses import MISSING, dataclass, field, fields
from http import HTTPStatus
from typing import Any

# Each kind and what it does.
FAULT_KINDS: dict[str, str] = {
    "status": "answer an error status (`status`, 503 unless given) without processing",
    "drop": "reset the connection without reading the request or answering",
    "hang": "read nothing and answer nothing for `seconds`, then reset the connection",
    "body": "process the request as usual and answer `body` (raw JSON text) in place of Bird's",
    "drip": "process the request as usual and send the answer a byte at a time over `seconds`",
    "webhook_bad_signature": "the next webhook deliveries carry a wrong signature",
    "webhook_stale_timestamp": "the next webhook deliveries are signed correctly, with a "
    "timestamp 10 minutes old",
    "webhook_duplicate": "the next webhook deliveries are each sent 3 times (the same body, each "
    "freshly signed)",
}
# Faults that leave the request unanswered (and unprocessed).
UNANSWERED = ("drop", "hang")
# Faults taken by webhook deliveries (each attempt takes one, in the order queued), and what
# they do: how old a stale timestamp is, how many times a duplicated delivery is sent.
WEBHOOK_FAULTS = ("webhook_bad_signature", "webhook_stale_timestamp", "webhook_duplicate")
STALE_SECONDS = 600
DUPLICATE_COPIES = 3
_JSON_HEADERS = {"Content-Type": "application/json"}
JsonResponse = tuple[int, dict[str, str], Any]


class RawBody(str):
    """An answer body sent as it is, not as JSON of a value (a ``body`` fault)."""


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _non_negative_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parameter(
    default: Any, description: str, check=None, problem: str = "", kinds: tuple = ()
) -> Any:
    """A fault parameter: ``check`` (on faults of ``kinds``, or all) says whether a value fits;
    ``problem`` is the error when it does not."""
    metadata = {"doc": description, "check": check, "problem": problem, "kinds": kinds}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Fault:
    """One queued fault: its kind and parameters (every kind takes every parameter; those a
    kind does not use are ignored)."""

    kind: str
    count: int = _parameter(
        1,
        "how many requests (for a webhook fault: delivery attempts) get the fault",
        _positive_int,
        "count must be a positive integer",
    )
    status: int | None = _parameter(
        None,
        'the error status of a "status" fault (400-599; 503 if not given)',
        lambda v: isinstance(v, int) and 400 <= v <= 599,
        "status must be an HTTP error status (400-599)",
        kinds=("status",),
    )
    retry_after: str | None = _parameter(
        None, "a Retry-After header for the error answer (text; a number is turned into text)"
    )
    seconds: float = _parameter(
        30.0,
        'how long a "hang" holds the connection, or a "drip" takes to answer',
        lambda v: isinstance(v, int | float) and v >= 0,
        "seconds must be a non-negative number",
    )
    after_messages: int = _parameter(
        0,
        "the fault waits until this many messages have been accepted (an outage mid-send)",
        _non_negative_int,
        "after_messages must be a non-negative integer",
    )
    method: str | None = _parameter(
        None,
        'only requests with this method get the fault ("GET": reads fail, sends work)',
        lambda v: v in (None, "GET", "POST"),
        "method must be GET, POST or None",
    )
    path: str | None = _parameter(
        None,
        'only requests whose path contains this text (e.g. "/presigned-upload"); the storage '
        'host\'s requests get only faults that name them (e.g. "/_storage/upload")',
        lambda v: v is None or (isinstance(v, str) and v.startswith("/")),
        'path must be a piece of a path starting with "/", or None',
    )
    body: str | None = _parameter(
        None,
        'for "body": the raw JSON text answered in place of Bird\'s answer (e.g. "null")',
        lambda v: isinstance(v, str),
        'a "body" fault needs body: the raw JSON text to answer',
        kinds=("body",),
    )


PARAMETERS = tuple(f for f in fields(Fault) if f.name != "kind")


def parse_fault(kind: str, **params: Any) -> Fault:
    """A fault from its kind and parameters (as :class:`Fault`'s fields); ValueError for a
    value that does not fit, TypeError for an unknown parameter."""
    unknown = set(params) - {f.name for f in PARAMETERS}
    if unknown:
        raise TypeError(f"unknown fault parameter(s): {', '.join(sorted(unknown))}")
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
    values = {f.name: params.get(f.name, f.default) for f in PARAMETERS}
    if kind == "status" and values["status"] is None:
        values["status"] = 503
    if values["retry_after"] is not None:
        values["retry_after"] = str(values["retry_after"])
    for parameter in PARAMETERS:
        check, kinds = parameter.metadata["check"], parameter.metadata["kinds"]
        if check is not None and (not kinds or kind in kinds) and not check(values[parameter.name]):
            raise ValueError(parameter.metadata["problem"])
    values["seconds"] = float(values["seconds"])
    return Fault(kind, **values)


def inject_signature(first: inspect.Parameter) -> inspect.Signature:
    """The signature of an ``inject(kind, count=1, *, ...)`` made from :class:`Fault`
    (``first`` is the method's ``self``)."""
    parameters = [first, inspect.Parameter("kind", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for parameter in PARAMETERS:
        kind = (
            inspect.Parameter.POSITIONAL_OR_KEYWORD
            if parameter.name == "count"
            else inspect.Parameter.KEYWORD_ONLY
        )
        default = parameter.default if parameter.default is not MISSING else inspect._empty
        parameters.append(
            inspect.Parameter(parameter.name, kind, default=default, annotation=parameter.type)
        )
    return inspect.Signature(parameters, return_annotation="None")


def describe() -> str:
    """The kinds and parameters, as text (for docstrings and help)."""
    lines = ["Kinds:", ""]
    lines += [f"- ``{kind}``: {what}" for kind, what in FAULT_KINDS.items()]
    lines += ["", "Parameters:", ""]
    lines += [
        f"- ``{p.name}`` (default ``{p.default!r}``): {p.metadata['doc']}" for p in PARAMETERS
    ]
    return "\n".join(lines)


def fault_response(fault: Fault) -> JsonResponse:
    try:
        phrase = HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "Error"
    code = "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z]+", phrase))
    headers = dict(_JSON_HEADERS)
    if fault.retry_after:
        headers["Retry-After"] = fault.retry_after
    return fault.status, headers, {"code": code, "message": f"{phrase} (injected by the sandbox)"}
