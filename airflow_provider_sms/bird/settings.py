"""Client settings: what the client needs to reach one Bird workspace."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from airflow_provider_sms._net import is_loopback
from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird.errors import BirdConfigurationError


def normalize_base_url(value: str | None, port: int | None = None) -> str:
    """`scheme://host[:port]` from a connection's host (and port), parsed once with the parser
    `requests` itself uses, so the host judged here is the host connected to.

    The scheme comes from the host, else https; `http://` only for loopback hosts (the local
    sandbox). User info, paths, queries, fragments, spaces and backslashes are refused: they
    have no meaning for Bird's API and only make the host ambiguous."""
    raw = (value or "").strip() or facts.DEFAULT_BASE_URL
    if any(c.isspace() or c == "\\" or ord(c) < 32 for c in raw):
        raise BirdConfigurationError(
            "host: contains spaces, backslashes or control characters; give a URL such as "
            f"{facts.DEFAULT_BASE_URL}"
        )
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = parse_url(raw)
        given_port = parts.port
    except (LocationParseError, ValueError):
        # Not echoed: what could not be parsed may hold a credential.
        raise BirdConfigurationError(
            "host: is not a valid URL; give scheme, host and port only, such as "
            f"{facts.DEFAULT_BASE_URL}"
        ) from None
    if parts.auth:
        raise BirdConfigurationError(
            "host: must not contain user information (user:password@); the access key goes "
            "in the password field"
        )
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise BirdConfigurationError(f"host: {raw!r} has scheme {scheme!r}; use https://")
    host = parts.host or ""
    if not host:
        raise BirdConfigurationError(f"host: {raw!r} has no host name")
    if (parts.path or "/") != "/" or parts.query is not None or parts.fragment is not None:
        raise BirdConfigurationError(
            f"host: {raw!r} has a path, query or fragment; give scheme, host and port only"
        )
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise BirdConfigurationError(f"port: {port!r} is not a port number")
        if given_port is not None and given_port != port:
            raise BirdConfigurationError(
                f"port: {port} differs from the port in host {raw!r}; give it once"
            )
    port = given_port or port
    if scheme == "http" and not is_loopback(host.strip("[]")):
        raise BirdConfigurationError(
            f"host: {raw!r} uses plain http:// for a non-loopback host; use https:// "
            "(http:// is only accepted for 127.0.0.1, ::1 or localhost, e.g. the local sandbox)"
        )
    return f"{scheme}://{host.lower()}" + (f":{port}" if port else "")


@dataclass(frozen=True)
class ClientSettings:
    access_key: str = field(repr=False)
    workspace_id: str
    base_url: str = facts.DEFAULT_BASE_URL
    channel_id: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # Retries inside the client for 429, 5xx and connection failures.
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    # Longest Retry-After honoured; a longer one is cut to this.
    retry_after_max: float = 60.0
    # How long one request keeps being retried while Bird answers 429 (it did not process it).
    rate_limit_patience: float = 300.0
    # Processes on this host sending to the same workspace space their requests together.
    share_rate_limit_on_host: bool = True
    max_requests_per_second: float = facts.MAX_POSTS_PER_SECOND
    max_get_requests_per_second: float = facts.MAX_GETS_PER_SECOND

    def __post_init__(self):
        # A key pasted with a trailing newline is common; header-unsafe characters would make
        # the HTTP library quote the whole header, key included, in its error.
        key = (self.access_key or "").strip()
        object.__setattr__(self, "access_key", key)
        if not key:
            raise BirdConfigurationError("password: the access key is empty")
        if any(ord(c) < 0x21 or ord(c) > 0x7E for c in key):
            raise BirdConfigurationError(
                "password: the access key contains spaces, control or non-ASCII characters"
            )
        workspace = (self.workspace_id or "").strip()
        if not workspace:
            raise BirdConfigurationError("extra.workspace_id: is required")
        if not facts.UUID_PATTERN.fullmatch(workspace):
            raise BirdConfigurationError(f"extra.workspace_id: {workspace!r} is not a UUID")
        object.__setattr__(self, "workspace_id", workspace)
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if self.max_requests_per_second is None or self.max_requests_per_second <= 0:
            raise BirdConfigurationError(
                f"extra.max_requests_per_second: must be a positive number, "
                f"got {self.max_requests_per_second!r}"
            )


# Optional connection extras tuning the client: extra name -> (settings field, type, lowest,
# highest). Finite numbers in range only; whole numbers where the meaning is a count.
_NUMERIC_EXTRAS = {
    "max_requests_per_second": ("max_requests_per_second", float, 0.0, 10_000.0),
    "timeout": ("read_timeout", float, 0.0, 600.0),
    "max_retries": ("max_retries", int, 0, 20),
    "retry_backoff": ("backoff_base", float, 0.0, 60.0),
}


def settings_from_connection(
    *, host: str | None, port: int | None, password: str | None, extra: Any
) -> ClientSettings:
    """ClientSettings from an Airflow connection's fields; every problem is a
    BirdConfigurationError that names the field."""
    if not isinstance(extra, dict):
        raise BirdConfigurationError(f"extra: must be a JSON object, got {type(extra).__name__}")
    return ClientSettings(
        access_key=password or "",
        workspace_id=_text(extra, "workspace_id") or "",
        base_url=normalize_base_url(host, port),
        channel_id=_text(extra, "channel_id"),
        share_rate_limit_on_host=_flag(extra, "share_rate_limit_on_host", True),
        **_numbers(extra),
    )


def _text(extra: dict, name: str) -> str | None:
    value = extra.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BirdConfigurationError(
            f"extra.{name}: must be a string (a UUID), got {type(value).__name__}"
        )
    return value.strip() or None


def _flag(extra: dict, name: str, default: bool) -> bool:
    raw = extra.get(name)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise BirdConfigurationError(f"extra.{name}: must be true or false, got {raw!r}")


def _numbers(extra: dict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (setting, kind, lowest, highest) in _NUMERIC_EXTRAS.items():
        raw = extra.get(name)
        if raw in (None, ""):
            continue
        value = _number(raw)
        if value is None or (kind is int and value != int(value)):
            what = "a whole number" if kind is int else "a number"
            raise BirdConfigurationError(f"extra.{name}: must be {what}, got {raw!r}")
        if not lowest <= value <= highest or (kind is float and value == lowest):
            bound = f"above {lowest:g}" if kind is float else f"at least {lowest}"
            raise BirdConfigurationError(
                f"extra.{name}: must be {bound} and at most {highest:g}, got {raw!r}"
            )
        values[setting] = kind(value)
    return values


def _number(raw: Any) -> float | None:
    """A finite number from a JSON number or a numeric string; None otherwise."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
