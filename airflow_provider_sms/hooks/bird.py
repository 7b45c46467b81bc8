"""BirdHook: an Airflow connection of type `bird`, and what operators and notifiers do with it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_sms import DEFAULT_CONN_NAME
from airflow_provider_sms.compat import BaseHook

if TYPE_CHECKING:
    import threading

    from airflow_provider_sms.bird.client import BirdClient
    from airflow_provider_sms.bird.fanout import BatchCheck, SendReport
    from airflow_provider_sms.bird.incoming import Cursor, Scan
    from airflow_provider_sms.bird.listing import NewestFirst
    from airflow_provider_sms.bird.reconcile import Lookup
    from airflow_provider_sms.bird.settings import ClientSettings
    from airflow_provider_sms.bird.status import Reading
    from airflow_provider_sms.message.outgoing import Outgoing


def _celery_broker_url() -> str | None:
    """The broker of a CeleryExecutor deployment: where hosts share the rate budget when the
    connection names no store (used only if it is Redis)."""
    try:
        from airflow_provider_sms.compat import conf

        if "CeleryExecutor" not in (conf.get("core", "executor", fallback="") or ""):
            return None
        return conf.get("celery", "broker_url", fallback=None)
    except Exception:  # noqa: BLE001 - no readable setting means no default store
        return None


def _mask_store_secrets(extra: Any, broker_url: str | None) -> None:
    """Mask the Redis passwords a task may meet, as written, decoded and encoded: the extra's,
    one left in the extra's URL (refused, but still read) and the broker's."""
    from airflow_provider_sms.bird.budget import secret_forms, url_password
    from airflow_provider_sms.compat import mask_secret

    extra = extra if isinstance(extra, dict) else {}
    password, url = extra.get("rate_limit_redis_password"), extra.get("rate_limit_redis_url")
    in_urls = [url_password(u) for u in (url, broker_url) if isinstance(u, str)]
    for secret in secret_forms(password if isinstance(password, str) else None, *in_urls):
        mask_secret(secret)


def _connection_type() -> dict[str, Any]:
    from airflow_provider_sms.get_provider_info import get_provider_info

    [bird] = get_provider_info()["connection-types"]
    return bird


class _RequiredForBird:
    """A required field of Airflow 2's connection form, whose one form holds every provider's
    fields: a Bird connection that leaves it empty is refused, naming it; for any other type
    it is optional, as with wtforms' Optional."""

    def __init__(self, label: str):
        self.message = f"{label} is required for a Bird connection"

    def __call__(self, form: Any, field: Any) -> None:
        from wtforms.validators import Optional, StopValidation

        try:
            Optional()(form, field)
        except StopValidation:
            if form.conn_type.data == BirdHook.conn_type:
                # Airflow 2.10+'s form script writes its own warning over every error box:
                # the text under the field says it instead.
                field.description = self.message
                raise StopValidation(self.message) from None
            raise


