"""Check request payloads against Bird's own ``CreateMessage`` schema.

Bird's OpenAPI fragment lives in a reference folder next to the project (``../shared/bird``),
present in CI and on developer machines but not in a user's clone, so everything here degrades
to "unavailable" instead of failing when it is absent.

Test modules import this as ``import bird_contract`` (pytest's default import mode puts the
``tests`` directory on ``sys.path``).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

# Beside the project by default; BIRD_REFERENCE_DIR points elsewhere.
BIRD_DIR = Path(
    os.environ.get("BIRD_REFERENCE_DIR") or Path(__file__).resolve().parents[2] / "shared" / "bird"
)
OPENAPI_FILE = BIRD_DIR / "create-channel-message.openapi.json"
_BASE_URI = "urn:bird:create-channel-message"

BIRD_SCHEMA_AVAILABLE = OPENAPI_FILE.is_file()
requires_bird_schema = pytest.mark.skipif(
    not BIRD_SCHEMA_AVAILABLE, reason=f"Bird reference schema not found at {OPENAPI_FILE}"
)


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` becomes a JSON-schema union with ``null``."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _openapi_to_jsonschema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            # No plain type to widen (e.g. an allOf composition): allow null alongside it.
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def load_create_message_validator():
    """A jsonschema validator for Bird's ``CreateMessage``, or None when the file is absent."""
    if not BIRD_SCHEMA_AVAILABLE:
        return None
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    document = _openapi_to_jsonschema(json.loads(OPENAPI_FILE.read_text()))
    # The whole document is registered so "#/components/schemas/..." references resolve.
    registry = Registry().with_resource(
        _BASE_URI, Resource.from_contents(document, default_specification=DRAFT7)
    )
    return Draft7Validator(
        {"$ref": f"{_BASE_URI}#/components/schemas/CreateMessage"}, registry=registry
    )


def bird_errors(payload: Any) -> list[str] | None:
    """Bird-schema violations of ``payload`` (empty when valid); None when unavailable."""
    validator = load_create_message_validator()
    if validator is None:
        return None
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(payload)
    ]


def assert_valid_create_message(payload: Any) -> bool:
    """Fail the test when Bird's schema rejects ``payload``.

    Returns False (and checks nothing) when the reference folder is absent, True otherwise.
    """
    errors = bird_errors(payload)
    if errors is None:
        return False
    assert not errors, "payload violates Bird's CreateMessage schema:\n" + "\n".join(errors)
    return True
