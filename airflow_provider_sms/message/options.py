"""Delivery options of a CreateMessage (validity, quiet hours, holdout, links, webhook, extra
information) and a template's own options (variables, UTM parameters, short links), checked
before anything is sent. Each error names the operator argument."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird.errors import InvalidMessageError

# A host name: dot-separated labels of letters, digits and inner hyphens, each 1-63 characters,
# the last one not all digits (RFC 1123).
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?!\d+$){_LABEL}", re.ASCII)


# Digits of a number shown in an error; a larger one is named by its size.
_SHOWN_DIGITS = 30


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def validity_seconds(value: Any, *, field: str = "validity") -> int:
    """Whole seconds, from 0 to ``MAX_VALIDITY_SECONDS``: an int, a `timedelta`, or a string
    of digits (a templated value renders to one)."""
    if isinstance(value, bool):
        raise InvalidMessageError(field, "expected whole seconds or a timedelta, got a boolean")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        # A digit string too long for int() (over 4,300 digits) is too large all the same.
        digits = value.strip().lstrip("0") or "0"
        value = int(digits) if len(digits) <= _SHOWN_DIGITS else 10**_SHOWN_DIGITS
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds != int(seconds):
            raise InvalidMessageError(
                field, f"{value} is not a whole number of seconds; Bird takes whole seconds"
            )
        value = int(seconds)
    elif isinstance(value, float):
        shown = f"{value}" if math.isfinite(value) else repr(value)
        raise InvalidMessageError(
            field, f"{shown} is not whole seconds; give an int or a timedelta"
        )
    elif not isinstance(value, int):
        raise InvalidMessageError(
            field, f"expected whole seconds (int) or a timedelta, got {_type_name(value)}"
        )
    if not facts.MIN_VALIDITY_SECONDS <= value <= facts.MAX_VALIDITY_SECONDS:
        raise InvalidMessageError(
            field,
            f"must be at least {facts.MIN_VALIDITY_SECONDS} seconds and at most "
            f"{facts.MAX_VALIDITY_SECONDS} seconds (about 68 years; Bird's schema promises no "
            f"larger integer), got {_shown(value)}",
        )
    return value


def _shown(number: int) -> str:
    """A number for an error: as written, or its size when too long to read (or to turn into
    text at all: Python refuses over 4,300 digits)."""
    if abs(number) < 10**_SHOWN_DIGITS:
        return str(number)
    return f"a number of over {_SHOWN_DIGITS} digits"


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidMessageError(field, f"expected True or False, got {_type_name(value)}")
    return value


def short_link_domain(value: Any, *, field: str = "short_links") -> str:
    """``"default"`` (the workspace's link-shortening domain) or a bare domain such as
    ``"go.example.com"``: no scheme, path, port or user info."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessageError(
            field, f"expected 'default' or a domain such as 'go.example.com', got {value!r}"
        )
    domain = value.strip()
    if domain == facts.DEFAULT_SHORT_LINK_DOMAIN:
        return domain
    if len(domain) > facts.MAX_SHORT_LINK_DOMAIN_LENGTH:
        raise InvalidMessageError(
            field,
            f"a domain of at most {facts.MAX_SHORT_LINK_DOMAIN_LENGTH} characters, "
            f"got {len(domain)}",
        )
    for marker, what in (("://", "a scheme"), ("/", "a path"), ("@", "user info"), (":", "a port")):
        if marker in domain:
            raise InvalidMessageError(
                field, f"{domain!r} has {what}; give the bare domain, e.g. 'go.example.com'"
            )
    if not _DOMAIN.fullmatch(domain):
        raise InvalidMessageError(field, f"{domain!r} is not a domain name like 'go.example.com'")
    return domain.lower()


