"""Client settings: what the client needs to reach one Bird workspace."""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird.budget import (
    SCHEMES,
    StoreUrlError,
    parse_store_url,
    url_password,
)
from airflow_provider_sms.bird.errors import BirdConfigurationError
from airflow_provider_sms.bird.ids import is_uuid
from airflow_provider_sms.loopback import is_loopback

log = logging.getLogger(__name__)

# A DNS name is at most 253 characters; a host field adds at most a scheme, brackets and a
# port to it. Longer ones are refused, and not shown.
MAX_HOST_NAME_LENGTH = 253
MAX_HOST_LENGTH = 300
_SCHEMES = ("http", "https")


def normalize_base_url(
    value: str | None, port: int | None = None, schema: str | None = None
) -> str:
    """`scheme://host[:port]` from a connection's host (and port, and schema), parsed once with
    the parser `requests` itself uses, so the host judged here is the host connected to.

    The scheme comes from the host, else from `schema` (as Airflow's HttpHook takes it), else
    https; `http://` only for loopback hosts (the local sandbox). A bare IPv6 address (Airflow
    reads `[::1]` in a URI as `::1`) gets its brackets back. User info, paths, queries,
    fragments, spaces, backslashes, port 0 and hosts longer than 300 characters are refused:
    they have no meaning for Bird's API and only make the host ambiguous.

    Errors show the host as written up to its path (so never a query, fragment or user
    information), and nothing of a host that cannot be parsed or is too long."""
    raw = (value or "").strip() or facts.DEFAULT_BASE_URL.split("://", 1)[1]
    if len(raw) > MAX_HOST_LENGTH:
        raise BirdConfigurationError(
            f"host: is {len(raw):,} characters long; give at most {MAX_HOST_LENGTH} (scheme, a "
            f"host name of at most {MAX_HOST_NAME_LENGTH} characters, port), such as "
            f"{facts.DEFAULT_BASE_URL}"
        )
    if any(c.isspace() or c == "\\" or ord(c) < 32 for c in raw):
        raise BirdConfigurationError(
            "host: contains spaces, backslashes or control characters; give a URL such as "
            f"{facts.DEFAULT_BASE_URL}"
        )
    scheme_field = _schema(schema)
    if "://" not in raw:
        if _is_ipv6(raw):
            raw = f"[{raw}]"
        raw = f"{scheme_field or 'https'}://{raw}"
        scheme_field = None
    # The host as written, up to where parse_url ends the authority too: no path, query or
    # fragment. Shown only once user information has been refused.
    shown = raw.split("://", 1)[0] + "://" + _authority(raw)
    if _is_ipv6(_authority(raw)):
        written = raw.split("://", 1)[0].lower()
        address = _authority(raw)
        raise BirdConfigurationError(
            f"host: {shown!r} holds an IPv6 address that is not in brackets (a URI connection "
            f"written bird://{written}://:KEY@[{address}]:PORT/ loses them); write the host "
            f"'{written}://[{address}]' in a JSON connection, or give the scheme in the schema "
            f"field of a URI: bird://:KEY@[{address}]:PORT/{written}?workspace_id=...",
            host=shown,
        )
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
    if scheme not in _SCHEMES:
        raise BirdConfigurationError(
            f"host: {shown!r} has scheme {scheme!r}; use https://", host=shown
        )
    if scheme_field is not None and scheme_field != scheme:
        raise BirdConfigurationError(
            f"schema: {scheme_field!r} conflicts with the scheme of host {shown!r}; give the "
            "scheme once, in the host or in the schema field",
            host=shown,
        )
    host = parts.host or ""
    if not host:
        raise BirdConfigurationError(f"host: {shown!r} has no host name", host=shown)
    if len(host) > MAX_HOST_NAME_LENGTH:
        raise BirdConfigurationError(
            f"host: the host name is {len(host)} characters long; a DNS name is at most "
            f"{MAX_HOST_NAME_LENGTH}"
        )
    extras = [
        what
        for what, present in (
            ("a path", (parts.path or "/") != "/"),
            ("a query", parts.query is not None),
            ("a fragment", parts.fragment is not None),
        )
        if present
    ]
    if extras:
        raise BirdConfigurationError(
            f"host: {shown!r} is followed by {' and '.join(extras)} (not shown); give scheme, "
            f"host and port only, such as {shown!r}",
            host=shown,
        )
    if given_port == 0:
        raise BirdConfigurationError(
            f"host: port 0 in {shown!r} is not a port number (1-65535)", host=shown
        )
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise BirdConfigurationError(f"port: {port!r} is not a port number (1-65535)")
        if given_port is not None and given_port != port:
            raise BirdConfigurationError(
                f"port: {port} differs from the port in host {shown!r}; give it once",
                host=shown,
            )
    port = given_port or port
    if scheme == "http" and not is_loopback(host.strip("[]")):
        raise BirdConfigurationError(
            f"host: {shown!r} uses plain http:// for a non-loopback host; use https:// "
            "(http:// is only accepted for 127.0.0.1, ::1 or localhost, e.g. the local sandbox)",
            host=shown,
        )
    return f"{scheme}://{host.lower()}" + (f":{port}" if port else "")


