"""Bird's webhooks in Airflow: the receiver in the API server, the events it keeps, the
assets they update, and setting up Bird's subscriptions."""

from __future__ import annotations

from typing import Any

from airflow_provider_sms import DEFAULT_CONN_NAME


def bird_asset(
    event: str = "sms.inbound",
    *,
    bird_conn_id: str = DEFAULT_CONN_NAME,
    channel_id: str | None = None,
) -> Any:
    """The Airflow ``Asset`` a channel's pushed events of one kind update:
    ``bird://<workspace_id>/<channel_id>/<event>``, for a DAG to schedule on.

    ``schedule=[bird_asset("sms.inbound", bird_conn_id="bird_eu")]``

    :param event: ``sms.inbound`` (messages received), ``sms.outbound`` (status changes of
        messages sent) or ``sms.interaction`` (clicks, opt-outs, opt-ins).
    :param bird_conn_id: the Bird connection: its workspace, and its default channel.
    :param channel_id: the channel; default the connection's ``channel_id``.

    It reads the connection when the DAG file is parsed."""
    from airflow_provider_sms.bird.webhooks import asset_uri
    from airflow_provider_sms.compat import Asset
    from airflow_provider_sms.hooks.bird import BirdHook

    hook = BirdHook(bird_conn_id)
    uri = asset_uri(hook.settings.workspace_id, hook.channel_id(channel_id), event)
    return Asset(uri=uri, name=uri)
