"""Bird's published request schemas (the JSON files beside this module) as JSON-schema
validators, for the sandbox and the contract tests.

The files are Bird's text, unchanged (``SOURCE.md``). Loading them:

* OpenAPI 3.0 ``nullable: true`` becomes a JSON-schema union with ``null``;
* the batch fragment's reference to ``CreateMessage`` points into the createChannelMessage
  document, where that schema lives;
* :data:`OVERLAYS` adds the few fields Bird documents but its published schema lacks, each
  citing its page;
* the documents are registered with ``referencing`` under the URIs below, so that
  ``#/components/schemas/...`` references resolve.

Validators are compiled once per process (compiling costs far more than validating) and may be
shared between threads. They validate against the documents with their references inlined,
which means the same and spares a registry lookup per ``$ref`` on every validation.

Bird's ``Body`` and ``TemplateParameter`` are ``oneOf`` unions told apart by their ``type``: a
validator tries every branch, which is slow and reports the errors of branches that were never
meant. :class:`DispatchingValidator` validates them against the branch their ``type`` names
instead, with the same verdict.

Standard library at import; ``jsonschema`` and ``referencing`` are imported on first use.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections.abc import Iterator
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
UNIONS = {
    "Body": (("body",), "type"),
    "TemplateParameter": (("template", "parameters", "*"), "type"),
}


# -- the documents ---------------------------------------------------------------------------


def read_vendored(filename: str) -> Any:
    """One vendored file, parsed, exactly as Bird published it (a fresh copy each call)."""
    return json.loads(resources.files(__name__).joinpath(filename).read_text(encoding="utf-8"))


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


# -- unions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Union:
    """A oneOf of :data:`UNIONS`, split: :func:`split_document` holds its common part."""

    name: str
    path: tuple  # where its values sit in a CreateMessage
    prop: str  # the property that tells its branches apart
    branches: dict[str, str]  # each value of ``prop`` that has a branch, and its URI
    # Values of ``prop`` that the union's common part allows but no branch takes: Bird's
    # schema rejects them, so the dispatching validator must too.
    branchless: frozenset[str]


def _resolve_local(doc: dict, reference: str) -> Any:
    return _at(doc, _split_uri(reference)[1])


def _enum_of(doc: dict, node: dict, prop: str) -> set | None:
    """The values a schema's ``allOf`` parts allow for ``prop``, when they say."""
    for member in node.get("allOf", [node]):
        definition = member.get("properties", {}).get(prop)
        if definition is not None and "$ref" in definition:
            definition = _resolve_local(doc, definition["$ref"])
        if definition is not None and "enum" in definition:
            return set(definition["enum"])
    return None


def _split_union(doc: dict, name: str) -> tuple[dict, Union]:
    """Split component ``name``, a oneOf told apart by one property, into the schema without
    the oneOf (what every value must satisfy) and a :class:`Union`."""
    node = doc["components"]["schemas"][name]
    path, prop = UNIONS[name]
    # Body: allOf [common part, oneOf + discriminator]. TemplateParameter: a bare oneOf.
    members = node.get("allOf", [node])
    [union] = [m for m in members if "oneOf" in m]
    local: dict[str, str] = {}
    required = []
    for index, branch in enumerate(union["oneOf"]):
        target = branch.get("$ref") or f"#/components/schemas/{name}/oneOf/{index}"
        resolved = _resolve_local(doc, target)
        [value] = resolved["properties"][prop]["enum"]
        local[value] = target
        required.append(set(resolved.get("required", ())))
    if len(local) != len(union["oneOf"]):
        # Two branches for one value: a value could pass both, which the oneOf rejects.
        raise RuntimeError(f"{name}: two branches share a {prop!r} value")
    if union is node:
        head = {
            "type": "object",
            "required": sorted(set.intersection(*required)),
            "properties": {prop: {"type": "string", "enum": list(local)}},
        }
    else:
        head = {**node, "allOf": [m for m in members if m is not union]}
    allowed = _enum_of(doc, head, prop)
    if allowed is None:
        raise RuntimeError(f"{name}: its common part does not list the values of {prop!r}")
    # A value passes the oneOf only in the branch whose enum holds it, and only if the common
    # part allows it too. The discriminator's mapping is not used: Bird's maps "action" to
    # TypeAction, whose type is "permission_request", so no "action" body passes the oneOf.
    branches = {v: DOCUMENT_URI + target for v, target in local.items() if v in allowed}
    return head, Union(name, path, prop, branches, frozenset(allowed - set(local)))


@functools.cache
def _split() -> tuple[dict, tuple[Union, ...]]:
    doc = copy.deepcopy(document())
    schemas = doc["components"]["schemas"]
    # Where the unions sit in CreateMessage: a moved union must not go unchecked.
    message = next(m for m in schemas[CREATE_MESSAGE]["allOf"] if "properties" in m)
    body = message["properties"]["body"]
    parameter = schemas["Template"]["properties"]["parameters"]["items"]
    if body != {"$ref": "#/components/schemas/Body"} or parameter != {
        "$ref": "#/components/schemas/TemplateParameter"
    }:
        raise RuntimeError("CreateMessage no longer holds its unions where UNIONS says")
    unions = []
    for name in UNIONS:
        schemas[name], union = _split_union(document(), name)
        unions.append(union)
    # The batch envelope: Bird checks each item after accepting the batch, so only the shape
    # of the list is checked on receipt (its items are CreateMessage objects).
    envelope = copy.deepcopy(batch_document()["components"]["schemas"][CREATE_BATCH_MESSAGES])
    envelope["properties"]["messageRequests"]["items"] = {"type": "object"}
    schemas[CREATE_BATCH_MESSAGES] = envelope
    return doc, tuple(unions)


