"""Local SMS segment count, so a task can report (or cap) what a text will cost."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_sms.bird.errors import InvalidMessageError

# GSM 03.38 default alphabet. ESC (0x1B) is left out: it only introduces extension
# characters and is never a character of its own.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as ESC + char, i.e. two septets.
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

_GSM_SINGLE, _GSM_PART = 160, 153
_UCS2_SINGLE, _UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # Unicode code points in the text
    segments: int


def _count(units: list[int], single: int, part: int) -> int:
    total = sum(units)
    if total <= single:
        return 1 if total else 0
    # Multipart: fill each part greedily, but a 2-unit character (escape pair or
    # surrogate pair) that does not fit moves whole to the next part, as handsets
    # cannot reassemble a split pair.
    segments, used = 1, 0
    for u in units:
        if used + u > part:
            segments += 1
            used = 0
        used += u
    return segments


def count_segments(text: str) -> SegmentCount:
    """Count the SMS parts ``text`` needs; one non-GSM character makes it all UCS-2.

    An empty text needs 0 segments.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text):
        units = [2 if c in _GSM_EXTENSION else 1 for c in text]
        return SegmentCount("GSM-7", len(text), _count(units, _GSM_SINGLE, _GSM_PART))
    # UCS-2 on the wire is really UTF-16: characters beyond the BMP take two code units.
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SegmentCount("UCS-2", len(text), _count(units, _UCS2_SINGLE, _UCS2_PART))


def ucs2_characters(text: str) -> list[str]:
    """The characters of `text` outside GSM-7, each once, in order: what makes it UCS-2."""
    return list(dict.fromkeys(c for c in text if c not in _GSM_BASIC and c not in _GSM_EXTENSION))


def check_segments(text: str, max_segments: int, *, field: str = "text") -> SegmentCount:
    """The segment count of `text`; InvalidMessageError when it is over `max_segments`,
    naming the count, the encoding and the characters that forced UCS-2."""
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 1:
        raise InvalidMessageError(
            "max_segments", f"must be a positive integer, got {max_segments!r}"
        )
    count = count_segments(text)
    if count.segments > max_segments:
        problem = (
            f"needs {count.segments} {count.encoding} segments ({count.characters} characters), "
            f"more than max_segments={max_segments}"
        )
        if count.encoding == "UCS-2":
            shown = ", ".join(repr(c) for c in ucs2_characters(text)[:10])
            problem += f"; UCS-2 because of {shown} (GSM-7 would fit 153 characters a segment)"
        raise InvalidMessageError(field, problem)
    return count
