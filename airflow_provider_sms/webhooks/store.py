"""Where the receiver keeps Bird's events, in Airflow's metadata database: the API server's
side only (it has the database; tasks and triggers read through the receiver).

One table, ``bird_webhook_events``, created on first use: a row per event, its key unique, so
that Bird's retries of one event, the same event delivered to two API-server workers at once,
or delivered again after a restart, make one row and one asset event. The row and the asset
events it makes commit together. Rows are kept RETENTION seconds (longer than Bird's 8 hours
of retries), which is how long an event is deduplicated and readable by a wait."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from airflow_provider_sms.bird.webhooks import MAX_READ_EVENTS, Event, asset_uri

log = logging.getLogger(__name__)

RETENTION = 3 * 24 * 3600.0
# A reader's cursor only passes rows older than this: a row committed after a later-numbered
# one (concurrent workers) is then still read, once.
SETTLE = 10.0
# Expired rows are deleted at most this often per process.
_PRUNE_EVERY = 600.0

_metadata = sa.MetaData()
EVENTS = sa.Table(
    "bird_webhook_events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("uri", sa.String(200), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False, index=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("idx_bird_webhook_events_uri_id", "uri", "id"),
)

_created = threading.Event()
_create_lock = threading.Lock()
_last_prune = [0.0]


@dataclass(frozen=True)
class Recorded:
    """What recording an event did: whether it was new, and the asset events it made."""

    new: bool
    asset_events: int


def _ensure_table(session: Any) -> None:
    if _created.is_set():
        return
    with _create_lock:
        if _created.is_set():
            return
        bind = session.get_bind()
        try:
            EVENTS.create(bind=bind, checkfirst=True)
        except (OperationalError, ProgrammingError, IntegrityError):
            # Another worker created it between the check and the create (PostgreSQL may
            # say so as a unique violation of its catalog).
            if not sa.inspect(bind).has_table(EVENTS.name):
                raise
        _created.set()


def record(event: Event, workspace_id: str, *, now: float | None = None) -> Recorded:
    """Keep `event` once: a new one gets its row and an asset event on each Airflow asset of
    its URI (the assets DAGs schedule on); one already kept gets nothing."""
    from airflow_provider_sms.compat import AssetModel, asset_manager, create_session

    uri = asset_uri(workspace_id, event.channel_id, event.name)
    moment = time.time() if now is None else now
    with create_session() as session:
        _ensure_table(session)
        try:
            with session.begin_nested():
                session.execute(
                    EVENTS.insert().values(
                        key=event.key,
                        uri=uri,
                        received_at=moment,
                        payload=json.dumps(event.payload, separators=(",", ":")),
                    )
                )
        except IntegrityError:
            return Recorded(new=False, asset_events=0)
        extra = {
            "event": event.name,
            "channel_id": event.channel_id,
            "key": event.key,
            "payload": event.payload,
        }
        made = 0
        # Locked until the commit: the asset events of one asset then commit in the order of
        # their timestamps, so that the scheduler, which gives a run the events stamped up
        # to its creation, never passes over one committed late with an earlier stamp.
        assets = sa.select(AssetModel).where(AssetModel.uri == uri).with_for_update()
        for asset in session.scalars(assets).all():
            if asset_manager.register_asset_change(asset=asset, extra=extra, session=session):
                made += 1
    _prune(moment)
    return Recorded(new=True, asset_events=made)


def read(
    uri: str,
    after: int,
    *,
    since: float = 0.0,
    limit: int = MAX_READ_EVENTS,
    now: float | None = None,
) -> dict:
    """Events of `uri` kept after row `after` (and received at `since` or later), oldest
    first: ``{"events": [{"id", "key", "payload"}], "cursor": int}``; the next read passes
    `cursor` (rows newer than SETTLE seconds are read again: a reader drops what it had by
    key)."""
    from airflow_provider_sms.compat import create_session

    moment = time.time() if now is None else now
    with create_session() as session:
        _ensure_table(session)
        rows = session.execute(
            sa.select(EVENTS.c.id, EVENTS.c.key, EVENTS.c.received_at, EVENTS.c.payload)
            .where(EVENTS.c.uri == uri, EVENTS.c.id > after, EVENTS.c.received_at >= since)
            .order_by(EVENTS.c.id)
            .limit(limit)
        ).all()
    cursor = after
    for row in rows:
        if row.received_at > moment - SETTLE:
            break
        cursor = row.id
    events = [{"id": r.id, "key": r.key, "payload": json.loads(r.payload)} for r in rows]
    return {"events": events, "cursor": cursor}


def _prune(now: float) -> None:
    if now - _last_prune[0] < _PRUNE_EVERY:
        return
    _last_prune[0] = now
    from airflow_provider_sms.compat import create_session

    try:
        with create_session() as session:
            session.execute(EVENTS.delete().where(EVENTS.c.received_at < now - RETENTION))
    except Exception:  # a prune that fails is tried again later; the event was kept
        log.warning("Could not delete Bird webhook events older than %.0f s", RETENTION)