def check_notification_url(value: Any, *, field: str = "notification_url") -> str:
    """An https URL Bird posts the message's events to, without credentials in it."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessageError(field, f"expected an https URL, got {_type_name(value)}")
    url = value.strip()
    if len(url) > facts.MAX_NOTIFICATION_URL_LENGTH:
        raise InvalidMessageError(
            field, f"at most {facts.MAX_NOTIFICATION_URL_LENGTH} characters, got {len(url)}"
        )
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidMessageError(field, "contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidMessageError(field, f"not a valid URL ({exc})") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise InvalidMessageError(field, "must be an absolute https:// URL")
    if "@" in parts.netloc:
        # Bird would store and show them with every message: the URL is not a secret.
        raise InvalidMessageError(
            field,
            "must not carry user info or credentials (user:password@); authenticate "
            "the webhook by Bird's signature instead",
        )
    return url


def check_extra_information(value: Any, *, field: str = "extra_information") -> dict:
    """A JSON object of at most `facts.MAX_EXTRA_INFORMATION_BYTES` bytes, compact."""
    if not isinstance(value, Mapping):
        raise InvalidMessageError(field, f"expected a mapping, got {_type_name(value)}")
    bad_keys = [k for k in value if not isinstance(k, str)]
    if bad_keys:
        raise InvalidMessageError(field, f"keys must be strings, got {bad_keys[0]!r}")
    try:
        encoded = json.dumps(dict(value), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidMessageError(field, f"is not JSON-serialisable ({exc})") from None
    size = len(encoded.encode())
    if size > facts.MAX_EXTRA_INFORMATION_BYTES:
        raise InvalidMessageError(
            field,
            f"is {size:,} bytes as JSON; at most {facts.MAX_EXTRA_INFORMATION_BYTES:,} are sent",
        )
    return json.loads(encoded)  # a plain copy: later changes to the caller's dict do not leak


# The delivery options every send takes, by the name of its argument.
DELIVERY_OPTIONS = (
    "validity",
    "ignore_quiet_hours",
    "ignore_global_holdout",
    "track_links",
    "short_links",
    "notification_url",
    "extra_information",
)


def delivery_options(given: Mapping[str, Any], *, template: bool = False) -> dict:
    """The top-level CreateMessage fields for the options `given` (by the names of
    `DELIVERY_OPTIONS`; None or absent: not set). With `template`, `short_links` is left out
    (it belongs to the template, see `template_short_links`) but still counts for
    `track_links`."""
    unknown = set(given) - set(DELIVERY_OPTIONS)
    if unknown:
        raise TypeError(f"not delivery options: {sorted(unknown)}")
    value = {**dict.fromkeys(DELIVERY_OPTIONS), **given}
    options: dict = {}
    if value["validity"] is not None:
        options["validity"] = validity_seconds(value["validity"])
    for name, field in (
        ("ignore_quiet_hours", "ignoreQuietHours"),
        ("ignore_global_holdout", "ignoreGlobalHoldout"),
    ):
        if value[name] is not None:
            options[field] = _flag(value[name], name)
    short_links, track_links = value["short_links"], value["track_links"]
    if short_links is not None:
        domain = short_link_domain(short_links)
        if not template:
            options["shortLinks"] = {"domain": domain}
    if track_links is not None:
        needs = facts.LINK_TRACKING_NEEDS_SHORT_LINKS
        if _flag(track_links, "track_links") and needs and short_links is None:
            raise InvalidMessageError(
                "track_links", "on SMS, Bird tracks links only with short_links set"
            )
        options["enableLinkTracking"] = track_links
    if value["notification_url"] is not None:
        options["notification"] = {"url": check_notification_url(value["notification_url"])}
    if value["extra_information"] is not None:
        checked = check_extra_information(value["extra_information"])
        if checked:
            options["meta"] = {"extraInformation": checked}
    return options


def template_short_links(value: Any) -> dict:
    """A template's own ``shortLinks``: ``{"enabled": true, "domain": ...}``."""
    return {"enabled": True, "domain": short_link_domain(value)}


def template_variables(value: Any, *, field: str = "variables") -> dict:
    """A template's ``variables``: names to string values."""
    if not isinstance(value, Mapping):
        raise InvalidMessageError(
            field, f"expected a mapping of names to strings, got {_type_name(value)}"
        )
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise InvalidMessageError(f"{field}.{key!r}", "names must be non-empty strings")
        if not isinstance(item, str):
            raise InvalidMessageError(
                f"{field}.{key}", f"Bird takes string values, got {_type_name(item)}"
            )
        out[key] = item
    return out


def utm_parameters(value: Any, *, field: str = "utm_parameters") -> list[dict]:
    """1 to 8 ``{"key", "value"}`` or ``{"key", "reference"}`` items; a mapping of key to
    value is taken as static values."""
    if isinstance(value, Mapping):
        items = [{"key": k, "value": v} for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InvalidMessageError(
            field,
            f"expected a list of {{key, value|reference}} or a mapping, got {_type_name(value)}",
        )
    if not facts.MIN_UTM_PARAMETERS <= len(items) <= facts.MAX_UTM_PARAMETERS:
        raise InvalidMessageError(
            field,
            f"{facts.MIN_UTM_PARAMETERS} to {facts.MAX_UTM_PARAMETERS} parameters, "
            f"got {len(items)}",
        )
    out = []
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidMessageError(where, f"expected a mapping, got {_type_name(item)}")
        unknown = set(item) - {"key", "value", "reference"}
        if unknown:
            raise InvalidMessageError(
                where,
                f"unknown key(s) {', '.join(sorted(map(repr, unknown)))}; "
                "allowed: key, value, reference",
            )
        key = item.get("key")
        if not isinstance(key, str) or not 1 <= len(key) <= facts.MAX_UTM_KEY_LENGTH:
            raise InvalidMessageError(
                f"{where}.key",
                f"a string of 1 to {facts.MAX_UTM_KEY_LENGTH} characters, got {key!r}",
            )
        if ("value" in item) == ("reference" in item):
            raise InvalidMessageError(where, "give exactly one of value and reference")
        if "value" in item:
            text = item["value"]
            if not isinstance(text, str) or not 1 <= len(text) <= facts.MAX_UTM_VALUE_LENGTH:
                raise InvalidMessageError(
                    f"{where}.value",
                    f"a string of 1 to {facts.MAX_UTM_VALUE_LENGTH} characters, got "
                    f"{_type_name(text) if not isinstance(text, str) else len(text)}",
                )
            out.append({"key": key, "value": text})
        else:
            reference = item["reference"]
            if reference not in facts.UTM_REFERENCES:
                raise InvalidMessageError(
                    f"{where}.reference",
                    f"one of {', '.join(sorted(facts.UTM_REFERENCES))}, got {reference!r}",
                )
            out.append({"key": key, "reference": reference})
    return out
