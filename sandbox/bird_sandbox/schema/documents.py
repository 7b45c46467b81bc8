"""Bird's published documents as JSON schema: read as vendored, OpenAPI's `nullable` turned into
unions with null, the batch fragment pointed into the createChannelMessage document, and the
documented fields Bird's published schema lacks laid over it (:data:`OVERLAYS`)."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

CREATE_MESSAGE_FILE = "create-channel-message.openapi.json"
CREATE_BATCH_FILE = "create-batch-messages.fragment.json"

# Where each document is registered; "<uri>#/components/schemas/<name>" names a schema.
DOCUMENT_URI = "urn:bird:create-channel-message"
BATCH_URI = "urn:bird:create-batch-messages"
# The createChannelMessage document with its unions reduced to what tells their branches apart
# (see split_document), and the batch envelope.
SPLIT_URI = "urn:bird:create-channel-message:split"

CREATE_MESSAGE = "CreateMessage"
CREATE_BATCH_MESSAGES = "CreateBatchMessages"

SMART_ENCODING_DOCS = (
    "https://docs.bird.com/api/channels-api/supported-channels/programmable-sms/"
    "sending-sms-messages/smart-encoding"
)


@dataclass(frozen=True)
class Overlay:
    """A field Bird documents on a page but not in its published schema."""

    schema: str  # the component schema that gains the field
    field: str
    definition: dict
    source: str  # the page that documents the field


OVERLAYS = (
    # `meta.sms.smartEncoding: true` asks Bird to replace characters outside GSM-7 (curly
    # quotes, long dashes) so an SMS costs fewer segments. The published Meta schema, which
    # forbids unknown fields, does not list `sms`.
    Overlay(
        schema="Meta",
        field="sms",
        definition={
            "type": "object",
            "additionalProperties": False,
            "properties": {"smartEncoding": {"type": "boolean"}},
        },
        source=SMART_ENCODING_DOCS,
    ),
)

# The oneOf unions inside CreateMessage that DispatchingValidator splits: where their values sit
# in a CreateMessage ("*": every item of a list) and the property that tells branches apart.


# -- the documents ---------------------------------------------------------------------------


def read_vendored(filename: str) -> Any:
    """One vendored file, parsed, exactly as Bird published it (a fresh copy each call)."""
    return json.loads(resources.files(__package__).joinpath(filename).read_text(encoding="utf-8"))


def openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` becomes a JSON-schema union with ``null``."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: openapi_to_jsonschema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            # No plain type to widen (e.g. an allOf composition): allow null alongside it.
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def apply_overlays(document: dict, overlays: tuple[Overlay, ...] = OVERLAYS) -> dict:
    """Add each overlay's field to its schema (in place); fails once Bird's schema defines
    the field itself, so that the overlay is reviewed and dropped."""
    schemas = document["components"]["schemas"]
    for overlay in overlays:
        properties = schemas[overlay.schema].setdefault("properties", {})
        if overlay.field in properties:
            raise RuntimeError(
                f"Bird's {overlay.schema} schema now defines {overlay.field!r}: "
                f"drop the overlay taken from {overlay.source}"
            )
        properties[overlay.field] = copy.deepcopy(overlay.definition)
    return document


def _point_into(node: Any, local: set[str], target: str) -> Any:
    """References to component schemas that ``local`` does not define point into ``target``."""
    if isinstance(node, list):
        return [_point_into(item, local, target) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _point_into(value, local, target) for key, value in node.items()}
    ref = converted.get("$ref")
    prefix = "#/components/schemas/"
    if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in local:
        converted["$ref"] = target + ref
    return converted


@functools.cache
def document() -> dict:
    """The createChannelMessage document as JSON schema, with :data:`OVERLAYS`.

    Shared by every caller: do not modify it.
    """
    return apply_overlays(openapi_to_jsonschema(read_vendored(CREATE_MESSAGE_FILE)))


@functools.cache
def batch_document() -> dict:
    """The CreateBatchMessages fragment as JSON schema; its items are createChannelMessage's
    ``CreateMessage``. Shared by every caller: do not modify it."""
    fragment = openapi_to_jsonschema(read_vendored(CREATE_BATCH_FILE))
    local = set(fragment["components"]["schemas"])
    return _point_into(fragment, local, DOCUMENT_URI)


def schema(name: str) -> dict:
    """A component schema of the createChannelMessage document (do not modify it)."""
    return document()["components"]["schemas"][name]


def ref(name: str, uri: str = DOCUMENT_URI) -> str:
    """The URI naming a component schema, for :func:`validator`."""
    return f"{uri}#/components/schemas/{name}"


def split_uri(uri: str) -> tuple[str, str]:
    base, _, pointer = uri.partition("#")
    return base, pointer


def at_pointer(doc: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/") if pointer.strip("/") else ():
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc
