"""BirdHook: turns an Airflow connection of type `bird` into a Bird client."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow_provider_sms.bird.client import BirdClient
    from airflow_provider_sms.bird.settings import ClientSettings


class BirdHook(BaseHook):
    """Interact with Bird's Channels API.

    Connection: password = access key; host = API base URL (default ``https://api.bird.com``;
    ``http://`` only for loopback hosts); extras ``workspace_id`` (required), ``channel_id``
    (default channel), and optionally ``max_requests_per_second`` (client-side POST cap,
    default 500), ``timeout`` (read timeout in seconds, default 30), ``max_retries`` (default 5)
    and ``retry_backoff`` (first backoff in seconds, default 0.5).

    :param bird_conn_id: the Airflow connection id.
    :param pool_size: HTTP connections kept open; sends run concurrently up to this many.
    """

    conn_name_attr = "bird_conn_id"
    default_conn_name = "bird_default"
    conn_type = "bird"
    hook_name = "Bird"

    def __init__(self, bird_conn_id: str = default_conn_name, *, pool_size: int = 16):
        super().__init__()
        self.bird_conn_id = bird_conn_id
        self.pool_size = pool_size

    @cached_property
    def settings(self) -> ClientSettings:
        from airflow.sdk.log import mask_secret

        from airflow_provider_sms.bird.settings import BirdConfigurationError, ClientSettings

        conn = self.get_connection(self.bird_conn_id)
        if conn.password:
            mask_secret(conn.password)
        extra = conn.extra_dejson
        try:
            return ClientSettings(
                access_key=conn.password or "",
                workspace_id=extra.get("workspace_id") or "",
                base_url=conn.host,
                channel_id=(extra.get("channel_id") or "").strip() or None,
                **_numeric_extras(extra),
            )
        except BirdConfigurationError as exc:
            raise BirdConfigurationError(
                f"connection {self.bird_conn_id!r}: {exc.message}"
            ) from None

    @cached_property
    def client(self) -> BirdClient:
        from airflow_provider_sms.bird.client import BirdClient

        return BirdClient(self.settings, pool_size=self.pool_size)

    def get_conn(self) -> BirdClient:
        return self.client

    @property
    def default_channel_id(self) -> str | None:
        return self.settings.channel_id

    def send_message(self, message: dict, channel_id: str | None = None) -> dict:
        """Send one CreateMessage body; returns Bird's message object (status ``accepted``)."""
        return self.client.send_message(message, channel_id)

    def send_batch(self, messages: list[dict], channel_id: str | None = None) -> dict:
        """Send up to 100 messages in one request; returns ``{"batchId": ...}``."""
        return self.client.send_batch(messages, channel_id)

    def get_channel(self, channel_id: str | None = None) -> dict:
        return self.client.get_channel(channel_id)

    def get_message(self, channel_id: str | None, message_id: str) -> dict:
        return self.client.get_message(message_id, channel_id)

    def test_connection(self) -> tuple[bool, str]:
        """Read-only check: fetches the default channel (or lists channels); sends nothing."""
        try:
            if self.settings.channel_id:
                channel = self.client.get_channel()
                return True, f"Connected; channel {channel.get('name') or channel.get('id')!r}"
            self.client.list_channels(limit=1)
            return True, "Connected to the workspace"
        except Exception as exc:  # reported to the UI, never raised
            return False, str(exc)


# Optional connection extras tuning the client: extra name -> (settings field, type).
_NUMERIC_EXTRAS = {
    "max_requests_per_second": ("max_requests_per_second", float),
    "timeout": ("read_timeout", float),
    "max_retries": ("max_retries", int),
    "retry_backoff": ("backoff_base", float),
}


def _numeric_extras(extra: dict) -> dict[str, Any]:
    from airflow_provider_sms.bird.settings import BirdConfigurationError

    values: dict[str, Any] = {}
    for name, (setting, kind) in _NUMERIC_EXTRAS.items():
        raw = extra.get(name)
        if raw in (None, ""):
            continue
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise BirdConfigurationError(f"extra.{name}: must be a number, got {raw!r}") from None
        if value < 0 or (value == 0 and name != "max_retries"):
            raise BirdConfigurationError(f"extra.{name}: must be positive, got {raw!r}")
        values[setting] = value
    return values
