"""Check request payloads against Bird's own schemas, as vendored in the package
(``airflow_provider_sms/bird/schema``) and loaded by its loader: the whole ``CreateMessage``,
unions tried branch by branch, formats unchecked, as a plain validator would.

Test modules import this as ``import bird_contract`` (pytest's default import mode puts the
``tests`` directory on ``sys.path``).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_sms.bird import schema as bird_schema


def load_create_message_validator():
    """A jsonschema validator for Bird's ``CreateMessage``."""
    return bird_schema.create_message_validator()


def load_create_batch_validator():
    """A jsonschema validator for Bird's ``CreateBatchMessages`` (items: ``CreateMessage``)."""
    return bird_schema.create_batch_validator()


def _errors(validator, payload: Any) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(payload)
    ]


def bird_errors(payload: Any) -> list[str]:
    """Bird-schema violations of a ``CreateMessage`` payload; empty when valid."""
    return _errors(load_create_message_validator(), payload)


def bird_batch_errors(payload: Any) -> list[str]:
    """Bird-schema violations of a ``CreateBatchMessages`` payload; empty when valid."""
    return _errors(load_create_batch_validator(), payload)


def assert_valid_create_message(payload: Any) -> None:
    """Fail the test when Bird's schema rejects ``payload``."""
    errors = bird_errors(payload)
    assert not errors, "payload violates Bird's CreateMessage schema:\n" + "\n".join(errors)


def assert_valid_create_batch(payload: Any) -> None:
    """Fail the test when Bird's schema rejects a batch ``payload`` or any of its items."""
    errors = bird_batch_errors(payload)
    assert not errors, "payload violates Bird's CreateBatchMessages schema:\n" + "\n".join(errors)
