"""One send of SMS, MMS or template messages, from its arguments: what the three send operators
and BirdHook's TaskFlow verbs (`send_sms`, `send_mms`, `send_template`) share. Each kind knows
its content, the files it uploads, the regions it may go to and its checks against the
channel; `Send.deliver` builds the `Outgoing`, checks the caps and delivers it exactly once.

The operators keep their own signatures (Airflow reads them for `default_args` and the
reference pages); `tests/unit/test_sends.py` keeps their defaults those given here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_sms import DEFAULT_CONN_NAME
from airflow_provider_sms.bird.facts import MMS_REGIONS

if TYPE_CHECKING:
    from airflow_provider_sms.hooks.bird import BirdHook
    from airflow_provider_sms.outbound.uploads import Media

# Enough requests in flight to reach Bird's 500 POST/s with answers taking up to 100 ms.
DEFAULT_MAX_CONCURRENCY = 50
# A text needing more SMS segments than this is refused unless the task allows more: an
# accidental 30-part message costs thirty times one.
DEFAULT_MAX_SEGMENTS = 10
# Bird takes 500 POST/s per workspace; answers taking up to 400 ms need no more in flight.
MAX_CONCURRENCY = 200
# Up to this many recipients the XCom lists one entry per recipient; above it, a summary.
DEFAULT_XCOM_ENTRIES_LIMIT = 1000

REQUIRED = object()


def check_max_concurrency(value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CONCURRENCY:
        raise ValueError(f"max_concurrency: must be 1 to {MAX_CONCURRENCY}, got {value!r}")


class Send:
    """The arguments of one send, as attributes of the same names, and the sending of it."""

    kind = "message"
    # Every kind's arguments and their defaults.
    COMMON: ClassVar[dict[str, Any]] = {
        "recipients": REQUIRED,
        "channel_id": None,
        "bird_conn_id": DEFAULT_CONN_NAME,
        "reference": None,
        "tags": None,
        "default_region": None,
        "max_concurrency": DEFAULT_MAX_CONCURRENCY,
        "fail_on_partial_failure": True,
        "use_batch_api": False,
        "check_batch_results": False,
        "xcom_entries_limit": DEFAULT_XCOM_ENTRIES_LIMIT,
        "allow_premium_numbers": False,
        "allowed_regions": None,
        "dry_run": False,
        "send_at": None,
        "local_window": None,
        "validity": None,
        "ignore_quiet_hours": None,
        "ignore_global_holdout": None,
        "track_links": None,
        "short_links": None,
        "notification_url": None,
        "extra_information": None,
        "exclude_recipients": None,
        "max_messages": None,
        "max_total_segments": None,
    }
    # This kind's own arguments (its content) and their defaults.
    OWN: ClassVar[dict[str, Any]] = {}

    def __init__(self, log: logging.Logger, **arguments: Any):
        names = {**self.COMMON, **self.OWN}
        unknown = sorted(set(arguments) - set(names))
        if unknown:
            raise TypeError(
                f"{', '.join(unknown)}: not an argument of a {self.kind} send (those of "
                f"the {self.kind} operator are: {', '.join(names)})"
            )
        missing = [n for n, given in names.items() if given is REQUIRED and n not in arguments]
        if missing:
            raise TypeError(f"{', '.join(missing)}: required")
        for name, default in names.items():
            setattr(self, name, arguments.get(name, default))
        check_max_concurrency(self.max_concurrency)
        self.log = log

    @classmethod
    def of(cls, owner: Any, log: logging.Logger) -> Send:
        """The send an operator's (rendered) attributes describe."""
        return cls(log, **{name: getattr(owner, name) for name in {**cls.COMMON, **cls.OWN}})

    # -- what each kind says -----------------------------------------------------------

    def content(self) -> dict[str, dict]:
        """``{"body": ...}`` or ``{"template": ...}``; raises InvalidMessageError."""
        raise NotImplementedError

    def read_media(self) -> Media | None:
        """Files this message uploads, read and checked before `content` (MMS)."""
        return None

    def check_channel(self, hook: BirdHook, channel_id: str) -> None:
        """Checks against the channel before anything is sent."""

    def regions(self) -> tuple[Any, str]:
        """The regions recipients may be in, and why others are refused."""
        return self.allowed_regions, "not in allowed_regions"

    def options(self) -> dict[str, Any]:
        """Further options of this kind of message for `Outgoing.build` (kinds add to
        these): the delivery options, checked by ``message.options``."""
        from airflow_provider_sms.message.options import DELIVERY_OPTIONS

        return {"delivery": {name: getattr(self, name) for name in DELIVERY_OPTIONS}}

    # -- sending -------------------------------------------------------------------------

    def deliver(
        self, hook: BirdHook, context: Mapping[str, Any] | None, *, record: str = ""
    ) -> tuple[list[dict] | dict, str]:
        """Check everything, then send exactly once (``outbound.engine.deliver``): the
        result entries (or summary, or dry run preview), and the channel they went on.
        `record` tells the task's sends apart when it makes several (``SendPolicy``)."""
        from datetime import UTC, datetime

        from airflow_provider_sms.message.outgoing import Outgoing
        from airflow_provider_sms.outbound.engine import deliver
        from airflow_provider_sms.outbound.prepare import (
            SendPolicy,
            check_caps,
            invalid_input,
            reference_seed,
        )
        from airflow_provider_sms.outbound.result import log_schedule

        context = context or {}
        with invalid_input(self.kind):
            regions, regions_note = self.regions()
            media = self.read_media()
            outgoing = Outgoing.build(
                kind=self.kind,
                recipients=self.recipients,
                default_region=self.default_region,
                channel_id=hook.channel_id(self.channel_id),
                content=self.content(),
                reference=self.reference,
                tags=self.tags,
                reference_seed=reference_seed(context, record),
                allow_premium_numbers=self.allow_premium_numbers,
                allowed_regions=regions,
                regions_note=regions_note,
                send_at=self.send_at,
                local_window=self.local_window,
                now=datetime.now(UTC),
                exclude_recipients=self.exclude_recipients,
                **self.options(),
            )
            check_caps(
                outgoing,
                hook.settings,
                max_messages=self.max_messages,
                max_total_segments=self.max_total_segments,
                with_segments=True,
            )
        log_schedule(outgoing, self.log)
        policy = SendPolicy(
            max_concurrency=self.max_concurrency,
            use_batch_api=self.use_batch_api,
            check_batch_results=self.check_batch_results,
            fail_on_partial_failure=self.fail_on_partial_failure,
            xcom_entries_limit=self.xcom_entries_limit,
            dry_run=self.dry_run,
            record=record,
        )
        result = deliver(
            hook,
            outgoing,
            policy,
            context=context,
            log=self.log,
            check=self.check_channel,
            media=media,
        )
        return result, outgoing.channel_id


