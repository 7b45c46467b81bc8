"""The error the message model raises for bad arguments."""

from __future__ import annotations

from airflow_provider_sms._redact import mask_phone, redact_numbers

__all__ = ["InvalidMessageError", "mask_phone", "redact_numbers"]


class InvalidMessageError(ValueError):
    """A message argument is invalid; ``field`` names it, ``problem`` says what is wrong.

    Subclassing ValueError lets callers that only know built-in exceptions catch it.
    Messages never carry a full phone number: callers mask them with ``mask_phone``.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def __reduce__(self):
        # Default exception pickling replays ``args`` (one string) into __init__, which
        # takes two; Airflow may pickle exceptions across process boundaries.
        return (type(self), (self.field, self.problem))
