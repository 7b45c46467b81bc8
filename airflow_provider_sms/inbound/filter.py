"""Which inbound messages a watcher or a sensor wants: senders and a text pattern, checked
before any request (an error names the field). Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_sms.bird.errors import InvalidMessageError

# Longer patterns are refused: a pattern is a configuration value, not data.
MAX_PATTERN_LENGTH = 1000


@dataclass(frozen=True)
class InboundFilter:
    """Senders (E.164, empty for anyone) and a regular expression the text must match
    (``re.search``; None for any text)."""

    from_numbers: frozenset[str] = frozenset()
    pattern: re.Pattern | None = None

    @classmethod
    def build(
        cls,
        *,
        from_numbers: Any = None,
        pattern: Any = None,
        default_region: str | None = None,
        ignore_case: bool = True,
    ) -> InboundFilter:
        """Checked arguments: `from_numbers` as recipients are (one number, a comma list or
        a list), `pattern` a valid regular expression (case-insensitive unless
        `ignore_case` is false)."""
        numbers: frozenset[str] = frozenset()
        if from_numbers not in (None, "", [], ()):
            # phonenumbers loads only here
            from airflow_provider_sms.message.recipients import normalize_recipients

            numbers = frozenset(
                normalize_recipients(
                    from_numbers,
                    default_region=default_region,
                    field="from_numbers",
                    allow_premium_numbers=True,
                )
            )
        return cls(numbers, compile_pattern(pattern, ignore_case=ignore_case))

    def matches(self, message: dict) -> bool:
        """Whether an inbound message (``bird.objects.inbound_message``) is wanted."""
        if self.from_numbers and message.get("from") not in self.from_numbers:
            return False
        return self.pattern is None or self.pattern.search(message.get("text") or "") is not None


def compile_pattern(pattern: Any, *, ignore_case: bool = True, field: str = "pattern"):
    """`pattern` compiled, or None; an error names `field` and what is wrong with it."""
    if pattern is None or pattern == "":
        return None
    if not isinstance(pattern, str):
        raise InvalidMessageError(
            field, f"must be a regular expression string, got {type(pattern).__name__}"
        )
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidMessageError(
            field, f"is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH}"
        )
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise InvalidMessageError(
            field, f"is not a valid regular expression ({exc}): {pattern!r}"
        ) from None