class BirdHook(BaseHook):
    """Interact with Bird's Channels API.

    Connection: password = access key; host = API base URL (default ``https://api.bird.com``;
    ``http://`` only for loopback hosts; a host without a scheme takes it from the schema
    field, as with HttpHook, else https; see docs/connection.md); extras ``workspace_id``
    (required), ``channel_id`` (default channel), and optionally ``max_requests_per_second``
    (client-side POST cap, default 500), ``timeout`` (read timeout in seconds, default 30),
    ``max_retries`` (default 5), ``retry_backoff`` (first backoff in seconds, default 0.5) and
    ``share_rate_limit_on_host`` (default true: tasks on one host sending to one workspace
    space their requests together), ``rate_limit_redis_url`` (the Redis where tasks on
    every host share the workspace's limit, without a password; default: the Celery broker's,
    when Redis; "off" for none; see docs/scaling-out.md) and ``rate_limit_redis_password``.

    One pooled HTTP session serves every call; ``close()`` (or ``with BirdHook(...) as hook``)
    releases it.

    :param bird_conn_id: the Airflow connection id.
    :param pool_size: HTTP connections kept open; sends run concurrently up to this many.
    """

    conn_name_attr = "bird_conn_id"
    default_conn_name = DEFAULT_CONN_NAME
    conn_type = "bird"
    hook_name = "Bird"

    def __init__(self, bird_conn_id: str = default_conn_name, *, pool_size: int = 16):
        super().__init__()
        self.bird_conn_id = bird_conn_id
        self.pool_size = pool_size

    # -- the connection form where Airflow reads it from the hook (3.0, 3.1) -----------------

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The form's extra fields, made from the provider info's ``conn-fields`` (which
        Airflow 3.2+ reads instead): one description of the form for every version. Airflow
        3.0 and 3.1 mark no extra field required; Airflow 2 checks a required one on saving."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, PasswordField, StringField
        from wtforms.validators import Optional

        widgets = {}
        for name, field in _connection_type()["conn-fields"].items():
            schema = field["schema"]
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            check = Optional() if "null" in kinds else _RequiredForBird(field["label"])
            arguments = {"description": field["description"], "validators": [check]}
            if "default" in schema:
                arguments["default"] = schema["default"]
            label = lazy_gettext(field["label"])
            if schema.get("format") == "password":
                widget = PasswordField(label, widget=BS3PasswordFieldWidget(), **arguments)
            elif "boolean" in kinds:
                widget = BooleanField(label, **arguments)
            elif "integer" in kinds:
                widget = IntegerField(label, widget=BS3TextFieldWidget(), **arguments)
            else:  # strings, and numbers (read from text: see bird.settings)
                widget = StringField(label, widget=BS3TextFieldWidget(), **arguments)
            widgets[name] = widget
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The standard fields' labels, placeholders and which are hidden, from the provider
        info's ``ui-field-behaviour``."""
        behaviour = _connection_type()["ui-field-behaviour"]
        return {key.replace("-", "_"): value for key, value in behaviour.items()}

    @cached_property
    def settings(self) -> ClientSettings:
        from airflow_provider_sms.compat import mask_secret

        conn = self.get_connection(self.bird_conn_id)
        if conn.password:
            mask_secret(conn.password)
        return self.settings_from(conn, conn.extra_dejson)

    @classmethod
    async def aconnect(cls, bird_conn_id: str = default_conn_name, *, pool_size: int = 4):
        """A hook whose connection was read without blocking the event loop (triggers)."""
        hook = cls(bird_conn_id, pool_size=pool_size)
        from airflow_provider_sms.compat import get_async_connection, get_async_extra_dejson

        conn = await get_async_connection(bird_conn_id, hook=cls)
        extra = await get_async_extra_dejson(conn)
        hook.__dict__["settings"] = hook.settings_from(conn, extra)
        return hook

    def settings_from(self, conn: Any, extra: Any) -> ClientSettings:
        """The client settings of `conn` (this hook's connection, however it was read) and
        its decoded `extra`; a problem is a BirdConfigurationError naming the connection."""
        from airflow_provider_sms.bird.errors import BirdConfigurationError
        from airflow_provider_sms.bird.settings import settings_from_connection

        broker_url = _celery_broker_url()
        _mask_store_secrets(extra, broker_url)
        try:
            return settings_from_connection(
                host=conn.host,
                port=conn.port,
                password=conn.password,
                extra=extra,
                schema=getattr(conn, "schema", None),
                default_redis_url=broker_url,
                origin=f"connection {self.bird_conn_id!r}",
            )
        except BirdConfigurationError as exc:
            raise BirdConfigurationError(
                f"connection {self.bird_conn_id!r}: {exc.message}", host=exc.host
            ) from None

    @cached_property
    def client(self) -> BirdClient:
        from airflow_provider_sms.bird.client import BirdClient

        return BirdClient(self.settings, pool_size=self.pool_size)

    def get_conn(self) -> BirdClient:
        return self.client

    def request_figures(self) -> dict[str, float]:
        """What this hook's requests met since it was last asked (see ``RequestFigures``)."""
        from airflow_provider_sms.bird.client import RequestFigures

        figures = self.client.figures if "client" in self.__dict__ else RequestFigures()
        return figures.take()

    def close(self) -> None:
        """Close the pooled HTTP session (a later call opens a new one)."""
        if "client" in self.__dict__:
            self.client.close()

    def __enter__(self) -> BirdHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the verbs ---------------------------------------------------------------------

    def send_sms(self, recipients: Any, text: str, **options: Any) -> list[dict] | dict:
        """Send an SMS from a task, as :class:`SendSmsOperator` would: the same arguments
        (but its connection is this hook's, and it does not wait for delivery), the same
        checks before any request, and the same result entries (or summary). Inside a task
        it keeps the operator's exactly-once record, so that a retry sends nobody the SMS
        twice; several calls in one task each keep their own, in the order they are made.
        Requests in flight: the smaller of ``max_concurrency`` and this hook's `pool_size`.

        ``BirdHook().send_sms(["+31612345678"], "Your order has shipped.")``"""
        from airflow_provider_sms.outbound.sends import SmsSend, send_from_task

        return send_from_task(SmsSend, self, {"recipients": recipients, "text": text, **options})

    def send_mms(
        self,
        recipients: Any,
        *,
        images: Any = None,
        files: Any = None,
        text: str | None = None,
        title: str | None = None,
        **options: Any,
    ) -> list[dict] | dict:
        """Send an MMS from a task, as :class:`SendMmsOperator` would (see `send_sms`):
        images or files (URLs, local paths, ``ObjectStoragePath``), uploaded once."""
        from airflow_provider_sms.outbound.sends import MmsSend, send_from_task

        given = {"images": images, "files": files, "text": text, "title": title}
        return send_from_task(MmsSend, self, {"recipients": recipients, **given, **options})

    def send_template(
        self,
        recipients: Any,
        *,
        project_id: str | None = None,
        template_name: str | None = None,
        **options: Any,
    ) -> list[dict] | dict:
        """Send a Bird Studio template message from a task, as
        :class:`SendTemplateOperator` would (see `send_sms`)."""
        from airflow_provider_sms.outbound.sends import TemplateSend, send_from_task

        given = {"project_id": project_id, "template_name": template_name}
        return send_from_task(TemplateSend, self, {"recipients": recipients, **given, **options})

    def channel_id(self, channel_id: str | None = None) -> str:
        """The channel to use: `channel_id`, else the connection's default; checked."""
        from airflow_provider_sms.message.bodies import channel_id as checked_channel_id

        chosen = channel_id or self.settings.channel_id
        if not chosen:
            from airflow_provider_sms.bird.errors import InvalidMessageError

            raise InvalidMessageError(
                "channel_id",
                f"not given, and the connection {self.bird_conn_id!r} has no default "
                "channel_id extra",
            )
        return checked_channel_id(chosen)

    def send(
        self,
        outgoing: Outgoing,
        recipients: Sequence[str] | None = None,
        *,
        max_concurrency: int,
        use_batch_api: bool = False,
        before_send: Callable[[list[str]], None] | None = None,
        on_settled: Callable[[list[dict], list[str]], None] | None = None,
    ) -> SendReport:
        """Send `outgoing` to `recipients` (default: all of its own), one request each or in
        batches of 100; every recipient is accounted for in the report.

        :param before_send: called on this thread with each group of recipients before any
            of them is sent (a write-ahead record).
        :param on_settled: called on this thread with newly accepted entries and the
            recipients Bird certainly did not accept.
        """
        from airflow_provider_sms.bird.fanout import fan_out

        return fan_out(
            self.client,
            outgoing.channel_id,
            outgoing.recipients if recipients is None else recipients,
            outgoing.request,
            max_concurrency=max_concurrency,
            use_batch_api=use_batch_api,
            before_send=before_send,
            on_settled=on_settled,
        )

    def find_sent(
        self,
        outgoing: Outgoing,
        recipients: Sequence[str],
        since: float,
        *,
        max_pages: int | None = None,
        of_group: bool = False,
    ) -> Lookup:
        """Bird's messages of `outgoing` to `recipients` created after `since` (UNIX time),
        found by their default references: a Lookup, whose ``found`` maps recipient ->
        message and which says for whom absence proves nothing (``unknown()``). Needs
        default references (``outgoing.reference_seed``), the only ones unique to a
        recipient. With `of_group`, any message of ``outgoing.reference_group`` to them counts,
        created after `since` by Bird's clock."""
        from airflow_provider_sms.bird.reconcile import find_sent
        from airflow_provider_sms.message.outgoing import group_prefix

        if outgoing.reference_seed is None:
            raise ValueError("find_sent needs default references (no reference was given)")
        bound: dict = {} if max_pages is None else {"max_pages": max_pages}
        if of_group:
            expected = {group_prefix(outgoing.reference_group, r): r for r in recipients}
            bound.update(prefix=len(next(iter(expected), "")), slack=0.0)
        else:
            expected = {outgoing.default_reference(r): r for r in recipients}
        return find_sent(self.client, outgoing.channel_id, expected, since, **bound)

    def confirm_batches(self, channel_id: str, report: SendReport) -> BatchCheck:
        """List the batches of `report`: each message's id and status, and the messages Bird
        rejected (as failures, with their recipients). Raises BirdListingUnclearError when a
        batch cannot be checked (a listing not seen to its end, an answer that named no
        batch id)."""
        from airflow_provider_sms.bird.fanout import confirm_batches

        return confirm_batches(self.client, channel_id, report)

    def poll_statuses(
        self,
        channel_id: str,
        *,
        message_ids: Sequence[str] = (),
        batch_ids: Sequence[str] = (),
        cancel: threading.Event | None = None,
    ) -> Reading:
        """Read the current status of each message, and of each batch's messages. Reads
        only; setting `cancel` ends the waits between retries."""
        from airflow_provider_sms.bird.status import poll

        return poll(
            self.client, channel_id, message_ids=message_ids, batch_ids=batch_ids, cancel=cancel
        )

    def get_channel(self, channel_id: str | None = None) -> dict:
        """Bird's channel object (default: the connection's channel)."""
        return self.client.get_channel(self.channel_id(channel_id))

    def upload_media(
        self, channel_id: str | None, data: bytes, *, content_type: str, filename: str
    ) -> str:
        """Upload a file through Bird's presigned upload; the media URL Bird returned, for
        messages to carry. The storage host gets the file and Bird's form, never the key."""
        from airflow_provider_sms.bird.upload import upload_media

        return upload_media(
            self.client,
            self.channel_id(channel_id),
            data,
            content_type=content_type,
            filename=filename,
        )

    def get_message(
        self, channel_id: str | None, message_id: str, *, cancel: threading.Event | None = None
    ) -> dict:
        """Bird's message object, with its current status."""
        return self.client.get_message(self.channel_id(channel_id), message_id, cancel=cancel)

    def incoming_messages(
        self,
        channel_id: str | None = None,
        *,
        since: Cursor | float | None = None,
        max_pages: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Scan:
        """The channel's incoming messages (inbound SMS) after `since`, oldest first, in
        ``scan.messages`` (Bird's message objects). `since` is a cursor from an earlier scan
        (``scan.cursor``, kept by the caller), a UNIX time (messages created then or later),
        or None to start a cursor at the present (``scan.cursor``; no messages).

        Reads Bird's listing page by page, newest first, stopping at the cursor once the
        listing has shown that order, ``max_pages`` pages of 100 at most (default 50): a
        longer window is read over several calls, each given the cursor the one before
        returned (``scan.complete`` is False until then). Raises BirdListingUnclearError when
        the listing cannot be seen to its end."""
        from airflow_provider_sms.bird.incoming import MAX_PAGES, Cursor, scan_incoming

        cursor = Cursor.since(since) if isinstance(since, int | float) else since
        return scan_incoming(
            self.client,
            self.channel_id(channel_id),
            cursor,
            max_pages=MAX_PAGES if max_pages is None else max_pages,
            cancel=cancel,
        )

    def recent_messages(
        self,
        channel_id: str | None,
        *,
        max_pages: int,
        cancel: threading.Event | None = None,
    ) -> NewestFirst:
        """The channel's messages, a page of 100 at a time in Bird's order, each page with
        its messages' createdAt, telling after each page whether the listing has shown itself
        newest first and that page lies before a given time (``past(floor)``), `max_pages`
        pages at most. Walking it raises BirdListingUnclearError where the listing cannot be
        seen to its end: more pages, or an answer that cannot show it."""
        from airflow_provider_sms.bird.listing import NewestFirst

        return NewestFirst.of_channel(
            self.client, self.channel_id(channel_id), max_pages=max_pages, cancel=cancel
        )

    def message_interactions(
        self, channel_id: str | None, message_id: str, *, cancel: threading.Event | None = None
    ) -> list[dict]:
        """A message's interactions as Bird lists them: ``type`` ``clicked`` (a tracked
        link), ``unsubscribe-request`` (STOP or an opt-out link), ``subscribe-consent``
        (START), with ``createdAt``, ``receiver`` and ``details``."""
        from airflow_provider_sms.bird.incoming import interactions

        return interactions(self.client, self.channel_id(channel_id), message_id, cancel=cancel)

    # -- Bird's webhooks --------------------------------------------------------------------

    def webhook_url(self) -> str:
        """Where Bird calls this connection's webhooks: extra.webhook_url, else the receiver
        in Airflow's API server (``[api] base_url`` + ``/bird/webhooks/<conn_id>``)."""
        from airflow_provider_sms.bird.webhooks import receiver_url
        from airflow_provider_sms.compat import conf

        base_url = conf.get("api", "base_url", fallback=None)
        return receiver_url(self.bird_conn_id, self.settings.webhook_url, base_url)

    def webhook_subscriptions(self) -> list[dict]:
        """The workspace's webhook subscriptions, as Bird lists them."""
        client = self.client
        found: list[dict] = []
        for page in client.pages(client.webhook_subscriptions_path(), full_page="end"):
            found.extend(page)
        return found

    def set_up_webhooks(
        self,
        events: Sequence[str] | None = None,
        *,
        channel_id: str | None = None,
        url: str | None = None,
    ) -> list[dict]:
        """Subscribe the channel's `events` to this connection's receiver (`url`, default
        :meth:`webhook_url`), signed with extra.webhook_signing_secret; an event already
        subscribed to that URL is left as it is. `events` default to every event Bird
        pushes. One entry per event: ``{"event", "id", "created": bool}``."""
        from airflow_provider_sms.bird.errors import BirdConfigurationError
        from airflow_provider_sms.bird.webhooks import EVENTS, same_subscription, subscription

        key = self.settings.webhook_signing_secret
        if not key:
            raise BirdConfigurationError(
                f"connection {self.bird_conn_id!r}: extra.webhook_signing_secret: is required "
                "to set up webhooks (Bird signs each delivery with it)"
            )
        channel = self.channel_id(channel_id)
        target = url or self.webhook_url()
        existing = self.webhook_subscriptions()
        done = []
        for event in events or EVENTS:
            wanted = subscription(event, target, key, channel)
            match = next((s for s in existing if same_subscription(s, wanted)), None)
            created = match is None
            if created:
                match = self.client.create_webhook_subscription(wanted)
            done.append({"event": event, "id": match.get("id"), "created": created})
        return done

    def delete_webhook_subscription(self, subscription_id: str) -> None:
        self.client.delete_webhook_subscription(subscription_id)

    def test_connection(self) -> tuple[bool, str]:
        """Read-only check: fetches the default channel (or lists channels); sends nothing.

        Answers within seconds: short timeouts and no retries, so an unreachable host is
        reported as such (DNS, refused, TLS, timeout) rather than retried."""
        from dataclasses import replace

        from airflow_provider_sms.bird.client import BirdClient

        try:
            settings = replace(self.settings, connect_timeout=3.0, read_timeout=5.0, max_retries=0)
            with BirdClient(settings, pool_size=1) as client:
                if settings.channel_id:
                    channel = client.get_channel(self.channel_id())
                    return True, f"Connected; channel {channel.get('name') or channel.get('id')!r}"
                client.list_channels(limit=1)
                return True, "Connected to the workspace"
        except Exception as exc:  # reported to the UI, never raised
            return False, str(exc)