def _authority(url: str) -> str:
    """What follows `scheme://` up to the first `/`, `?` or `#`."""
    rest = url.split("://", 1)[1]
    for i, c in enumerate(rest):
        if c in "/?#":
            return rest[:i]
    return rest


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def _schema(schema: Any) -> str | None:
    """The scheme the connection's schema field gives: None, "http" or "https"."""
    if schema is None:
        return None
    if not isinstance(schema, str):
        raise BirdConfigurationError(f"schema: must be http or https, got {type(schema).__name__}")
    text = schema.strip().lower()
    if not text:
        return None
    if text not in _SCHEMES:
        shown = f"{schema.strip()!r} " if len(text) <= 16 else ""
        raise BirdConfigurationError(
            f"schema: {shown}is not http or https; it gives the scheme of a host written "
            "without one, as in bird://:KEY@127.0.0.1:8025/http?workspace_id=..."
        )
    return text


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
    # Redis holding the budget shared by every host sending to the workspace (bird/budget.py);
    # a broker's URL may hold a password, so it is never shown.
    rate_limit_redis_url: str | None = field(default=None, repr=False)
    rate_limit_redis_password: str | None = field(default=None, repr=False)
    max_requests_per_second: float = facts.MAX_POSTS_PER_SECOND
    max_get_requests_per_second: float = facts.MAX_GETS_PER_SECOND
    # Caps a platform team sets once per connection: the most messages, and SMS segments,
    # one send may make (an operator's own argument takes precedence).
    max_messages: int | None = None
    max_total_segments: int | None = None
    # A staging connection: every send through it is a dry run, whatever a task says.
    dry_run: bool = False
    # Bird's webhooks: the key deliveries are signed with (a secret), and the URL Bird calls
    # when it is not the API server's own (behind a proxy).
    webhook_signing_secret: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    # Where the settings come from ("connection 'bird_default'"), for errors that point there.
    origin: str = "the connection"

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
        if not is_uuid(workspace):
            raise BirdConfigurationError(f"extra.workspace_id: {workspace!r} is not a UUID")
        object.__setattr__(self, "workspace_id", workspace)
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if self.max_requests_per_second is None or self.max_requests_per_second <= 0:
            raise BirdConfigurationError(
                f"extra.max_requests_per_second: must be a positive number, "
                f"got {self.max_requests_per_second!r}"
            )


# The highest cap a send takes (of messages or of segments): far above any real send.
MAX_CAP = 1_000_000_000

# Optional connection extras tuning the client: extra name -> (settings field, type, lowest,
# highest). Finite numbers in range only; whole numbers where the meaning is a count.
_NUMERIC_EXTRAS = {
    "max_requests_per_second": ("max_requests_per_second", float, 0.0, 10_000.0),
    "timeout": ("read_timeout", float, 0.0, 600.0),
    "max_retries": ("max_retries", int, 0, 20),
    "retry_backoff": ("backoff_base", float, 0.0, 60.0),
    "max_messages": ("max_messages", int, 1, MAX_CAP),
    "max_total_segments": ("max_total_segments", int, 1, MAX_CAP),
}


