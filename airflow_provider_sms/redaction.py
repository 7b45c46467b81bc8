"""Masking phone numbers for logs and error text; shared by the message checks and the Bird
client's errors (standard library only)."""

from __future__ import annotations

import re
from typing import Any

_MAX_MASK = 15


def mask_phone(value: Any) -> str:
    """Mask a phone number for logs and errors: ``+31612345678`` -> ``+316*******78``.

    Keeps a leading ``+``, the first 3 and the last 2 characters; shorter input shows
    less, and long garbage is cut so a message stays readable.
    """
    text = str(value).strip()
    plus = "+" if text.startswith("+") else ""
    rest = text[len(plus) :]
    n = len(rest)
    if n >= 8:
        head, tail = 3, 2
    elif n >= 5:
        head, tail = 1, 1
    else:
        head, tail = 0, 0
    hidden = min(n - head - tail, _MAX_MASK)
    return f"{plus}{rest[:head]}{'*' * hidden}{rest[n - tail :] if tail else ''}"


# An international number, "+" (or URL-encoded "%2B") then digits with the separators people
# write; or a bare run of 8 to 15 digits that is not part of a word, UUID or longer number.
# Masking an id that merely looks like a number is the price of never showing a phone number.
_PHONE_LIKE = re.compile(r"(?:\+|%2B)\d(?:[\s().\-]{0,2}\d){6,14}|(?<![\w.-])\d{8,15}(?![\w-])")


# A number in national format: groups of digits with separators, "(415) 555-2671",
# "415-555-2671", "06 1234 5678"; masked from 9 digits on, so that a date stays readable.
_NATIONAL = re.compile(
    r"(?<![\w.+-])(?:\(\d{1,4}\)\s?|\d{1,4}[\s.\-/])(?:\d{1,5}[\s.\-/]){0,3}\d{2,8}(?![\w-])"
)
_MIN_NATIONAL_DIGITS = 9


def _mask_national(match: re.Match) -> str:
    text = match.group()
    if sum(c.isdigit() for c in text) < _MIN_NATIONAL_DIGITS:
        return text
    return mask_phone(text)


def redact_numbers(text: str) -> str:
    """`text` (e.g. an API error that quotes the request) with every phone-number-like run of
    digits masked, whoever's number it is, international or national."""
    return _NATIONAL.sub(_mask_national, _PHONE_LIKE.sub(lambda m: mask_phone(m.group()), text))
