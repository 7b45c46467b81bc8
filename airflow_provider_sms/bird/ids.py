"""Bird's ids (workspaces, channels, messages, batches, projects) are UUIDs: the one check,
made where an id is taken in and where it becomes part of a request path, where anything
else (say "..") could address another resource. No Airflow imports."""

from __future__ import annotations

from typing import Any

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.bird.facts import UUID_PATTERN


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and UUID_PATTERN.fullmatch(value.strip()) is not None


def checked_uuid(value: Any, field: str, *, alternative: str = "") -> str:
    """`value` stripped, if it is a UUID; else InvalidMessageError naming `field` and what was
    given (`alternative` names what else the field accepts, e.g. ``'"latest" or '``)."""
    if is_uuid(value):
        return value.strip()
    shown = f"{value!r:.80}" if isinstance(value, str) else f"{type(value).__name__} {value!r:.40}"
    raise InvalidMessageError(field, f"expected {alternative}a UUID, got {shown}")
