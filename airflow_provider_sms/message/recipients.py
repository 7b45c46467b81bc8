"""Recipient phone numbers: parse, validate and normalise to E.164, with masking for output."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.redaction import mask_phone

# A rendered template gives one string; people separate numbers with any of these.
_SEPARATORS = re.compile(r"[,;\r\n]+")
# phonenumbers happily extracts a number from surrounding text ("call 06... now"), so
# only characters used to write a number are let through to it.
_NUMBER_CHARS = re.compile(r"\+?[\d\s().\-/]+")
_MAX_LISTED = 20

_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong length for its country",
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
}
_PARSE_REASONS = {
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_NO_COUNTRY = "no country code; write it in international format or set default_region"


def _region(default_region: Any) -> str | None:
    if default_region is None:
        return None
    if not isinstance(default_region, str):
        raise InvalidMessageError(
            "default_region",
            f"expected a two-letter region code such as 'NL', got {type(default_region).__name__}",
        )
    region = default_region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidMessageError(
            "default_region",
            f"unknown region {default_region!r}; use an ISO 3166 alpha-2 code such as 'NL' or 'US'",
        )
    return region


def _type_error(field: str, value: Any) -> InvalidMessageError:
    return InvalidMessageError(
        field, f"expected a phone number as str or int, got {type(value).__name__}"
    )


def _rendered_list(text: str, field: str) -> list:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    # Strings only: `[+4915112345678]` would read back as an int, its "+" lost, and with a
    # default_region that int is a different, national, number.
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidMessageError(
            field,
            "got a string that looks like a list but cannot be read as a list of quoted "
            "numbers; pass a real list (render_template_as_native_obj=True) or a "
            "comma-separated string",
        )
    return value


def _entries(value: Any, field: str, international_ints: bool) -> list[str]:
    """Flatten the accepted input shapes into stripped, non-empty strings."""
    # An int cannot carry a leading "+" (nor a national leading 0), so without a default
    # region its digits can only be meant as country code + number.
    int_prefix = "+" if international_ints else ""
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            # A list rendered as text by Jinja ("{{ ti.xcom_pull(...) }}"): read it back.
            value = _rendered_list(value, field)
        else:
            return [p for p in (s.strip() for s in _SEPARATORS.split(value)) if p]
    if isinstance(value, int) and not isinstance(value, bool):
        return [f"{int_prefix}{value}"]
    # bytes and dicts are iterable but never a list of numbers.
    if not isinstance(value, Iterable) or isinstance(value, (dict, bytes, bytearray)):
        raise _type_error(field, value)
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = item.strip()
            if item:
                out.append(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            out.append(f"{int_prefix}{item}")
        else:
            raise _type_error(f"{field}[{i}]", item)
    return out


@dataclass(frozen=True)
class _Rules:
    allow_premium: bool
    regions: frozenset[str] | None
    regions_note: str
    # When given: each valid number's time zones go here, by E.164 (see zones_for).
    zones: dict | None = None


def zones_for(number: Any, number_type: Any, e164: str) -> tuple[str, ...]:
    """phonenumbers' `timezone.time_zones_for_number`, given the number's type and E.164
    form already worked out (the costly parts, which the checks need anyway)."""
    from phonenumbers import timezone

    if number_type == PhoneNumberType.UNKNOWN:
        return ("Etc/Unknown",)
    # Numbers that share their leading digits share their zones: looked up once per prefix.
    return _zones(number_type, number.country_code, e164[1 : 1 + timezone.TIMEZONE_LONGEST_PREFIX])


@functools.lru_cache(maxsize=65536)
def _zones(number_type: Any, country_code: int, digits: str) -> tuple[str, ...]:
    from phonenumbers import timezone
    from phonenumbers.phonenumberutil import is_number_type_geographical

    data = timezone.TIMEZONE_DATA
    if is_number_type_geographical(number_type, country_code):
        # time_zones_for_geographical_number: the longest prefix of the digits in the table.
        for length in range(len(digits), 0, -1):
            found = data.get(digits[:length])
            if found is not None:
                return tuple(found)
        return ("Etc/Unknown",)
    return tuple(data.get(str(country_code), ("Etc/Unknown",)))


_PAID_BY_THE_SENDER = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
}


def _allowed(regions: Any) -> frozenset[str] | None:
    if regions is None:
        return None
    if isinstance(regions, str):
        regions = [r for r in regions.split(",") if r.strip()]
    if not isinstance(regions, Iterable) or not regions:
        raise InvalidMessageError("allowed_regions", "expected a non-empty list of region codes")
    codes = set()
    for code in regions:
        if not isinstance(code, str) or code.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidMessageError(
                "allowed_regions", f"{code!r} is not an ISO 3166 alpha-2 region such as 'NL'"
            )
        codes.add(code.strip().upper())
    return frozenset(codes)


def _parse(raw: str, region: str | None, rules: _Rules) -> tuple[str | None, str | None]:
    """Return ``(e164, None)`` for a valid number, else ``(None, reason)``."""
    if not _NUMBER_CHARS.fullmatch(raw):
        return None, "contains characters that are not part of a phone number"
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            if region is None and not raw.startswith("+"):
                return None, _NO_COUNTRY
            return None, "unknown country code"
        return None, _PARSE_REASONS.get(exc.error_type, "not a phone number")
    if not phonenumbers.is_valid_number(number):
        reason = _POSSIBLE_REASONS.get(phonenumbers.is_possible_number_with_reason(number))
        return None, reason or "not a valid number"
    number_type = None
    if not rules.allow_premium or rules.zones is not None:
        number_type = phonenumbers.number_type(number)
    if not rules.allow_premium:
        paid = _PAID_BY_THE_SENDER.get(number_type)
        if paid:
            return None, f"{paid}; refused unless allow_premium_numbers=True"
    if rules.regions is not None:
        where = phonenumbers.region_code_for_number(number)
        if where not in rules.regions:
            return None, f"in {where}, {rules.regions_note}"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if rules.zones is not None:
        rules.zones[e164] = zones_for(number, number_type, e164)
    return e164, None


def region_of(e164: str) -> str:
    """The ISO 3166 region of a number (E.164), or ``"??"`` when it has none."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or "??"
    except NumberParseException:
        return "??"


