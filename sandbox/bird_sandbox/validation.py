"""Request validation for the sandbox: Bird's published schema
(:mod:`bird_sandbox.schema`) plus a few rules of the sandbox's own, with the
problems in Bird's 422 ``details`` shape ``{"dotted.field": ["problem", ...]}``.

Every request is validated. Two things keep that cheap:

* Bird's ``Body`` and ``TemplateParameter`` unions are checked against the branch their
  ``type`` names (:class:`~bird_sandbox.schema.DispatchingValidator`);
* the verdict on everything but the receiver is remembered, keyed on its canonical JSON
  (up to :data:`MEMO_SIZE` distinct messages, then the memo starts afresh). A bulk send
  repeats one body, template and options for every recipient, so only each receiver is
  checked afresh. This is exact: the receiver is checked against Bird's ``Receiver`` on its
  own, and what is remembered was checked with ``{}`` in its place, which ``Receiver``
  allows. The sandbox's own rules, the time-dependent one included, run on every message.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_sms.bird.facts import MAX_BATCH_SIZE, MAX_MEDIA, MAX_SCHEDULE_AHEAD_DAYS

from . import schema as bird_schema

MEMO_SIZE = 1024
MEMO_KEY_LIMIT = 16 * 1024  # larger messages are validated every time: the memo stays small
_MEMO: dict[str, tuple[tuple[str, str], ...]] = {}

# `format: uri` (media URLs): an absolute URL with a scheme. Validators do not check formats
# by themselves, and Bird cannot fetch media from a relative or empty URL.
_ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
# `format: date-time` (scheduledFor): RFC 3339, which Bird's schema asks for.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")

# What names a receiver's contact, one way or another.
_CONTACT_KEYS = ("identifierValue", "id", "identifiers", "platformAddress")
# The lists of media in MMS bodies, by body type.
_MEDIA_LISTS = {"image": "images", "file": "files"}

BOTH = "body and template cannot be combined; set exactly one"
NEITHER = "either body or template is required"
TEMPLATE_UNNAMED = "either projectId or name is required"


def parse_date_time(value: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime (UTC when it names no offset), or None."""
    if not _RFC3339.fullmatch(value):
        return None
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@functools.cache
def _checks():
    """The validators, built on first use: importing jsonschema costs more than a request."""
    from jsonschema import FormatChecker

    formats = FormatChecker(formats=())
    formats.checks("uri")(lambda v: not isinstance(v, str) or bool(_ABSOLUTE_URL.fullmatch(v)))
    formats.checks("date-time")(lambda v: not isinstance(v, str) or bool(parse_date_time(v)))
    message = bird_schema.DispatchingValidator(format_checker=formats)
    receiver = bird_schema.validator(bird_schema.ref("Receiver"), format_checker=formats)
    # What makes the memo exact (module docstring): CreateMessage says nothing of its
    # receiver beyond Receiver, which allows {}.
    properties = next(
        part["properties"]
        for part in bird_schema.schema(bird_schema.CREATE_MESSAGE)["allOf"]
        if "properties" in part
    )
    if properties["receiver"] != {"$ref": "#/components/schemas/Receiver"} or not (
        receiver.is_valid({})
    ):
        raise RuntimeError("CreateMessage's receiver is no longer a plain Receiver")
    envelope = bird_schema.batch_envelope_validator(format_checker=formats)
    return message, receiver, envelope


# -- jsonschema errors as Bird's details ------------------------------------------------------


def _dotted(parts: Iterable) -> str:
    return ".".join(str(p) for p in parts)


def _listed(values: Iterable) -> str:
    return ", ".join("null" if v is None else str(v) for v in values)


def _problems(error, prefix: tuple = ()) -> list[tuple[str, str]]:
    """One jsonschema error as ``(dotted field path, problem)`` pairs."""
    path = [*prefix, *error.absolute_path]
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [p for p in value if isinstance(instance, dict) and p not in instance]
        return [(_dotted([*path, p]), "is required") for p in missing]
    if kind == "additionalProperties":
        known = error.schema.get("properties", {})
        return [(_dotted([*path, k]), "is not a known field") for k in instance if k not in known]
    if kind == "anyOf" and all(set(branch) <= {"type", "title", "required"} for branch in value):
        # Alternatives that each require a field (CreateMessage: template or body).
        names = sorted(name for branch in value for name in branch.get("required", ()))
        problem = "either " + " or ".join(names) + " is required"
        return [(_dotted([*path, name]), problem) for name in names]
    where = _dotted(path) or "request"
    if kind == "minLength":
        return [(where, "must not be empty" if value == 1 else f"needs {value}+ characters")]
    if kind == "maxLength":
        return [(where, f"must be at most {value} characters")]
    if kind == "minItems":
        return [(where, f"must contain at least {value} item(s)")]
    if kind == "maxItems":
        return [(where, f"must contain at most {value} items")]
    if kind == "type":
        expected = value if isinstance(value, str) else " or ".join(value)
        return [(where, f"must be of type {expected}")]
    if kind in ("enum", "const"):
        return [(where, "must be one of: " + _listed(value if kind == "enum" else [value]))]
    if kind == "pattern":
        return [(where, f"must match {value}")]
    if kind == "format":
        described = {"uri": "an absolute URL", "date-time": "an RFC 3339 date-time"}
        return [(where, f"must be {described.get(value, value)}")]
    if kind == "minimum":
        return [(where, f"must be at least {value}")]
    if kind == "maximum":
        return [(where, f"must be at most {value}")]
    return [(where, error.message)]