def split_document() -> dict:
    """The createChannelMessage document with each union of :data:`UNIONS` reduced to the part
    that all its values satisfy (their ``type`` among those Bird allows), plus the batch
    envelope (``CreateBatchMessages``, its items only checked for being objects). Do not
    modify it."""
    return _split()[0]


def unions() -> tuple[Union, ...]:
    """The unions :class:`DispatchingValidator` splits."""
    return _split()[1]


# -- validators ------------------------------------------------------------------------------

_VALIDATORS: dict[tuple[str, Any], Any] = {}
_LOCK = threading.Lock()


def _documents() -> dict[str, dict]:
    return {DOCUMENT_URI: document(), BATCH_URI: batch_document(), SPLIT_URI: split_document()}


def _split_uri(uri: str) -> tuple[str, str]:
    base, _, pointer = uri.partition("#")
    return base, pointer


def _at(doc: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/") if pointer.strip("/") else ():
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


@functools.cache
def _inlined() -> dict[str, dict]:
    """The documents with each reference replaced by what it names, except where that would
    recurse (those stay, made absolute). Same meaning under Draft 7, whose ``$ref`` ignores
    its siblings, and much faster to validate against: each ``$ref`` costs a registry lookup
    on every validation."""
    documents = _documents()
    done: dict[str, Any] = {}

    def walk(node: Any, base: str, stack: frozenset) -> Any:
        if isinstance(node, list):
            return [walk(item, base, stack) for item in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str):
            target_base, pointer = _split_uri(reference)
            target = (target_base or base) + "#" + pointer
            if target in stack:
                return {"$ref": target}
            if target not in done:
                named = _at(documents[target_base or base], pointer)
                done[target] = walk(named, target_base or base, stack | {target})
            return done[target]
        return {key: walk(value, base, stack) for key, value in node.items()}

    return {uri: walk(doc, uri, frozenset()) for uri, doc in documents.items()}


@functools.cache
def registry():
    """A ``referencing`` registry holding the three documents (references inlined)."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    return Registry().with_resources(
        (uri, Resource.from_contents(contents, default_specification=DRAFT7))
        for uri, contents in _inlined().items()
    )


def _has_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_has_ref(value) for value in node.values())
    if isinstance(node, list):
        return any(_has_ref(item) for item in node)
    return False


def validator(uri: str, *, format_checker: Any = None):
    """A Draft 7 validator for the schema at ``uri`` (see :func:`ref`), built once per
    process for each ``format_checker``. Formats are not checked without one."""
    key = (uri, format_checker)
    found = _VALIDATORS.get(key)
    if found is None:
        with _LOCK:
            found = _VALIDATORS.get(key)
            if found is None:
                from jsonschema import Draft7Validator

                base, pointer = _split_uri(uri)
                target = _at(_inlined()[base], pointer)
                if _has_ref(target):  # recursive: resolved through the registry
                    target = {"$ref": uri}
                found = Draft7Validator(target, registry=registry(), format_checker=format_checker)
                _VALIDATORS[key] = found
    return found


def create_message_validator(*, format_checker: Any = None):
    """Bird's ``CreateMessage``, all of it (unions tried branch by branch)."""
    return validator(ref(CREATE_MESSAGE), format_checker=format_checker)


def create_batch_validator(*, format_checker: Any = None):
    """Bird's ``CreateBatchMessages``, every item checked as ``CreateMessage``."""
    return validator(ref(CREATE_BATCH_MESSAGES, BATCH_URI), format_checker=format_checker)


def batch_envelope_validator(*, format_checker: Any = None):
    """``CreateBatchMessages`` with each item only checked for being an object: what is
    checked before a batch is accepted, its items being checked one by one afterwards."""
    return validator(ref(CREATE_BATCH_MESSAGES, SPLIT_URI), format_checker=format_checker)


class DispatchingValidator:
    """Bird's ``CreateMessage`` with each union value checked against the one branch its
    ``type`` names: valid exactly when :func:`create_message_validator` says so, several times
    faster, and its errors are those of that branch. Error paths start at the message."""

    def __init__(self, *, format_checker: Any = None):
        from jsonschema import Draft7Validator

        self._head = validator(ref(CREATE_MESSAGE, SPLIT_URI), format_checker=format_checker)
        self._unions = [
            (
                union,
                {
                    v: validator(uri, format_checker=format_checker)
                    for v, uri in union.branches.items()
                },
                # Answers a value no branch takes, as the oneOf would reject it.
                Draft7Validator({"enum": list(union.branches)}),
            )
            for union in unions()
        ]

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        yield from self._head.iter_errors(instance)
        for union, branches, types in self._unions:
            for where, value in _values_at(instance, union.path, ()):
                kind = value.get(union.prop) if isinstance(value, dict) else None
                if not isinstance(kind, str):
                    continue  # not an object, or no type: the head said so
                branch = branches.get(kind)
                if branch is not None:
                    errors = branch.iter_errors(value)
                elif kind in union.branchless:
                    errors = types.iter_errors(kind)
                    where = (*where, union.prop)
                else:
                    continue  # a type Bird does not know: the head said so
                for error in errors:
                    error.path.extendleft(reversed(where))
                    yield error

    def is_valid(self, instance: Any) -> bool:
        return next(self.iter_errors(instance), None) is None


def _values_at(instance: Any, path: tuple, where: tuple) -> Iterator[tuple[tuple, Any]]:
    if not path:
        yield where, instance
        return
    step, rest = path[0], path[1:]
    if step == "*":
        if isinstance(instance, list):
            for index, item in enumerate(instance):
                yield from _values_at(item, rest, (*where, index))
    elif isinstance(instance, dict) and step in instance:
        yield from _values_at(instance[step], rest, (*where, step))
