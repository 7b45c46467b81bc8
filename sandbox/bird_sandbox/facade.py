"""The public :class:`BirdSandbox`: a backend (:mod:`.backend`) behind a gateway
(:mod:`.gateway`) behind the HTTP transport (:mod:`.server`), on a loopback port in a
background thread, with the settings and inspection tests use."""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_sms.loopback import is_loopback

from . import faults, settings
from .backend import SandboxBackend, Upload
from .catalogue import (
    ACCESS_KEY,
    CLICKS_LINK_US,
    DELIVERY_FAILS_NL,
    DELIVERY_FAILS_US,
    MMS_CHANNEL_ID,
    QUIET_HOURS_CHANNEL_ID,
    REPLIES_STOP_US,
    REPLIES_YES_US,
    SENDING_FAILS_NL,
    SENDING_FAILS_US,
    SMS_CHANNEL_ID,
    STAYS_SENT_NL,
    STAYS_SENT_US,
    WORKSPACE_ID,
)
from .gateway import Gateway, RecordedRequest
from .inbound import SENT_RATE
from .server import SandboxHTTPServer


@settings.properties()
class BirdSandbox:
    """A local, Bird-compatible Channels API server for tests and demos.

    Serves on a free loopback port in a background thread. Accepted messages, presigned media
    uploads, every request and the behaviour knobs (latency, rate limit, rejected recipients,
    injected faults, status delays, how messages are listed, how uploads answer) are available
    on the instance; the same is exposed over HTTP under ``/_sandbox/``. Each setting of
    :mod:`.settings` is a keyword here and an attribute after (assigning it is
    ``POST /_sandbox/config``); :meth:`reset` restores those given.

    Messages move through Bird's statuses as time passes: the answer to the POST says
    ``accepted``; reading the message later (getting it, listing the channel or a batch,
    :attr:`messages`, ``GET /_sandbox/messages``) shows ``processing`` from
    ``status_delays["processing"]`` seconds after acceptance, then ``sent``, then
    ``delivered`` (defaults 0.2, 0.5 and 1.0 s), with ``lastStatusAt`` and ``updatedAt`` at
    the moment of the change. The status is worked out when the message is read, so no
    thread is involved. A message scheduled for later stays ``scheduled`` until its
    ``scheduledFor``, then goes on as if accepted then. Batch items rejected during
    validation stay ``rejected``. ``status_delays=None`` (or ``{"status_delays": null}`` on
    ``/_sandbox/config``) keeps messages accepted from then on in the status they were
    accepted with; a new setting applies to messages accepted afterwards.

    Messages to the magic recipients end otherwise: see their catalogue,
    :mod:`~bird_sandbox.catalogue` (also :func:`~bird_sandbox.catalogue.describe_magic_recipients`);
    the first group's numbers are class attributes here too (``delivery_fails_nl``, ...).

    The return path: :meth:`receive` stores an SMS from a person (``POST /_sandbox/inbound``
    over HTTP), listed with the channel's messages (``direction: "incoming"``); STOP and START
    (and their synonyms) record an interaction on the last message sent to that number, as
    Bird's SMS platform does. Interactions are listed by Bird's
    ``GET .../messages/{messageId}/interactions``, added by :meth:`interact` and all shown by
    :attr:`interactions`. The answering recipients (``replies_stop_us``, ``replies_yes_us``,
    ``clicks_link_us``) reply or click ``reply_delay`` seconds (default 1.0) after their
    message goes out; like statuses, replies are stored when the sandbox is next read, stamped
    with the moment they became due.

    ``host`` must be a loopback address or ``localhost``: the sandbox's access key is
    published and its control API has no authentication, so anyone who can reach it can read
    every recorded request and reconfigure it. ``allow_non_loopback=True`` lifts the check,
    for a sandbox deliberately shared on a private network. Whatever the host, a request is
    answered only when its ``Host`` header names the sandbox (``127.0.0.1``, ``localhost``
    or ``[::1]`` with its port, or the host given), and a control POST only with a JSON
    content type: a web page in a browser can neither read nor change it (docs/sandbox.md).

    ``clock`` (UNIX time, ``time.time`` unless given) is when Bird's side thinks it is: a test
    moves statuses and replies along by stepping it instead of waiting.

    Webhooks: Bird's ``/workspaces/{workspaceId}/webhook-subscriptions`` API takes
    subscriptions to ``sms.inbound``, ``sms.outbound`` (each status a message enters) and
    ``sms.interaction``; the sandbox posts each event to the subscriptions it matches, signed
    as Bird signs, from threads of its own, retrying failures. :meth:`webhook_attempts`
    records every attempt, :meth:`wait_webhooks_idle` waits for them; the ``webhook_*``
    settings and faults play what Bird does not document and what goes wrong.
    """

    @settings.with_signature()
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_non_loopback: bool = False,
        clock: Callable[[], float] = time.time,
        **given: Any,
    ):
        if not allow_non_loopback and not is_loopback(host):
            raise ValueError(
                f"refusing to listen on non-loopback host {host!r}: the Bird sandbox serves an "
                "unauthenticated control API; pass allow_non_loopback=True to expose it anyway"
            )
        self._address = (host, port)
        # Bird's side (operations callable without HTTP), and what stands in front of it, each
        # with the settings it holds (:mod:`.settings`).
        parts = settings.split(given)
        self.backend = SandboxBackend(clock=clock, **parts["backend"])
        self.gateway = Gateway(self.backend, **parts["gateway"])
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> BirdSandbox:
        if self._server is not None:
            return self
        server = SandboxHTTPServer(self._address, self.gateway)
        # Keep the port: a restart after refuse_connections() must come back on it.
        self._address = (self._address[0], server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._server = server
        self._thread.start()
        return self

    def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stop(self) -> None:
        self._close_server()
        self.backend.close()

    def refuse_connections(self, seconds: float) -> None:
        """Stop listening for ``seconds``, closing idle keep-alive connections: until then
        every connection attempt is refused, so no request reaches the server (a connection
        dropped before the request was sent). Then listen again on the same port."""
        self._close_server()

        def reopen() -> None:
            time.sleep(seconds)
            self.start()

        threading.Thread(target=reopen, name="sandbox-reopen", daemon=True).start()

    def __enter__(self) -> BirdSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # addresses and connection ------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._address[1]:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._address[1]

    @property
    def base_url(self) -> str:
        host = self._address[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    access_key = ACCESS_KEY
    workspace_id = WORKSPACE_ID
    mms_channel_id = MMS_CHANNEL_ID
    sms_channel_id = SMS_CHANNEL_ID
    quiet_hours_channel_id = QUIET_HOURS_CHANNEL_ID
    delivery_fails_nl = DELIVERY_FAILS_NL
    delivery_fails_us = DELIVERY_FAILS_US
    sending_fails_nl = SENDING_FAILS_NL
    sending_fails_us = SENDING_FAILS_US
    stays_sent_nl = STAYS_SENT_NL
    stays_sent_us = STAYS_SENT_US
    replies_stop_us = REPLIES_STOP_US
    replies_yes_us = REPLIES_YES_US
    clicks_link_us = CLICKS_LINK_US

    def connection(self, channel_id: str | None = None) -> dict:
        """An Airflow connection (JSON form) pointing at this sandbox."""
        return {
            "conn_type": "bird",
            "host": self.base_url,
            "password": self.access_key,
            "extra": {
                "workspace_id": self.workspace_id,
                "channel_id": channel_id or self.mms_channel_id,
            },
        }

    def connection_env(
        self, conn_id: str = "bird_default", channel_id: str | None = None
    ) -> tuple[str, str]:
        """``(variable name, value)`` defining the connection through the environment."""
        return f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(self.connection(channel_id))

    # inspection --------------------------------------------------------------------------

    @property
    def messages(self) -> list[dict]:
        """Stored messages (copies) in arrival order, after pending batch items settle."""
        self.backend.wait_idle()
        return self.backend.messages()

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.gateway.requests()

    @property
    def uploads(self) -> list[Upload]:
        """Presigned uploads in the order presigned: ids, URLs, content type and, once
        ``completed``, the file's ``filename`` and ``data``."""
        return self.backend.uploads()

    def media(self, media_url: str) -> bytes | None:
        """The file uploaded for ``media_url`` (a presign's ``mediaUrl``); None until then."""
        return self.backend.media(media_url)

    @property
    def interactions(self) -> list[dict]:
        """Every stored interaction (copies), in the order they happened."""
        return self.backend.interactions()

    # the return path ---------------------------------------------------------------------

    def receive(self, from_number: str, text: str, *, channel_id: str = MMS_CHANNEL_ID) -> dict:
        """Store an SMS from ``from_number`` (E.164) to the channel, as Bird stores an inbound
        message; the stored message. STOP (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) records an
        ``unsubscribe-request`` interaction on the last message sent to that number on the
        channel, START (UNSTOP) a ``subscribe-consent``. ValueError for a bad number or text,
        or a one-way channel (the alphanumeric senders)."""
        return self.backend.receive(from_number, text, channel_id=channel_id)

    def store_sent(
        self, count: int, *, channel_id: str = MMS_CHANNEL_ID, rate: float = SENT_RATE
    ) -> int:
        """Store `count` delivered outgoing SMS on the channel at once, as a large send just
        made (their createdAt spread at `rate` a second up to now, from the channel's last
        message at the earliest); how many."""
        return self.backend.store_sent(count, channel_id=channel_id, rate=rate)

    def interact(
        self,
        message_id: str,
        type: str,  # noqa: A002 - Bird's field name
        *,
        url: str | None = None,
        recipient: str | None = None,
    ) -> dict:
        """Record a ``clicked``, ``unsubscribe-request`` or ``subscribe-consent`` interaction on
        a sent message; the interaction. A click opens ``url`` (default: the message's first
        link, else a placeholder short link); the other two come from a link when ``url`` is
        given, else from the STOP or START keyword. ``recipient`` defaults to the message's
        first. ValueError for an unknown type or message."""
        return self.backend.interact(message_id, type, url=url, recipient=recipient)

    # webhooks ----------------------------------------------------------------------------

    def webhook_subscriptions(self) -> list[dict]:
        """Every webhook subscription, as Bird shows it (no signing key), oldest first."""
        return self.backend.webhook_subscriptions()

    def webhook_attempts(self) -> list[dict]:
        """Every webhook delivery attempt (and every delivery withheld while deliveries were
        paused), in the order they ended, as ``GET /_sandbox/webhooks/deliveries`` lists them
        (``webhook_deliveries`` is the setting that pauses them): ``subscription_id``,
        ``event``, ``url``,
        ``attempt``, ``status`` (answered; None without an answer), ``error``, ``queued_at``,
        ``sent_at``, ``answered_at`` (UNIX times), ``message_id`` or ``interaction_id``,
        ``body_sha256``, ``fault``, ``withheld`` and ``retry_at`` (when it is retried)."""
        return self.backend.webhooks.records()

    def wait_webhooks_idle(self, timeout: float = 5.0) -> bool:
        """Wait until the webhook events that happened by now (by the sandbox's clock) are
        delivered: none queued, in flight or waiting for a retry; False on timeout."""
        return self.backend.webhooks.wait_idle(timeout)

    def flush_webhooks(self) -> int:
        """Send the deliveries withheld while ``webhook_deliveries`` was ``"paused"`` (even if
        it still is); how many."""
        return self.backend.webhooks.flush()

    def posts_received(self, path_suffix: str = "/messages") -> int:
        return sum(
            1
            for r in self.gateway.requests()
            if r.method == "POST" and r.path.endswith(path_suffix)
        )

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until queued batch items are processed; False on timeout."""
        return self.backend.wait_idle(timeout)

    # behaviour ---------------------------------------------------------------------------

    def inject(self, kind: str, count: int = 1, **params: Any) -> None:
        self.gateway.inject(kind, count=count, **params)

    inject.__signature__ = faults.inject_signature(  # type: ignore[attr-defined]
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )
    inject.__doc__ = (
        "Make the next ``count`` requests under ``/workspaces`` fail, or answer oddly (with\n"
        "``path``, only requests whose path contains it; storage requests, under\n"
        "``/_storage/``, take only faults whose ``path`` selects them); a ``webhook_*`` fault\n"
        "applies to the next ``count`` webhook delivery attempts instead.\n\n" + faults.describe()
    )

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self.gateway.clear_faults()

    def reset(self) -> None:
        """Clear messages (sent and received), interactions, pending replies, uploads,
        requests, faults, webhook subscriptions and deliveries (retries stop); restore the
        settings given to the constructor."""
        self.gateway.reset()
