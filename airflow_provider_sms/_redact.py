"""Masking phone numbers for logs and error text; shared by the message model and the Bird
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


def redact_numbers(text: str) -> str:
    """`text` (e.g. an API error that quotes the request) with every phone-number-like run of
    digits masked, whoever's number it is."""
    return _PHONE_LIKE.sub(lambda match: mask_phone(match.group()), text)
