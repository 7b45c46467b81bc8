"""The workspace and its channels: Bird's 404 for an unknown one, getChannel and listChannels
(``limit`` up to Bird's documented maximum for channels)."""

from __future__ import annotations

from typing import Any

from airflow_provider_sms.bird.facts import DEFAULT_LIST_LIMIT, MAX_CHANNEL_LIST_LIMIT

from .catalogue import CHANNELS, WORKSPACE_ID
from .errors import not_found
from .listing import check_limit, decode_token, encode_token

_CREATED_AT = "2024-01-01T00:00:00.000Z"


def channel_resource(channel_id: str) -> dict:
    channel = CHANNELS[channel_id]
    return {
        "id": channel_id,
        "platformId": "sms-messagebird",
        "name": channel["name"],
        "connectorId": channel["connectorId"],
        "identifier": channel["identifier"],
        "status": "active",
        "capabilities": {
            "messaging": {
                "outgoing": {
                    "mms": {
                        "status": "active" if channel["mms"] else "inactive",
                        "paused": False,
                    }
                }
            }
        },
        "createdAt": _CREATED_AT,
        "updatedAt": _CREATED_AT,
    }


class ChannelOperations:
    """getChannel and listChannels, and the checks every operation starts with."""

    @staticmethod
    def require(workspace_id: str, channel_id: str | None = None) -> None:
        """Bird's 404 unless the workspace (and the channel) exist."""
        if workspace_id != WORKSPACE_ID:
            raise not_found("workspace")
        if channel_id is not None and channel_id not in CHANNELS:
            raise not_found("channel")

    def list_channels(
        self, workspace_id: str, *, limit: int = DEFAULT_LIST_LIMIT, page_token: str | None = None
    ) -> dict:
        """listChannels: the workspace's channels, ``limit`` a page."""
        self.require(workspace_id)
        limit = check_limit(limit, MAX_CHANNEL_LIST_LIMIT)
        [start] = decode_token(page_token, "channels", 1) if page_token else [0]
        ids = list(CHANNELS)
        result: dict[str, Any] = {
            "results": [channel_resource(c) for c in ids[start : start + limit]]
        }
        if start + limit < len(ids):
            result["nextPageToken"] = encode_token("channels", start + limit)
        return result

    def get_channel(self, workspace_id: str, channel_id: str) -> dict:
        """getChannel: one channel, with its MMS capability."""
        self.require(workspace_id, channel_id)
        return channel_resource(channel_id)
