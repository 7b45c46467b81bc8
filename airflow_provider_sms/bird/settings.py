"""Client settings: what the client needs to reach one Bird workspace."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from airflow_provider_sms._net import is_loopback
from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird.errors import BirdConfigurationError


def normalize_base_url(value: str | None) -> str:
    """Accept `https://` anywhere and `http://` only for loopback hosts (the local sandbox)."""
    raw = (value or "").strip() or facts.DEFAULT_BASE_URL
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    host = parts.hostname or ""
    if not host:
        raise BirdConfigurationError(f"host: {raw!r} has no host name")
    if parts.scheme == "http" and not is_loopback(host):
        raise BirdConfigurationError(
            f"host: {raw!r} uses plain http:// for a non-loopback host; use https:// "
            "(http:// is only accepted for 127.0.0.1, ::1 or localhost, e.g. the local sandbox)"
        )
    if parts.scheme not in ("http", "https"):
        raise BirdConfigurationError(f"host: {raw!r} must be an https:// URL")
    return raw.rstrip("/")


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