def _pairs(errors: Iterable, prefix: tuple = ()) -> Iterator[tuple[str, str]]:
    for error in errors:
        yield from _problems(error, prefix)


def _schema_problems(message: Any) -> Iterable[tuple[str, str]]:
    """Bird's schema on a CreateMessage, the part shared between recipients remembered."""
    validator, receiver, _ = _checks()
    if not isinstance(message, dict):
        return list(_pairs(validator.iter_errors(message)))
    shared = {**message, "receiver": {}} if "receiver" in message else message
    key = json.dumps(shared, sort_keys=True, separators=(",", ":"))
    problems = _MEMO.get(key)
    if problems is None:
        problems = tuple(_pairs(validator.iter_errors(shared)))
        if len(key) <= MEMO_KEY_LIMIT:
            if len(_MEMO) >= MEMO_SIZE:
                _MEMO.clear()
            _MEMO[key] = problems
    if "receiver" not in message:
        return problems
    return [*problems, *_pairs(receiver.iter_errors(message["receiver"]), ("receiver",))]


# -- the sandbox's own rules ------------------------------------------------------------------


def _message_rules(message: dict) -> Iterator[tuple[str, str]]:
    """Rules the sandbox adds to Bird's schema, so that what it accepts Bird accepts too."""
    # Exactly one of body and template: the schema's anyOf lets both through, and Bird's docs
    # say to set body for every message except template sends. null counts as absent.
    has_body, has_template = message.get("body") is not None, message.get("template") is not None
    if has_body and has_template:
        yield "body", BOTH
        yield "template", BOTH
    elif not has_body and not has_template:
        yield "body", NEITHER
        yield "template", NEITHER

    # At least one contact, each naming someone: the schema's `minLength: 1` on the contacts
    # array constrains nothing (it applies to strings), and a message needs a recipient.
    receiver = message.get("receiver")
    if isinstance(receiver, dict):
        contacts = receiver.get("contacts")
        if contacts is None or contacts == []:
            yield "receiver.contacts", "must contain at least one contact"
        elif isinstance(contacts, list):
            for index, contact in enumerate(contacts):
                if isinstance(contact, dict) and not any(contact.get(k) for k in _CONTACT_KEYS):
                    yield (
                        f"receiver.contacts.{index}",
                        "needs identifierValue, id, identifiers or platformAddress",
                    )

    # 1 to MAX_MEDIA media items: Bird's documented MMS limit; the schema's `minLength: 1` on
    # the media arrays constrains nothing either.
    body = message.get("body")
    if isinstance(body, dict) and body.get("type") in _MEDIA_LISTS:
        kind = body["type"]
        content = body.get(kind)
        media = content.get(_MEDIA_LISTS[kind]) if isinstance(content, dict) else None
        where = f"body.{kind}.{_MEDIA_LISTS[kind]}"
        if media == []:
            yield where, "must contain at least 1 item"
        elif isinstance(media, list) and len(media) > MAX_MEDIA:
            yield where, f"must contain at most {MAX_MEDIA} items"

    # A template is found by its Studio project id or by its platform name (Bird's Template
    # allows either and makes no field required); a template naming neither is no template.
    template = message.get("template")
    if isinstance(template, dict) and not (template.get("projectId") or template.get("name")):
        yield "template.projectId", TEMPLATE_UNNAMED
        yield "template.name", TEMPLATE_UNNAMED

    # At most MAX_SCHEDULE_AHEAD_DAYS ahead (the schema's ScheduledFor description).
    scheduled = message.get("scheduledFor")
    moment = parse_date_time(scheduled) if isinstance(scheduled, str) else None
    if moment is not None and moment - datetime.now(UTC) > timedelta(days=MAX_SCHEDULE_AHEAD_DAYS):
        yield "scheduledFor", f"must be at most {MAX_SCHEDULE_AHEAD_DAYS} days in the future"


def _batch_rules(batch: dict) -> Iterator[tuple[str, str]]:
    # A batch holds 1 to MAX_BATCH_SIZE messages: the schema states the maximum only in its
    # description ("up to 100"), and a batch without messageRequests sends nothing.
    requests = batch.get("messageRequests")
    if "messageRequests" not in batch:
        yield "messageRequests", "is required"
    elif isinstance(requests, list) and len(requests) > MAX_BATCH_SIZE:
        yield "messageRequests", f"must contain at most {MAX_BATCH_SIZE} items"


# -- entry point ------------------------------------------------------------------------------


def validation_details(name: str, instance: Any) -> dict[str, list[str]]:
    """Problems with ``instance`` as ``{dotted.field: [problem, ...]}``; empty when valid.

    ``name`` is "create_message" (one CreateMessage) or "create_batch" (the batch envelope;
    its items are each validated as "create_message" afterwards, as Bird does).
    """
    if name == "create_message":
        pairs: Iterable[tuple[str, str]] = _schema_problems(instance)
        if isinstance(instance, dict):
            pairs = [*pairs, *_message_rules(instance)]
    elif name == "create_batch":
        pairs = list(_pairs(_checks()[2].iter_errors(instance)))
        if isinstance(instance, dict):
            pairs += list(_batch_rules(instance))
    else:
        raise ValueError(f"unknown request kind {name!r}")
    details: dict[str, list[str]] = {}
    for where, problem in pairs:
        problems = details.setdefault(where, [])
        if problem not in problems:
            problems.append(problem)
    return details