def normalize_recipients(
    value: Any,
    *,
    default_region: str | None = None,
    field: str = "recipients",
    allow_premium_numbers: bool = False,
    allowed_regions: Any = None,
    regions_note: str = "not in allowed_regions",
    zones: dict | None = None,
) -> list[str]:
    """Validate recipients and return them in E.164, duplicates dropped, order kept.

    ``value`` is one number (str or int), a string of numbers separated by commas,
    semicolons or newlines, or an iterable of str/int. Without ``default_region`` an int
    is read as international (``31612345678`` is ``+31612345678``). Every invalid number is
    reported, masked, in a single InvalidMessageError.

    Premium-rate and shared-cost numbers are refused unless `allow_premium_numbers`: they
    are what SMS pumping (toll fraud) sends to. With `allowed_regions` (ISO 3166 codes),
    numbers of other regions are refused too; `regions_note` says why in the error. With
    `zones` (a dict), each number's time zones are put there, by E.164.
    """
    region = _region(default_region)
    rules = _Rules(allow_premium_numbers, _allowed(allowed_regions), regions_note, zones)
    entries = _entries(value, field, international_ints=region is None)
    if not entries:
        raise InvalidMessageError(field, "at least one recipient is required")

    result: list[str] = []
    seen_raw: set[str] = set()
    seen_e164: set[str] = set()
    invalid: list[str] = []
    invalid_count = 0
    for raw in entries:
        # Repeats of the same text are common in large lists; parsing is the cost.
        if raw in seen_raw:
            continue
        seen_raw.add(raw)
        e164, reason = _parse(raw, region, rules)
        if e164 is None:
            invalid_count += 1
            if len(invalid) < _MAX_LISTED:
                invalid.append(f"'{mask_phone(raw)}' ({reason})")
        elif e164 not in seen_e164:
            seen_e164.add(e164)
            result.append(e164)

    if invalid_count:
        noun = "invalid phone number" if invalid_count == 1 else "invalid phone numbers"
        listing = ", ".join(invalid)
        if invalid_count > len(invalid):
            listing += f" and {invalid_count - len(invalid)} more"
        raise InvalidMessageError(field, f"{invalid_count} {noun}: {listing}")
    return result


def excluded_numbers(value: Any, *, default_region: str | None = None) -> frozenset[str]:
    """``exclude_recipients`` in E.164: numbers as for recipients (none is fine), or what
    MessageInteractionsOperator returned (its ``opted_out`` numbers). A summary that could
    not read some of its messages (``not_found``) is refused: who opted out on them is
    unknown."""
    field = "exclude_recipients"
    if isinstance(value, dict):
        if "opted_out" not in value:
            raise InvalidMessageError(
                field,
                "a mapping must be an interactions summary holding `opted_out`, got keys "
                f"{', '.join(sorted(map(str, value)))[:80]}",
            )
        unseen = value.get("not_found", 0)
        if unseen != 0 or isinstance(unseen, bool):
            raise InvalidMessageError(
                field,
                f"the interactions summary could not read {unseen!r:.20} of its messages "
                "(`not_found`), so who opted out on them is unknown and nothing is sent: "
                "read them on the channel they were sent on",
            )
        value = value["opted_out"]
    if value is None or value == "" or (isinstance(value, list | tuple) and not value):
        return frozenset()
    return frozenset(
        normalize_recipients(
            value, default_region=default_region, field=field, allow_premium_numbers=True
        )
    )