class SmsSend(Send):
    kind = "SMS"
    OWN: ClassVar[dict[str, Any]] = {
        "text": REQUIRED,
        "max_segments": DEFAULT_MAX_SEGMENTS,
        "smart_encoding": False,
    }

    def content(self) -> dict[str, dict]:
        from airflow_provider_sms.message.bodies import sms_body

        body, count = sms_body(self.text, max_segments=self.max_segments)
        # Bird bills per segment: worth seeing before ten thousand of them go out.
        notes = []
        if self.smart_encoding:
            notes.append("before Bird's smart encoding")
        if self.short_links is not None:
            notes.append("an upper bound: Bird shortens the links afterwards")
        self.log.info(
            "Text of %d character(s): %d %s segment(s) per message%s",
            count.characters,
            count.segments,
            count.encoding,
            f" ({'; '.join(notes)})" if notes else "",
        )
        return {"body": body}

    def options(self) -> dict[str, Any]:
        return {**super().options(), "smart_encoding": bool(self.smart_encoding)}


class MmsSend(Send):
    kind = "MMS"
    OWN: ClassVar[dict[str, Any]] = {
        "images": None,
        "files": None,
        "text": None,
        "title": None,
        "fallback_text": None,
        "check_mms_capability": True,
        "allow_mms_outside_us_ca": False,
        "allow_bird_resizing": False,
    }

    def regions(self) -> tuple[Any, str]:
        if self.allow_mms_outside_us_ca:
            return super().regions()
        regions = set(MMS_REGIONS)
        if self.allowed_regions is not None:
            given = self.allowed_regions
            given = given.split(",") if isinstance(given, str) else given
            regions &= {str(r).strip().upper() for r in given}
            if not regions:
                from airflow_provider_sms.bird.errors import InvalidMessageError

                raise InvalidMessageError(
                    "allowed_regions", "includes neither US nor CA, where Bird offers MMS"
                )
        note = (
            "and Bird offers MMS to US and Canadian numbers only (allow_mms_outside_us_ca=True "
            "sends anyway)"
        )
        return sorted(regions), note

    def read_media(self) -> Media | None:
        from airflow_provider_sms.outbound.uploads import read_media

        images, files = self.images, self.files
        media = None
        if images is not None and files is None:
            images, media = read_media(
                images, "images", kind="image", allow_bird_resizing=self.allow_bird_resizing
            )
        elif files is not None and images is None:
            files, media = read_media(files, "files", kind="file")
        # The media as `content` sends them: files replaced by what was read.
        self._media_items = (images, files)
        return media

    def content(self) -> dict[str, dict]:
        from airflow_provider_sms.message.bodies import mms_body

        images, files = getattr(self, "_media_items", (self.images, self.files))
        return {
            "body": mms_body(
                images=images,
                files=files,
                text=self.text,
                title=self.title,
                fallback_text=self.fallback_text,
            )
        }

    def check_channel(self, hook: BirdHook, channel_id: str) -> None:
        if not self.check_mms_capability:
            return
        from airflow_provider_sms.bird.objects import is_mms_capable
        from airflow_provider_sms.compat import AirflowFailException

        channel = hook.get_channel(channel_id)
        if not is_mms_capable(channel):
            raise AirflowFailException(
                f"channel_id: channel {channel_id} ({channel.get('name', 'unnamed')}) cannot "
                "send MMS (capabilities.messaging.outgoing.mms.status is not 'active'); "
                "nothing was sent. Use an MMS-capable (US/Canada) number."
            )