def settings_from_connection(
    *,
    host: str | None,
    port: int | None,
    password: str | None,
    extra: Any,
    schema: str | None = None,
    default_redis_url: str | None = None,
    origin: str = "the connection",
) -> ClientSettings:
    """ClientSettings from an Airflow connection's fields; every problem is a
    BirdConfigurationError that names the field. `default_redis_url` is the Redis to share
    the rate budget in when the connection names none (a Celery deployment's broker)."""
    if not isinstance(extra, dict):
        raise BirdConfigurationError(f"extra: must be a JSON object, got {type(extra).__name__}")
    key = (password or "").strip()
    for name, value in (("host", host), ("schema", schema)):
        # A key pasted into the wrong field would be shown by that field's errors.
        if len(key) >= 8 and isinstance(value, str) and key in value:
            raise BirdConfigurationError(
                f"{name}: contains the access key (not shown); the key goes in the password "
                "field only"
            )
    return ClientSettings(
        access_key=password or "",
        workspace_id=_text(extra, "workspace_id") or "",
        base_url=normalize_base_url(host, port, schema),
        channel_id=_text(extra, "channel_id"),
        share_rate_limit_on_host=_flag(extra, "share_rate_limit_on_host", True),
        dry_run=_flag(extra, "dry_run", False),
        rate_limit_redis_url=redis_url(extra.get("rate_limit_redis_url"), default_redis_url),
        rate_limit_redis_password=_secret(extra, "rate_limit_redis_password"),
        webhook_signing_secret=_secret(extra, "webhook_signing_secret"),
        webhook_url=webhook_url(extra.get("webhook_url")),
        origin=origin,
        **_numbers(extra),
    )


def redis_url(value: Any, default: str | None = None) -> str | None:
    """The Redis URL of extra.rate_limit_redis_url: absent means `default`, "off" none.

    The URL is never shown, and must not hold the password: Airflow's API and UI show a URL
    extra in clear, and hide extra.rate_limit_redis_password. A URL holding one leaves the
    budget unshared (said, without the password) rather than failing the send."""
    if value in (None, ""):
        return default if default and _is_redis_url(default) else None
    if not isinstance(value, str):
        raise BirdConfigurationError(
            f"extra.rate_limit_redis_url: must be a string, got {type(value).__name__}"
        )
    text = value.strip()
    if text.lower() in ("off", "none", "false"):
        return None
    if url_password(text):
        log.warning(
            "extra.rate_limit_redis_url holds a password (not shown), which Airflow's API and "
            "UI would show in clear: the rate budget is not shared across hosts for this send. "
            "Remove it from the URL and give it in extra.rate_limit_redis_password, which "
            "Airflow hides"
        )
        return None
    try:
        parse_store_url(text)
    except StoreUrlError as exc:
        raise BirdConfigurationError(
            f"extra.rate_limit_redis_url: {exc} (the URL is not shown); give one such as "
            "redis://redis-host:6379/0, the password in extra.rate_limit_redis_password, or off"
        ) from None
    return text


def webhook_url(value: Any) -> str | None:
    """extra.webhook_url: the absolute http(s) URL Bird calls for this connection's webhooks,
    when the API server sits behind a proxy (the URL signatures cover)."""
    if value in (None, ""):
        return None
    text = value.strip() if isinstance(value, str) else None
    scheme, _, rest = (text or "").partition("://")
    if not text or scheme.lower() not in _SCHEMES or not rest or rest.startswith("/"):
        raise BirdConfigurationError(
            "extra.webhook_url: must be an absolute http(s) URL, such as "
            "https://airflow.example.com/bird/webhooks/bird_default"
        )
    return text


def _is_redis_url(text: str) -> bool:
    scheme, _, rest = text.strip().partition("://")
    return scheme.lower() in SCHEMES and bool(rest)


def _secret(extra: dict, name: str) -> str | None:
    value = extra.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BirdConfigurationError(
            f"extra.{name}: must be a string, got {type(value).__name__} (not shown)"
        )
    return value


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
