"""Dry runs: what a send would send, without any request."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_sms.message.outgoing import Outgoing
from airflow_provider_sms.message.schedule import due_hours
from airflow_provider_sms.message.segments import count_segments
from airflow_provider_sms.redaction import mask_phone

if TYPE_CHECKING:
    from airflow_provider_sms.delivery.media import Media

# How many request bodies a dry run logs and returns, as samples.
_PREVIEWED_REQUESTS = 3


def preview(outgoing: Outgoing, *, log: logging.Logger, media: Media | None = None) -> dict:
    """What `send` would send, without any request: the request bodies of the first few
    recipients (numbers masked), the message's encoding and segment count, and the files
    an MMS would upload (read and checked; their media URLs show as placeholders)."""

    samples = []
    for recipient in outgoing.recipients[:_PREVIEWED_REQUESTS]:
        body = outgoing.request(recipient)
        contact = body["receiver"]["contacts"][0]
        body["receiver"] = {"contacts": [{**contact, "identifierValue": mask_phone(recipient)}]}
        samples.append(body)
        log.info("Dry run: would send %s", json.dumps(body, ensure_ascii=False))
    message: dict[str, Any] = {"content": dict(outgoing.content), "options": dict(outgoing.options)}
    text = (outgoing.content.get("body") or {}).get("text", {}).get("text")
    if text is not None:
        count = count_segments(text)
        message.update(
            encoding=count.encoding, segments=count.segments, characters=count.characters
        )
    log.info(
        "Dry run: %s to %d recipient(s) on channel %s; nothing was sent",
        outgoing.kind,
        len(outgoing.recipients),
        outgoing.channel_id,
    )
    for item in media.files if media else ():
        log.info(
            "Dry run: would upload %s (%s, %s, %d bytes) once, as %s",
            item.field,
            item.source,
            item.content_type,
            item.size,
            item.placeholder,
        )
    result = {
        "dry_run": True,
        "kind": outgoing.kind,
        "channel_id": outgoing.channel_id,
        "total": len(outgoing.recipients),
        "suppressed": len(outgoing.suppressed),
        "messages": [message],
        "requests": samples,
    }
    if media:
        result["uploads"] = media.described()
    if outgoing.schedule:
        due = outgoing.schedule.due
        result["due_by_hour"] = due_hours(due.get(r) for r in outgoing.recipients)
    return result
