"""State and rules of the Bird sandbox, independent of HTTP.

The HTTP front parses a request and hands it to :meth:`SandboxBackend.handle`, which answers
``(status, headers, json_body)``. All mutable state sits behind one lock so the threaded front
can call in concurrently. Validation runs outside the lock to keep it short.
"""

from __future__ import annotations

import base64
import copy
import json
import queue
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..bird.facts import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MMS_BODY_TYPES
from . import seed
from .faults import Fault, JsonResponse, fault_response, normalise_fault
from .validation import parse_date_time, validation_details

# How long a list by batchId waits for that batch's items to be processed, so that a client
# listing right after the 202 sees a complete batch (processing takes milliseconds).
BATCH_SETTLE_TIMEOUT = 5.0

_JSON_HEADERS = {"Content-Type": "application/json"}
_CREATED_AT = "2024-01-01T00:00:00.000Z"

CHANNELS: dict[str, dict[str, Any]] = {
    seed.MMS_CHANNEL_ID: {
        "name": "Sandbox US number (SMS + MMS)",
        "identifier": seed.MMS_CHANNEL_NUMBER,
        "connectorId": "0c1d43a2-5b7e-4f0e-9a53-1f0f5f3f6a01",
        "mms": True,
    },
    seed.SMS_CHANNEL_ID: {
        "name": "Sandbox alphanumeric sender (SMS only)",
        "identifier": seed.SMS_CHANNEL_SENDER,
        "connectorId": "7e9b2c44-0d1a-4c6b-8f6e-2b7d9c1e4a02",
        "mms": False,
    },
}

_REMINDER_TEXTS = {
    "en": "Hi {name}, this is a reminder of your appointment on {date}.",
    "nl": "Hoi {name}, dit is een herinnering aan je afspraak op {date}.",
}
TEMPLATES: dict[str, dict[str, Any]] = {
    seed.TEMPLATE_PROJECT_ID: {
        "name": "appointment-reminder",
        "parameters": {"name": "string", "date": "string"},
        "versions": {
            seed.TEMPLATE_VERSION_ID: {"active": True, "texts": _REMINDER_TEXTS},
            seed.INACTIVE_TEMPLATE_VERSION_ID: {"active": False, "texts": _REMINDER_TEXTS},
        },
    }
}
assert set(_REMINDER_TEXTS) == set(seed.TEMPLATE_LOCALES)

