"""Faults the sandbox can inject in place of a normal answer: an error status (optionally with
Retry-After), a dropped connection, or no answer at all; or, for a request it processes as
usual, an odd answer: a body that is not what Bird answers (``body``), or the answer sent a
few bytes at a time (``drip``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

FAULT_KINDS = ("status", "drop", "hang", "body", "drip")
# Faults that leave the request unanswered (and unprocessed).
UNANSWERED = ("drop", "hang")
_JSON_HEADERS = {"Content-Type": "application/json"}
JsonResponse = tuple[int, dict[str, str], Any]


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int | None = None
    retry_after: str | None = None
    seconds: float = 30.0
    # The fault waits until this many messages have been accepted (an outage mid-send).
    after_messages: int = 0
    # Only requests with this method get the fault (e.g. "GET": reads fail, sends work).
    method: str | None = None
    # For "body": the raw JSON text answered in place of Bird's answer (e.g. "null").
    body: str | None = None


def normalise_fault(
    kind: str,
    count: Any = 1,
    status: Any = None,
    retry_after: Any = None,
    seconds: Any = 30.0,
    after_messages: Any = 0,
    method: Any = None,
    body: Any = None,
) -> tuple[Fault, int]:
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError("count must be a positive integer")
    if kind == "status":
        status = 503 if status is None else status
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
    if retry_after is not None:
        retry_after = str(retry_after)
    if not isinstance(seconds, int | float) or seconds < 0:
        raise ValueError("seconds must be a non-negative number")
    if (
        not isinstance(after_messages, int)
        or isinstance(after_messages, bool)
        or after_messages < 0
    ):
        raise ValueError("after_messages must be a non-negative integer")
    if method is not None and method not in ("GET", "POST"):
        raise ValueError("method must be GET, POST or None")
    if kind == "body" and not isinstance(body, str):
        raise ValueError('a "body" fault needs body: the raw JSON text to answer')
    fault = Fault(kind, status, retry_after, float(seconds), after_messages, method, body)
    return fault, count


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
