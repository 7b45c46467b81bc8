"""Bird's ``oneOf`` unions told apart by ``type`` (``Body``, ``TemplateParameter``): the
document split so that each branch can be validated alone."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

from .documents import (
    CREATE_BATCH_MESSAGES,
    CREATE_MESSAGE,
    DOCUMENT_URI,
    at_pointer,
    batch_document,
    document,
    split_uri,
)

UNIONS = {
    "Body": (("body",), "type"),
    "TemplateParameter": (("template", "parameters", "*"), "type"),
}


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
    return at_pointer(doc, split_uri(reference)[1])


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
