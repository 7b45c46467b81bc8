"""Files an MMS sends from the DAG's own storage: read and checked before anything is sent,
uploaded once through Bird's presigned upload, and recorded so that a retry reuses the
upload instead of making another (docs/operators/media.md).

A media item may be a URL (Bird downloads it), an absolute path or ``file://`` URL, an
``os.PathLike``, or an ``airflow.sdk.ObjectStoragePath`` (any filesystem the deployment's
object storage serves)."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from airflow_provider_sms.bird.errors import BirdError, InvalidMessageError
from airflow_provider_sms.compat import AirflowException, AirflowFailException
from airflow_provider_sms.message.bodies import media_items
from airflow_provider_sms.message.files import (
    MediaFile,
    check_size,
    check_total,
    local_path,
    media_file,
    size_limit,
)
from airflow_provider_sms.message.outgoing import Outgoing
from airflow_provider_sms.outbound.ledger import Ledger

if TYPE_CHECKING:
    # Only named in annotations: the hook's TaskFlow verbs call into this layer.
    from airflow_provider_sms.hooks.bird import BirdHook


@dataclass
class Media:
    """The files of one MMS, read and checked once: each distinct file's bytes by key."""

    files: list[MediaFile] = field(default_factory=list)
    data: dict[str, bytes] = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return bool(self.files)

    def described(self) -> list[dict]:
        return [
            {"field": f.field, "source": f.source, "content_type": f.content_type, "size": f.size}
            for f in self.files
        ]


def _object_storage(value: Any) -> bool:
    try:
        from airflow_provider_sms.compat import ObjectStoragePath
    except ImportError:  # pragma: no cover - every supported Airflow has it
        return False
    return isinstance(value, ObjectStoragePath)


def _source(value: Any) -> tuple[str, Any] | None:
    """``(what to call it, how to open it)`` for a local or object-storage file; None for a
    URL (or anything else, which ``message.bodies`` then names)."""
    if _object_storage(value):
        if value.protocol in ("", "file", "local"):
            return str(value), os.fspath(value.path)
        return str(value), value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        path = local_path(value)
        if path is not None:
            return value, path
    return None


def _read_local(path: str, *, name: str, field_name: str, limit: int, check) -> bytes:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InvalidMessageError(field_name, f"{name} does not exist") from None
    except PermissionError:
        raise InvalidMessageError(field_name, f"{name} cannot be read (no permission)") from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidMessageError(field_name, f"{name} is not a regular file")
    check(info.st_size)
    try:
        with open(path, "rb") as handle:
            return handle.read(limit + 1)
    except PermissionError:
        raise InvalidMessageError(field_name, f"{name} cannot be read (no permission)") from None


def _read_object(path: Any, *, name: str, field_name: str, limit: int, check) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InvalidMessageError(field_name, f"{name} does not exist") from None
    if info.get("type") != "file":
        raise InvalidMessageError(field_name, f"{name} is not a regular file")
    if isinstance(info.get("size"), int):
        check(info["size"])
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def read_media(
    items: Any, field_name: str, *, kind: str, allow_bird_resizing: bool = False
) -> tuple[Any, Media]:
    """`items` with every file replaced by its checked :class:`MediaFile`, and the files
    read (raises InvalidMessageError naming the item and the file; AirflowException when a
    storage failed to answer, which a retry may fix). Items are counted before any file is
    read, and each file is read once, at most one byte beyond its limit."""
    if _object_storage(items) or isinstance(items, os.PathLike):
        items = [items]
    listed = media_items(items, field_name)
    media = Media()
    replaced = []
    limit = size_limit(kind, allow_bird_resizing)
    for item, item_field in listed:
        given = item.get("url") if isinstance(item, dict) else item
        found = _source(given)
        if found is None:
            replaced.append(item)
            continue
        name, opener = found

        def check(size: int, item_field: str = item_field, name: str = name) -> None:
            check_size(
                size,
                kind=kind,
                field=item_field,
                source=name,
                allow_bird_resizing=allow_bird_resizing,
            )

        reader = _read_local if isinstance(opener, str) else _read_object
        try:
            data = reader(opener, name=name, field_name=item_field, limit=limit, check=check)
        except OSError as exc:
            raise AirflowException(
                f"{item_field}: {name} could not be read ({type(exc).__name__}: {exc}); "
                "nothing was sent"
            ) from None
        content_type = item.get("content_type") if isinstance(item, dict) else None
        checked = media_file(
            data,
            kind=kind,
            field=item_field,
            source=name,
            name=getattr(opener, "name", None) or os.path.basename(str(opener)),
            content_type=content_type if isinstance(content_type, str) else None,
            allow_bird_resizing=allow_bird_resizing,
        )
        media.files.append(checked)
        media.data.setdefault(checked.key, data)
        replaced.append({**item, "url": checked} if isinstance(item, dict) else checked)
    if media:
        check_total(media.files, field_name)
    return replaced, media


def upload(
    hook: BirdHook,
    outgoing: Outgoing,
    media: Media,
    *,
    store: Any,
    max_tries: int,
    log: logging.Logger,
    record: str = "",
) -> Outgoing:
    """`outgoing` with each file's placeholder replaced by Bird's media URL: uploaded now,
    or as an earlier try of this run recorded it (in the ledger of `record`). Nothing has
    been sent when this raises."""
    ledger = Ledger(store, max_tries=max_tries, record=record) if store is not None else None
    recorded = ledger.uploads() if ledger else {}
    urls: dict[str, str] = {}
    for item in media.files:
        if item.placeholder in urls:
            continue  # the same bytes named twice: one upload
        url = recorded.get(item.key)
        if url:
            log.info("%s (%s): using the upload of an earlier try", item.field, item.source)
        else:
            try:
                url = hook.upload_media(
                    outgoing.channel_id,
                    media.data[item.key],
                    content_type=item.content_type,
                    filename=item.filename,
                )
            except BirdError as exc:
                raise (AirflowException if exc.retryable else AirflowFailException)(
                    f"{item.field}: uploading {item.source} to Bird failed: {exc}; nothing was sent"
                ) from None
            if ledger:
                ledger.record_upload(item.key, url)
            log.info(
                "%s (%s, %s, %d bytes): uploaded once for all %d recipient(s)",
                item.field,
                item.source,
                item.content_type,
                item.size,
                len(outgoing.recipients),
            )
        urls[item.placeholder] = url
    return replace(outgoing, content=_substituted(outgoing.content, urls))


def _substituted(value: Any, urls: dict[str, str]) -> Any:
    if isinstance(value, str):
        return urls.get(value, value)
    if isinstance(value, dict):
        return {k: _substituted(v, urls) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, urls) for v in value]
    return value