# Failure codes put on batch items rejected during asynchronous validation (Bird's 11xxx range
# is "async validation"; the exact numbers are the sandbox's own).
FAILURE_CODES = {
    "InvalidPayload": 11001,
    "RecipientRejected": 11002,
    "NotFound": 11003,
    "ConflictingConditions": 11004,
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass
class RecordedRequest:
    """One request the sandbox received under ``/workspaces`` (control calls are not recorded).

    ``status`` is what was answered; 0 when a ``drop``/``hang`` fault meant no answer.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    status: int
    fault: str | None = None
    received_at: float = field(default_factory=time.time)

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


class ApiError(Exception):
    """An error answer in Bird's shape: ``{"code", "message"[, "details"]}``."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body

    def response(self, headers: dict[str, str] | None = None) -> JsonResponse:
        return self.status, {**_JSON_HEADERS, **(headers or {})}, self.body()


def _invalid(details: dict[str, list[str]]) -> ApiError:
    return ApiError(422, "InvalidPayload", "The message payload is invalid", details)


# --- small utilities --------------------------------------------------------------------------


def _timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, like Bird's ``2022-12-22T08:32:50.736Z``."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _contact_id(workspace_id: str, identifier: str) -> str:
    # Bird creates a contact per identifier on first send; a stable id mimics that.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bird-sandbox:{workspace_id}:{identifier}"))


def _channel_object(channel_id: str) -> dict:
    channel = CHANNELS[channel_id]
    return {
        "id": channel_id,
        "platformId": "sms-messagebird",
        "name": channel["name"],
        "connectorId": channel["connectorId"],
        "identifier": channel["identifier"],
        "status": "active",
        "capabilities": {
            "messaging": {
                "outgoing": {
                    "mms": {
                        "status": "active" if channel["mms"] else "inactive",
                        "paused": False,
                    }
                }
            }
        },
        "createdAt": _CREATED_AT,
        "updatedAt": _CREATED_AT,
    }


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = raw.partition(":")
        offset = int(number)
        if prefix != "offset" or offset < 0:
            raise ValueError
    except ValueError as exc:
        raise ApiError(400, "InvalidPageToken", "pageToken is not valid") from exc
    return offset


# --- the backend ------------------------------------------------------------------------------


class SandboxBackend:
    """Workspace, channels, templates, stored messages, recorded requests and injected faults."""

    def __init__(self, *, latency: float = 0.0, max_posts_per_second: int | None = None):
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._defaults = (float(latency), max_posts_per_second)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._generation = 0
        with self._lock:
            self._reset_locked()

    # configuration -----------------------------------------------------------------------

    def _reset_locked(self) -> None:
        self._generation += 1
        self._messages: list[dict] = []
        self._by_id: dict[str, dict] = {}
        self._requests: list[RecordedRequest] = []
        self._faults: deque[list] = deque()  # [Fault, remaining]
        self._post_times: dict[str, deque[float]] = {}
        self._pending: dict[str, int] = {}  # batchId -> items not yet processed
        self.latency, self._max_posts = self._defaults
        self.reject_recipients: frozenset[str] = frozenset()
        self._changed.notify_all()

    def reset(self) -> None:
        """Forget messages, requests, faults and rejections; restore the initial configuration."""
        with self._lock:
            self._reset_locked()

    @property
    def max_posts_per_second(self) -> int | None:
        return self._max_posts

    @max_posts_per_second.setter
    def max_posts_per_second(self, value: int | None) -> None:
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError("max_posts_per_second must be a positive integer or None")
        self._max_posts = value

    def configure(self, **config: Any) -> dict:
        """Update ``latency``, ``max_posts_per_second`` and/or ``reject_recipients``."""
        unknown = set(config) - {"latency", "max_posts_per_second", "reject_recipients"}
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        if "latency" in config:
            latency = config["latency"]
            if not isinstance(latency, int | float) or isinstance(latency, bool) or latency < 0:
                raise ValueError("latency must be a non-negative number of seconds")
        if "reject_recipients" in config:
            recipients = config["reject_recipients"]
            if isinstance(recipients, str) or not all(isinstance(r, str) for r in recipients):
                raise ValueError("reject_recipients must be a list of phone numbers")
        with self._lock:
            if "max_posts_per_second" in config:
                self.max_posts_per_second = config["max_posts_per_second"]
            if "latency" in config:
                self.latency = float(config["latency"])
            if "reject_recipients" in config:
                self.reject_recipients = frozenset(config["reject_recipients"])
            return self.config()

    def config(self) -> dict:
        return {
            "latency": self.latency,
            "max_posts_per_second": self._max_posts,
            "reject_recipients": sorted(self.reject_recipients),
        }

    def inject(self, kind: str, count: int = 1, **params: Any) -> None:
        """Queue a fault for the next ``count`` requests under ``/workspaces``."""
        fault, count = normalise_fault(kind, count, **params)
        with self._lock:
            self._faults.append([fault, count])

    def clear_faults(self) -> None:
        """Drop every queued fault (the outage is over)."""
        with self._lock:
            self._faults.clear()

    # inspection --------------------------------------------------------------------------

    def messages(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._messages)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_idle(self, timeout: float = 5.0, batch_id: str | None = None) -> bool:
        """Wait until queued batch items (of ``batch_id``, or all) are processed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending.get(batch_id, 0) if batch_id else self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def close(self) -> None:
        """Stop the batch worker (pending items are dropped)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            self._jobs.put(None)
            worker.join(timeout=5)

    # request handling --------------------------------------------------------------------

    def take_fault(self, method: str, path: str, query: dict, headers: dict) -> Fault | None:
        """Consume the next queued fault for a ``/workspaces`` request, if any.

        ``drop``/``hang`` faults are recorded here (status 0), since the request is never
        answered; a ``status`` fault is recorded by :meth:`handle`.
        """
        if not path.startswith("/workspaces"):
            return None
        with self._lock:
            if not self._faults:
                return None
            entry = self._faults[0]
            if len(self._messages) < entry[0].after_messages:
                return None
            if entry[0].method and entry[0].method != method:
                return None
            entry[1] -= 1
            if entry[1] <= 0:
                self._faults.popleft()
            fault = entry[0]
            if fault.kind != "status":
                self._requests.append(
                    RecordedRequest(
                        method, path, dict(query), self._safe_headers(headers), None, 0, fault.kind
                    )
                )
            return fault

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        fault: Any = ...,
    ) -> JsonResponse:
        """Answer one request. ``fault`` is what :meth:`take_fault` returned (taken here if
        omitted); a ``drop``/``hang`` fault yields status 0, meaning "do not answer"."""
        if path.startswith("/_sandbox/"):
            return self._control(method, path, body)
        if fault is ...:
            fault = self.take_fault(method, path, query, headers)
        if fault is not None and fault.kind != "status":
            return 0, {}, None
        payload: Any = None
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
        if fault is not None:
            response = fault_response(fault)
        else:
            try:
                response = self._route(method, path, query, headers, body, payload)
            except ApiError as exc:
                response = exc.response()
        recorded = RecordedRequest(
            method,
            path,
            dict(query),
            self._safe_headers(headers),
            payload,
            response[0],
            fault and fault.kind,
        )
        self._record(recorded)
        return response

    def _record(self, recorded: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(recorded)

    @staticmethod
    def _safe_headers(headers: dict) -> dict:
        """Headers as recorded: a key other than the sandbox's own (say, a real one used by
        mistake) is never kept, since recorded requests are served without authentication."""
        safe = dict(headers)
        for name in safe:
            if name.lower() == "authorization" and safe[name] != f"AccessKey {seed.ACCESS_KEY}":
                safe[name] = "<not the sandbox key: redacted>"
        return safe

    def _route(self, method, path, query, headers, body, payload) -> JsonResponse:
        parts = path.strip("/").split("/")
        if parts[0] != "workspaces":
            raise ApiError(
                404, "NotFound", "The requested resource does not exist: route not found"
            )
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, key = auth.strip().partition(" ")
        if scheme.lower() != "accesskey" or key.strip() != seed.ACCESS_KEY:
            raise ApiError(401, "Unauthorized", "Missing or invalid AccessKey authorization")
        if len(parts) < 2 or parts[1] != seed.WORKSPACE_ID:
            raise ApiError(
                404, "NotFound", "The requested resource does not exist: workspace not found"
            )
        workspace_id = parts[1]
        rest = parts[2:]
        if not rest or rest[0] != "channels":
            raise ApiError(
                404, "NotFound", "The requested resource does not exist: route not found"
            )
        if len(rest) == 1:
            self._allow(method, "GET")
            return 200, dict(_JSON_HEADERS), {"results": [_channel_object(c) for c in CHANNELS]}
        channel_id = rest[1]
        if channel_id not in CHANNELS:
            raise ApiError(
                404, "NotFound", "The requested resource does not exist: channel not found"
            )
        tail = rest[2:]
        if not tail:
            self._allow(method, "GET")
            return 200, dict(_JSON_HEADERS), _channel_object(channel_id)
        if tail == ["messages"]:
            self._allow(method, "GET", "POST")
            if method == "GET":
                return self._list_messages(channel_id, query)
            self._throttle(workspace_id)
            return self._send(workspace_id, channel_id, body, payload)
        if tail == ["batch", "messages"]:
            self._allow(method, "POST")
            self._throttle(workspace_id)
            return self._send_batch(workspace_id, channel_id, body, payload)
        if len(tail) == 2 and tail[0] == "messages":
            self._allow(method, "GET")
            with self._lock:
                message = self._by_id.get(tail[1])
                if message is None or message["channelId"] != channel_id:
                    raise ApiError(
                        404, "NotFound", "The requested resource does not exist: message not found"
                    )
                return 200, dict(_JSON_HEADERS), copy.deepcopy(message)
        raise ApiError(404, "NotFound", "The requested resource does not exist: route not found")

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed here")

    def _throttle(self, workspace_id: str) -> None:
        # Sliding one-second window per workspace over admitted POSTs, like Bird's per-workspace
        # POST limit. Bird documents no Retry-After header, so none is sent.
        with self._lock:
            limit = self._max_posts
            if limit is None:
                return
            now = time.monotonic()
            window = self._post_times.setdefault(workspace_id, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                raise ApiError(
                    429, "TooManyRequests", "Too many requests: workspace POST rate limit exceeded"
                )
            window.append(now)

    # sending -----------------------------------------------------------------------------

    def _send(self, workspace_id: str, channel_id: str, body: bytes, payload: Any) -> JsonResponse:
        if payload is None:
            raise ApiError(400, "InvalidRequest", "The request body must be a JSON object")
        message = self._build_message(workspace_id, channel_id, payload)
        with self._lock:
            self._store_locked(message)
        # The stored dict is never mutated after storing, so it can be answered as is.
        return 202, dict(_JSON_HEADERS), message

    def _send_batch(
        self, workspace_id: str, channel_id: str, body: bytes, payload: Any
    ) -> JsonResponse:
        if payload is None:
            raise ApiError(400, "InvalidRequest", "The request body must be a JSON object")
        details = validation_details("create_batch", payload)
        if details:
            raise _invalid(details)
        batch_id = str(uuid.uuid4())
        items = payload["messageRequests"]
        with self._lock:
            generation = self._generation
            self._pending[batch_id] = len(items)
            self._ensure_worker_locked()
        # Items are validated after the 202 is sent, as Bird does; one worker keeps their order.
        for item in items:
            self._jobs.put((generation, workspace_id, channel_id, batch_id, item))
        return 202, dict(_JSON_HEADERS), {"batchId": batch_id}

    def _ensure_worker_locked(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._work, name="bird-sandbox-batch", daemon=True
            )
            self._worker.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            generation, workspace_id, channel_id, batch_id, item = job
            try:
                message = self._build_message(workspace_id, channel_id, item, batch_id=batch_id)
            except ApiError as exc:
                message = self._rejected_message(workspace_id, channel_id, item, batch_id, exc)
            except Exception as exc:  # a sandbox bug must not leave the batch pending forever
                error = ApiError(500, "InternalError", f"sandbox error: {exc!r}")
                message = self._rejected_message(workspace_id, channel_id, item, batch_id, error)
            with self._lock:
                if generation != self._generation:
                    continue  # reset() while the batch was queued
                self._store_locked(message)
                left = self._pending.get(batch_id, 1) - 1
                if left > 0:
                    self._pending[batch_id] = left
                else:
                    self._pending.pop(batch_id, None)
                self._changed.notify_all()

    def _store_locked(self, message: dict) -> None:
        self._messages.append(message)
        self._by_id[message["id"]] = message

    def _build_message(
        self, workspace_id: str, channel_id: str, payload: Any, *, batch_id: str | None = None
    ) -> dict:
        """Validate one CreateMessage against every rule; the accepted message or ApiError."""
        details = validation_details("create_message", payload)
        if details:
            raise _invalid(details)
        status = "accepted"
        if payload.get("scheduledFor") is not None:
            when = parse_date_time(payload["scheduledFor"])  # valid: validated above
            if when is not None and when > datetime.now(UTC):
                status = "scheduled"
        rendered = None
        if payload.get("template") is not None:
            rendered = self._render_template(payload["template"])
        else:
            content = payload["body"]
            if content["type"] in MMS_BODY_TYPES and not CHANNELS[channel_id]["mms"]:
                raise ApiError(
                    409,
                    "ConflictingConditions",
                    f"channel {channel_id} does not support MMS ({content['type']} body)",
                )
            rendered = (content.get(content["type"]) or {}).get("text")
        rejected = self.reject_recipients
        contacts = payload["receiver"]["contacts"]
        for index, contact in enumerate(contacts):
            if contact.get("identifierValue") in rejected:
                raise ApiError(
                    422,
                    "RecipientRejected",
                    # Echoes the number, as real APIs' messages do: clients must mask it.
                    f"The recipient {contact['identifierValue']} cannot receive messages",
                    {f"receiver.contacts.{index}.identifierValue": ["recipient is rejected"]},
                )
        message = self._message_shell(workspace_id, channel_id, payload, batch_id)
        message["status"] = status
        if rendered is not None:
            # What the person would read; kept in Bird's free-form extraInformation.
            meta = message["meta"] = dict(message.get("meta") or {})
            extra = meta["extraInformation"] = dict(meta.get("extraInformation") or {})
            extra["renderedText"] = rendered
        return message

    def _message_shell(
        self, workspace_id: str, channel_id: str, payload: dict, batch_id: str | None
    ) -> dict:
        channel = CHANNELS[channel_id]
        now = _timestamp()
        contacts = []
        receiver = payload.get("receiver")
        raw_contacts = receiver.get("contacts") if isinstance(receiver, dict) else None
        for contact in raw_contacts if isinstance(raw_contacts, list) else []:
            if not isinstance(contact, dict):
                continue
            contact = dict(contact)
            identifier = contact.get("identifierValue") or contact.get("platformAddress") or ""
            contact.setdefault("id", _contact_id(workspace_id, identifier))
            if "identifierValue" in contact:
                contact.setdefault("identifierKey", "phonenumber")
            contact.setdefault("type", "to")
            contacts.append(contact)
        message: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "channelId": channel_id,
            "sender": {
                "connector": {
                    "id": channel["connectorId"],
                    "identifierValue": channel["identifier"],
                }
            },
            "receiver": {"contacts": contacts},
        }
        # The payload was parsed for this request alone, so its parts can be shared; only
        # ``meta`` is extended later and gets copied there.
        for key in ("body", "template", "reference", "meta", "replyTo", "shortLinks"):
            if payload.get(key) is not None:
                message[key] = payload[key]
        if isinstance(payload.get("tags"), list):
            # Bird stores tags lower-cased.
            message["tags"] = [t.lower() if isinstance(t, str) else t for t in payload["tags"]]
        if payload.get("scheduledFor") is not None:
            message["scheduledFor"] = payload["scheduledFor"]
        if batch_id is not None:
            message["batchId"] = batch_id
        message.update(
            status="accepted",
            direction="outgoing",
            lastStatusAt=now,
            createdAt=now,
            updatedAt=now,
        )
        return message

    def _rejected_message(
        self, workspace_id: str, channel_id: str, payload: Any, batch_id: str, error: ApiError
    ) -> dict:
        payload = payload if isinstance(payload, dict) else {}
        message = self._message_shell(workspace_id, channel_id, payload, batch_id)
        description = error.message
        if error.details:
            description += ": " + "; ".join(
                f"{where} {', '.join(problems)}" for where, problems in error.details.items()
            )
        message.update(
            status="rejected",
            reason=description,
            failure={
                "code": FAILURE_CODES.get(error.code, 11000),
                "description": description,
                "source": {"name": "pre-processing", "code": error.code},
            },
        )
        return message

    @staticmethod
    def _render_template(template: dict) -> str:
        project = TEMPLATES.get(template["projectId"])
        if project is None:
            raise ApiError(
                404, "NotFound", "The requested resource does not exist: template project not found"
            )
        version_id = template.get("version") or "latest"
        if version_id == "latest":
            version = next(v for v in project["versions"].values() if v["active"])
        else:
            version = project["versions"].get(version_id)
            if version is None:
                raise ApiError(
                    404,
                    "NotFound",
                    "The requested resource does not exist: template version not found",
                )
            if not version["active"]:
                raise ApiError(
                    409, "ConflictingConditions", f"template version {version_id} is not active"
                )
        locale = template.get("locale") or "en"
        text = version["texts"].get(locale) or version["texts"].get(locale.split("-")[0].lower())
        if text is None:
            available = ", ".join(sorted(version["texts"]))
            raise _invalid(
                {"template.locale": [f"locale {locale!r} is not available ({available})"]}
            )
        values: dict[str, Any] = dict(template.get("variables") or {})
        problems: dict[str, list[str]] = {}
        for index, parameter in enumerate(template.get("parameters") or []):
            declared = project["parameters"].get(parameter["key"])
            if declared is not None and parameter["type"] != declared:
                problems[f"template.parameters.{index}.type"] = [f"must be {declared}"]
            values[parameter["key"]] = parameter.get("value")
        for name in project["parameters"]:
            if values.get(name) is None:
                problems.setdefault("template.parameters", []).append(
                    f"parameter {name!r} is required"
                )
        if problems:
            raise _invalid(problems)
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    # reading -----------------------------------------------------------------------------

    def _list_messages(self, channel_id: str, query: dict[str, str]) -> JsonResponse:
        raw_limit = query.get("limit", str(DEFAULT_LIST_LIMIT))
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise _invalid({"limit": [f"must be an integer between 1 and {MAX_LIST_LIMIT}"]})
        offset = _decode_token(query["pageToken"]) if query.get("pageToken") else 0
        batch_id = query.get("batchId")
        if batch_id:
            self.wait_idle(BATCH_SETTLE_TIMEOUT, batch_id=batch_id)
        with self._lock:
            selected = [
                m
                for m in self._messages
                if m["channelId"] == channel_id and (not batch_id or m.get("batchId") == batch_id)
            ]
            page = copy.deepcopy(selected[offset : offset + limit])
        result: dict[str, Any] = {"results": page}
        if offset + limit < len(selected):
            result["nextPageToken"] = _encode_token(offset + limit)
        return 200, dict(_JSON_HEADERS), result

    # control API -------------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> JsonResponse:
        """``/_sandbox/...``: inspection and configuration, unauthenticated, never recorded."""
        route = path[len("/_sandbox/") :].strip("/")
        try:
            fields = json.loads(body) if body else {}
        except ValueError:
            return ApiError(400, "InvalidRequest", "body must be JSON").response()
        if not isinstance(fields, dict):
            return ApiError(400, "InvalidRequest", "body must be a JSON object").response()
        ok = 200, dict(_JSON_HEADERS)
        try:
            if route == "health" and method == "GET":
                return (*ok, {"status": "ok"})
            if route == "messages" and method == "GET":
                self.wait_idle()
                return (*ok, {"results": self.messages()})
            if route == "requests" and method == "GET":
                return (*ok, {"results": [asdict(r) for r in self.requests()]})
            if route == "faults" and method == "POST":
                self.inject(**fields)
                return (*ok, {"queued": fields.get("count", 1)})
            if route == "faults" and method == "DELETE":
                self.clear_faults()
                return (*ok, {})
            if route == "config" and method in ("GET", "POST"):
                return (*ok, self.configure(**fields) if method == "POST" else self.config())
            if route == "reset" and method == "POST":
                self.reset()
                return (*ok, {})
        except (TypeError, ValueError) as exc:
            return ApiError(400, "InvalidRequest", str(exc)).response()
        return ApiError(404, "NotFound", f"no control route {method} {path}").response()
