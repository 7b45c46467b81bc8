"""Request validation for the sandbox: its own JSON schemas (``schema.py``), compiled once,
with errors turned into Bird's ``details`` shape (``{"dotted.field": ["problem", ...]}``)."""

from __future__ import annotations

import threading
from typing import Any

from . import schema

_VALIDATORS: dict[str, Any] = {}
_VALIDATORS_LOCK = threading.Lock()


def _schema_for(name: str) -> dict:
    if name.startswith("body:"):
        return schema.BODY_SCHEMAS[name[len("body:") :]]
    return {
        "create_message": schema.CREATE_MESSAGE_SCHEMA,
        "create_batch": schema.CREATE_BATCH_MESSAGES_SCHEMA,
    }[name]


def _validator(name: str):
    # Built once per process: compiling a validator costs far more than running it.
    validator = _VALIDATORS.get(name)
    if validator is None:
        with _VALIDATORS_LOCK:
            validator = _VALIDATORS.get(name)
            if validator is None:
                from jsonschema import Draft202012Validator

                doc = _schema_for(name)
                Draft202012Validator.check_schema(doc)
                validator = _VALIDATORS[name] = Draft202012Validator(doc)
    return validator


def _dotted(parts) -> str:
    return ".".join(str(p) for p in parts)


def _problems(error, prefix: tuple) -> list[tuple[str, str]]:
    """Turn one jsonschema error into ``(dotted field path, problem)`` pairs."""
    path = [*prefix, *error.absolute_path]
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [p for p in value if isinstance(instance, dict) and p not in instance]
        return [(_dotted([*path, p]), "is required") for p in missing]
    if kind == "additionalProperties":
        known = error.schema.get("properties", {})
        return [(_dotted([*path, k]), "is not a known field") for k in instance if k not in known]
    if kind == "anyOf" and path[-2:-1] == ["contacts"]:
        return [(_dotted(path), "needs identifierValue, id, identifiers or platformAddress")]
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
        options = value if kind == "enum" else [value]
        return [(where, "must be one of: " + ", ".join(str(v) for v in options))]
    if kind == "pattern":
        return [(where, f"must match {value}")]
    if kind == "minimum":
        return [(where, f"must be at least {value}")]
    return [(where, error.message)]


def _collect(name: str, instance: Any, prefix: tuple, details: dict[str, list[str]]) -> None:
    for error in _validator(name).iter_errors(instance):
        for where, problem in _problems(error, prefix):
            problems = details.setdefault(where, [])
            if problem not in problems:
                problems.append(problem)


def validation_details(name: str, instance: Any) -> dict[str, list[str]]:
    """Problems with ``instance`` as ``{dotted.field: [problem, ...]}``; empty when valid.

    ``name`` is "create_message" (including the rules the schema cannot express cheaply) or
    "create_batch" (the batch envelope only).
    """
    details: dict[str, list[str]] = {}
    _collect(name, instance, (), details)
    if name != "create_message" or not isinstance(instance, dict):
        return details
    if "body" in instance and "template" in instance:
        problem = "body and template cannot be combined; set exactly one"
        details.setdefault("body", []).append(problem)
        details.setdefault("template", []).append(problem)
    elif "body" not in instance and "template" not in instance:
        details.setdefault("body", []).append("either body or template is required")
    content = instance.get("body")
    if isinstance(content, dict) and content.get("type") in schema.BODY_SCHEMAS:
        _collect(f"body:{content['type']}", content, ("body",), details)
    return details
