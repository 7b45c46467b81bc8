"""Validators of Bird's schemas, compiled once per process and shared between threads, against
the documents with their references inlined; :class:`DispatchingValidator` validates each
union member against the branch its ``type`` names."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

from .documents import (
    BATCH_URI,
    CREATE_BATCH_MESSAGES,
    CREATE_MESSAGE,
    DOCUMENT_URI,
    SPLIT_URI,
    at_pointer,
    batch_document,
    document,
    ref,
    split_uri,
)
from .unions import split_document, unions

# -- validators ------------------------------------------------------------------------------

_VALIDATORS: dict[tuple[str, Any], Any] = {}
_LOCK = threading.Lock()


def _documents() -> dict[str, dict]:
    return {DOCUMENT_URI: document(), BATCH_URI: batch_document(), SPLIT_URI: split_document()}


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
            target_base, pointer = split_uri(reference)
            target = (target_base or base) + "#" + pointer
            if target in stack:
                return {"$ref": target}
            if target not in done:
                named = at_pointer(documents[target_base or base], pointer)
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

                base, pointer = split_uri(uri)
                target = at_pointer(_inlined()[base], pointer)
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
            for where, value in _valuesat_pointer(instance, union.path, ()):
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


def _valuesat_pointer(instance: Any, path: tuple, where: tuple) -> Iterator[tuple[tuple, Any]]:
    if not path:
        yield where, instance
        return
    step, rest = path[0], path[1:]
    if step == "*":
        if isinstance(instance, list):
            for index, item in enumerate(instance):
                yield from _valuesat_pointer(item, rest, (*where, index))
    elif isinstance(instance, dict) and step in instance:
        yield from _valuesat_pointer(instance[step], rest, (*where, step))
