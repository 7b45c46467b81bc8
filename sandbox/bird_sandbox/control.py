"""The sandbox's control API, ``/_sandbox/...`` (routed by :data:`.routes.CONTROL_ROUTES`):
each method answers one route, with the request's JSON fields as keywords where the route
takes a body. Unauthenticated and never recorded."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


class ControlApi:
    """The control API over a :class:`~.gateway.Gateway` (which builds it: no import back)."""

    def __init__(self, gateway: Any):
        self.gateway = gateway

    def health(self) -> dict:
        return {"status": "ok"}

    def messages(self) -> dict:
        """Stored messages, once pending batch items have settled."""
        backend = self.gateway.backend
        backend.wait_idle()
        return {"results": backend.messages()}

    def requests(self) -> dict:
        return {"results": [asdict(r) for r in self.gateway.requests()]}

    def uploads(self) -> dict:
        """Presigned uploads, each with its file's ``size`` in place of its bytes (the file is
        served at its ``media_url``)."""
        results = []
        for upload in self.gateway.backend.uploads():
            shown = asdict(upload)
            shown["size"] = len(shown.pop("data"))
            results.append(shown)
        return {"results": results}

    def interactions(self) -> dict:
        """Every stored interaction, in the order they happened."""
        return {"results": self.gateway.backend.interactions()}

    def webhook_subscriptions(self) -> dict:
        """Every webhook subscription, as Bird shows it (no signing key)."""
        return {"results": self.gateway.backend.webhook_subscriptions()}

    def webhook_deliveries(self) -> dict:
        """Every webhook delivery attempt, and every delivery withheld."""
        return {"results": self.gateway.backend.webhooks.records()}

    def flush_webhooks(self) -> dict:
        """Send the withheld webhook deliveries now."""
        return {"flushed": self.gateway.backend.webhooks.flush()}

    def wait_webhooks_idle(self, timeout: float = 5.0) -> dict:
        """Wait (up to ``timeout`` seconds) until the webhook events that happened by now are
        delivered: ``{"idle": false}`` on timeout."""
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ValueError("timeout must be a non-negative number of seconds")
        return {"idle": self.gateway.backend.webhooks.wait_idle(timeout)}

    def inbound(self, **fields: Any) -> dict:
        """Store an SMS to a channel: ``from``, ``text`` and optionally ``channel_id`` (the MMS
        channel unless given); the stored message."""
        unknown = set(fields) - {"from", "text", "channel_id"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        missing = [name for name in ("from", "text") if name not in fields]
        if missing:
            raise ValueError(f"missing field(s): {', '.join(missing)}")
        backend = self.gateway.backend
        channel = fields.get("channel_id")
        kwargs = {} if channel is None else {"channel_id": channel}
        return backend.receive(fields["from"], fields["text"], **kwargs)

    def sent(self, **fields: Any) -> dict:
        """Store ``count`` outgoing SMS at once (optionally ``channel_id``, ``rate``): a
        channel busy with a large send."""
        unknown = set(fields) - {"count", "channel_id", "rate"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        if "count" not in fields:
            raise ValueError("missing field(s): count")
        return {"stored": self.gateway.backend.store_sent(**fields)}

    def inject(self, **fields: Any) -> dict:
        """Queue a fault: ``kind`` and :class:`~.faults.Fault`'s parameters."""
        self.gateway.inject(**fields)
        return {"queued": fields.get("count", 1)}

    def clear_faults(self) -> dict:
        self.gateway.clear_faults()
        return {}

    def config(self) -> dict:
        return self.gateway.config()

    def configure(self, **fields: Any) -> dict:
        return self.gateway.configure(**fields)

    def reset(self) -> dict:
        self.gateway.reset()
        return {}
