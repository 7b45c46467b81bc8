"""One message to many recipients, validated once: the value operators, the notifier and the
retry ledger share; and the deterministic references of its messages, so every message can be
found again in Bird."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from airflow_provider_sms.bird.errors import InvalidMessageError

from .bodies import channel_id as checked_channel_id
from .bodies import message_options
from .schedule import Schedule


def task_seed(dag_id: str, run_id: str, task_id: str, map_index: int, *more: object) -> tuple:
    """What a task instance's default references derive from; `more` tells apart other
    messages of the same task instance (a callback's alert, say) from the ones it sends."""
    return (dag_id, run_id, task_id, str(map_index), *map(str, more))


def reference_for(seed: Sequence[str], recipient: str, group: Sequence[str] | None = None) -> str:
    """The ``reference`` set on a message when the DAG author gives none.

    The same for every try of a task instance, so a message whose fate is unknown (a timed-out
    send) can be looked up in Bird by it; opaque, because run ids and phone numbers do not
    belong in a reference a support desk may read aloud. Messages of one `group` (the alerts
    of one notifier's cooldown) share the first half, ``group_prefix``, by which a lookup finds
    any of them."""
    key = "\x1f".join((*seed, recipient))
    digest = hashlib.sha256(key.encode()).hexdigest()
    if group is None:
        return "airflow-" + digest[:32]
    return group_prefix(group, recipient) + digest[:16]


def group_prefix(group: Sequence[str], recipient: str) -> str:
    """What the references of a group's messages to `recipient` begin with."""
    key = "\x1f".join(("group", *group, recipient))
    return "airflow-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def send_seed(dag_id: str, run_id: str, task_id: str, map_index: int, max_tries: int) -> tuple:
    """What a send operator's default references derive from: the task instance and its
    `max_tries`, which Airflow keeps for every try of a run of it and raises when it is
    cleared, so a cleared task's messages are new ones, and a retry can find its own in Bird
    without mistaking those of the run before the clear for them."""
    return task_seed(dag_id, run_id, task_id, map_index, f"m{max_tries}")


def default_reference(
    dag_id: str, run_id: str, task_id: str, map_index: int, recipient: str, *, max_tries: int
) -> str:
    """The default reference of a send operator's message to `recipient`."""
    return reference_for(send_seed(dag_id, run_id, task_id, map_index, max_tries), recipient)


@dataclass(frozen=True)
class Outgoing:
    """What is sent to every recipient: the same content and options, each recipient with a
    request of its own.

    :param kind: what to call it in logs and errors (``"SMS"``, ``"MMS"``, ...).
    :param recipients: E.164 numbers, de-duplicated, in order.
    :param channel_id: the Bird channel (a UUID).
    :param content: ``{"body": ...}`` or ``{"template": ...}``, as ``message.bodies`` built it.
    :param options: checked top-level CreateMessage options (``reference``, ``tags``, and
        the delivery options of ``message.options``: ``validity``, ``shortLinks``, ...).
    :param reference_seed: when ``options`` has no ``reference``, each recipient's reference
        is derived from this and the recipient (see ``reference_for``).
    :param reference_group: the group those references belong to (see ``group_prefix``).
    :param suppressed: recipients left out by ``exclude_recipients`` (E.164, in order): not
        sent to, reported ``suppressed``.
    :param schedule: each recipient's due time (``scheduledFor``), from ``send_at`` and
        ``local_window`` (see ``message.schedule.plan``); empty: sent at once.
    """

    kind: str
    recipients: tuple[str, ...]
    channel_id: str
    content: Mapping[str, dict]
    options: Mapping[str, Any] = field(default_factory=dict)
    reference_seed: tuple[str, ...] | None = None
    reference_group: tuple[str, ...] | None = None
    schedule: Schedule = field(default_factory=Schedule)
    suppressed: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        kind: str,
        recipients: Any,
        channel_id: Any,
        content: Mapping[str, dict],
        reference: Any = None,
        tags: Any = None,
        smart_encoding: bool = False,
        delivery: Mapping[str, Any] | None = None,
        default_region: str | None = None,
        reference_seed: tuple[str, ...] | None = None,
        reference_group: tuple[str, ...] | None = None,
        allow_premium_numbers: bool = False,
        allowed_regions: Any = None,
        regions_note: str = "not in allowed_regions",
        send_at: Any = None,
        local_window: Any = None,
        now: datetime | None = None,
        exclude_recipients: Any = None,
    ) -> Outgoing:
        """Validate every argument (raises InvalidMessageError naming the field); recipients
        as `normalize_recipients` checks them. ``send_at`` and ``local_window`` need ``now``
        (an aware datetime: nothing here reads the clock)."""
        from .recipients import excluded_numbers, normalize_recipients  # phonenumbers: here
        from .schedule import plan

        if len(content) != 1 or not ({"body", "template"} >= set(content)):
            raise InvalidMessageError("body/template", "give exactly one of body or template")
        options = message_options(
            reference=reference,
            tags=tags,
            smart_encoding=smart_encoding,
            delivery=delivery,
            template="template" in content,
        )
        schedule = Schedule()
        if send_at is not None or local_window is not None:
            if now is None:
                raise ValueError("send_at and local_window need now")
            # The arguments themselves are checked before the recipients.
            plan((), send_at=send_at, local_window=local_window, now=now)
        zones: dict | None = {} if local_window is not None else None
        excluded = excluded_numbers(exclude_recipients, default_region=default_region)
        numbers = tuple(
            normalize_recipients(
                recipients,
                default_region=default_region,
                allow_premium_numbers=allow_premium_numbers,
                allowed_regions=allowed_regions,
                regions_note=regions_note,
                zones=zones,
            )
        )
        suppressed = tuple(n for n in numbers if n in excluded)
        if suppressed:
            numbers = tuple(n for n in numbers if n not in excluded)
        if send_at is not None or local_window is not None:
            schedule = plan(
                numbers, send_at=send_at, local_window=local_window, now=now, zones=zones
            )
        return cls(
            kind=kind,
            recipients=numbers,
            channel_id=checked_channel_id(channel_id),
            content=content,
            options=options,
            reference_seed=None if "reference" in options else reference_seed,
            reference_group=reference_group,
            schedule=schedule,
            suppressed=suppressed,
        )

    def request(self, recipient: str) -> dict:
        """The CreateMessage body for one recipient. Content and options are shared between
        recipients, not copied: a request is only serialised, never mutated."""
        message: dict = {
            "receiver": {
                "contacts": [{"identifierKey": "phonenumber", "identifierValue": recipient}]
            },
            **self.content,
            **self.options,
        }
        reference = self.default_reference(recipient)
        if reference is not None:
            message["reference"] = reference
        due = self.schedule.due.get(recipient)
        if due is not None:
            message["scheduledFor"] = due
        return message

    def default_reference(self, recipient: str) -> str | None:
        """The reference given to the message to `recipient` when none was (see
        ``reference_for``); None when one was."""
        if self.reference_seed is None:
            return None
        return reference_for(self.reference_seed, recipient, self.reference_group)

    @cached_property
    def segments(self) -> int:
        """The SMS segments each message takes, as billed: those of a text body; one for an
        MMS or a template, whose text Bird renders."""
        from .segments import count_segments

        text = (self.content.get("body") or {}).get("text", {}).get("text")
        if self.kind != "SMS" or not isinstance(text, str):
            return 1
        return count_segments(text).segments

    @cached_property
    def digest(self) -> str:
        """A short digest of what is sent (channel, body or template, options): what a retry
        compares to decide that a recipient already got *this* message."""
        described: dict = {"channel": self.channel_id, "content": self.content}
        described["options"] = self.options
        if self.schedule:
            # Each recipient's due time, in recipient order (without a schedule the digest
            # is what it was before scheduling existed).
            due = self.schedule.due
            listed = ";".join(f"{r}={due.get(r, '')}" for r in self.recipients)
            described["due"] = hashlib.sha256(listed.encode()).hexdigest()
        canonical = json.dumps(described, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]
