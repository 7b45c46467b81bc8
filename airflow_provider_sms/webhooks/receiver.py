"""The receiver of Bird's webhooks: a FastAPI app Airflow's API server mounts at ``/bird``.

``POST /bird/webhooks/{conn_id}`` takes a delivery signed with the connection's
``webhook_signing_secret`` and keeps its event once (``store.record``): an asset event on
``bird://<workspace>/<channel>/<event>``. ``GET /bird/webhooks/{conn_id}/events`` lets the
provider's waits read what was kept, signed with the same key. Nothing here logs a number, a
key or a body."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, which name
# classes imported inside create_app().
import hmac
import logging
import time
from typing import Any

from airflow_provider_sms.bird.errors import BirdError
from airflow_provider_sms.bird.webhooks import (
    MAX_BODY_BYTES,
    MAX_READ_EVENTS,
    READ_SIGNATURE_HEADER,
    READ_TIMESTAMP_HEADER,
    SIGNATURE_WINDOW,
    WebhookRefused,
    asset_uri,
    read_delivery,
    read_signature,
    verify,
)

log = logging.getLogger(__name__)

URL_PREFIX = "/bird"
# A connection is read again after this many seconds (a changed key takes effect then).
_CONNECTION_TTL = 5.0
# Connection ids remembered at most (anyone may call with any id): past it, all are forgotten.
_CONNECTIONS_KEPT = 256
_connections: dict[str, tuple[float, Any]] = {}


def _settings(conn_id: str) -> Any:
    """The connection's client settings, read at most every _CONNECTION_TTL seconds; 401 for a
    connection that is missing, broken or has no signing key (said in the log only, so that
    the answer does not tell a caller which connections exist)."""
    now = time.monotonic()
    cached = _connections.get(conn_id)
    if cached and now - cached[0] < _CONNECTION_TTL:
        return cached[1]
    from airflow_provider_sms.compat import server_connection
    from airflow_provider_sms.hooks.bird import BirdHook

    try:
        conn = server_connection(conn_id)
        settings = BirdHook(conn_id).settings_from(conn, conn.extra_dejson)
    except BirdError as exc:
        log.warning("Bird webhook for connection %r refused: %s", conn_id, exc)
        settings = None
    except Exception as exc:  # not found, or a secrets backend failing
        log.warning(
            "Bird webhook for connection %r refused: the connection cannot be read (%s)",
            conn_id,
            type(exc).__name__,
        )
        settings = None
    if settings is not None and not settings.webhook_signing_secret:
        log.warning(
            "Bird webhook for connection %r refused: it has no extra.webhook_signing_secret",
            conn_id,
        )
        settings = None
    if len(_connections) >= _CONNECTIONS_KEPT:
        _connections.clear()
    _connections[conn_id] = (now, settings)
    return settings


def _refuse(exc: WebhookRefused) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse({"kept": False, "detail": str(exc)}, status_code=exc.status)


def create_app() -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    from airflow_provider_sms.webhooks import store

    app = FastAPI(title="Bird webhooks", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/webhooks/{conn_id}")
    async def receive(conn_id: str, request: Request) -> Any:
        try:
            body = await _body(request)
            settings = await run_in_threadpool(_settings, conn_id)
            if settings is None:
                raise WebhookRefused(401, "not signed with this connection's key")
            url = settings.webhook_url or str(request.url)
            try:
                verify(settings.webhook_signing_secret, request.headers, url, body, now=time.time())
            except WebhookRefused as exc:
                # Behind a proxy, a URL other than the one Bird signed is the usual cause.
                log.info(
                    "Bird webhook for connection %r refused: %s (URL checked: %s)",
                    conn_id,
                    exc,
                    "extra.webhook_url" if settings.webhook_url else "the request's own",
                )
                raise
            try:
                event = read_delivery(
                    body, workspace_id=settings.workspace_id, channel_id=settings.channel_id
                )
            except WebhookRefused as exc:
                # Kept in the log: its size and event name, never its content.
                level = logging.ERROR if exc.status < 300 else logging.WARNING
                log.log(
                    level,
                    "Bird webhook for connection %r not read (HTTP %s, %s bytes, event %s): %s",
                    conn_id,
                    exc.status,
                    f"{len(body):,}",
                    exc.event,
                    exc,
                )
                raise
            kept = await run_in_threadpool(store.record, event, settings.workspace_id)
        except WebhookRefused as exc:
            return _refuse(exc)
        summary = event.summary()
        if kept.new:
            log.info(
                "Bird %s %s on channel %s (%s) kept: %d asset event(s)",
                summary["event"],
                summary["id"],
                summary["channel_id"],
                summary["status"],
                kept.asset_events,
            )
        else:
            log.info("Bird %s %s delivered again: already kept", summary["event"], summary["id"])
        return JSONResponse({"kept": kept.new, "asset_events": kept.asset_events})

    @app.get("/webhooks/{conn_id}/events")
    async def events(
        conn_id: str,
        request: Request,
        channel_id: str,
        event: str,
        after: int = 0,
        since: float = 0.0,
        limit: int = MAX_READ_EVENTS,
    ) -> Any:
        try:
            settings = await run_in_threadpool(_settings, conn_id)
            if settings is None:
                raise WebhookRefused(401, "not signed with this connection's key")
            _verify_read(settings.webhook_signing_secret, conn_id, request)
            try:
                uri = asset_uri(settings.workspace_id, channel_id, event)
            except ValueError as exc:
                raise WebhookRefused(422, str(exc)) from None
            limit = max(1, min(limit, MAX_READ_EVENTS))
            return await run_in_threadpool(store.read, uri, max(after, 0), since=since, limit=limit)
        except WebhookRefused as exc:
            return _refuse(exc)

    return app


def _verify_read(signing_key: str, conn_id: str, request: Any) -> None:
    stamp = request.headers.get(READ_TIMESTAMP_HEADER, "")
    given = request.headers.get(READ_SIGNATURE_HEADER, "")
    try:
        fresh = abs(time.time() - float(stamp)) <= SIGNATURE_WINDOW
    except ValueError:
        fresh = False
    expected = read_signature(signing_key, stamp, conn_id, request.url.query)
    if not (hmac.compare_digest(given.encode(), expected.encode()) and fresh):
        raise WebhookRefused(401, "not signed with this connection's key")


async def _body(request: Any) -> bytes:
    """The body, refused with 413 once it passes MAX_BODY_BYTES (never read further)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise WebhookRefused(
            413, f"the body is {int(declared):,} bytes; at most {MAX_BODY_BYTES:,}"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise WebhookRefused(413, f"the body is over {MAX_BODY_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
