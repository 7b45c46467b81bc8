"""The plugin the provider info registers: Airflow's API server mounts the receiver of Bird's
webhooks at ``/bird`` (installing the provider is enough)."""

from __future__ import annotations

import functools
from typing import Any

from airflow_provider_sms.compat import AirflowPlugin
from airflow_provider_sms.webhooks.receiver import URL_PREFIX, create_app


@functools.cache
def _apps() -> list[dict[str, Any]]:
    return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Bird webhooks"}]


class _BuiltWhenRead:
    """The app list, built when the API server reads it: every Airflow process loads plugins,
    and only the API server needs FastAPI. Airflow reads it off the class or an instance."""

    def __get__(self, instance: Any, owner: Any) -> list[dict[str, Any]]:
        return _apps()


class BirdWebhooksPlugin(AirflowPlugin):
    name = "bird_webhooks"
    fastapi_apps = _BuiltWhenRead()