class TemplateSend(Send):
    kind = "template message"
    OWN: ClassVar[dict[str, Any]] = {
        "project_id": None,
        "template_name": None,
        "version": "latest",
        "locale": "en",
        "parameters": None,
        "variables": None,
        "utm_parameters": None,
    }

    def content(self) -> dict[str, dict]:
        from airflow_provider_sms.message.bodies import template_payload

        return {
            "template": template_payload(
                self.project_id,
                name=self.template_name,
                version=self.version,
                locale=self.locale,
                parameters=self.parameters,
                variables=self.variables,
                utm_parameters=self.utm_parameters,
                short_links=self.short_links,
            )
        }


class _Records:
    """How many sends each task instance's try has made in this process, so that the hook's
    verbs called several times in one task each keep a record of their own: the n-th call
    is the n-th on every try, as the task's code calls them in the same order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[tuple, int] = {}

    def next(self, context: Mapping[str, Any]) -> str:
        ti = context.get("ti")
        if ti is None:
            return ""
        key = tuple(
            getattr(ti, name, None)
            for name in ("dag_id", "run_id", "task_id", "map_index", "try_number")
        )
        with self._lock:
            count = self._made[key] = self._made.get(key, 0) + 1
        return "" if count == 1 else f"call{count}"


RECORDS = _Records()


def send_from_task(
    kind: type[Send], hook: BirdHook, arguments: dict[str, Any]
) -> list[dict] | dict:
    """A send from inside a task (BirdHook's verbs): the operator's checks and exactly-once
    record, for this call of the task's (see `_Records`)."""
    from airflow_provider_sms.compat import current_context

    for name in ("wait_for_delivery", "delivery_timeout", "delivery_poll_interval"):
        if name in arguments:
            raise TypeError(
                f"{name}: an operator's argument (it defers the task); after a send from a "
                "task, wait with MessageStatusSensor"
            )
    if "bird_conn_id" in arguments:
        raise TypeError("bird_conn_id: the hook's own connection is used (BirdHook(conn_id))")
    context = current_context()
    send = kind(hook.log, bird_conn_id=hook.bird_conn_id, **arguments)
    result, _ = send.deliver(hook, context, record=RECORDS.next(context))
    return result
