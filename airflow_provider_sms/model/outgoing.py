"""One message to many recipients, validated once: the value operators, the notifier and the
retry ledger share."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from airflow_provider_sms.bird.errors import InvalidMessageError

from .messages import channel_id as checked_channel_id
from .messages import message_options
from .references import reference_for


@dataclass(frozen=True)
class Outgoing:
    """What is sent to every recipient: the same content and options, each recipient with a
    request of its own.

    :param kind: what to call it in logs and errors (``"SMS"``, ``"MMS"``, ...).
    :param recipients: E.164 numbers, de-duplicated, in order.
    :param channel_id: the Bird channel (a UUID).
    :param content: ``{"body": ...}`` or ``{"template": ...}``, as the model built it.
    :param options: checked top-level CreateMessage options (``reference``, ``tags``).
    :param reference_seed: when ``options`` has no ``reference``, each recipient's reference
        is derived from this and the recipient (see ``reference_for``).
    """

    kind: str
    recipients: tuple[str, ...]
    channel_id: str
    content: Mapping[str, dict]
    options: Mapping[str, Any] = field(default_factory=dict)
    reference_seed: tuple[str, ...] | None = None

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
        default_region: str | None = None,
        reference_seed: tuple[str, ...] | None = None,
        allow_premium_numbers: bool = False,
        allowed_regions: Any = None,
        regions_note: str = "not in allowed_regions",
    ) -> Outgoing:
        """Validate every argument (raises InvalidMessageError naming the field); recipients
        as `normalize_recipients` checks them."""
        from .recipients import normalize_recipients  # phonenumbers loads only when sending

        if len(content) != 1 or not ({"body", "template"} >= set(content)):
            raise InvalidMessageError("body/template", "give exactly one of body or template")
        options = message_options(reference=reference, tags=tags, smart_encoding=smart_encoding)
        return cls(
            kind=kind,
            recipients=tuple(
                normalize_recipients(
                    recipients,
                    default_region=default_region,
                    allow_premium_numbers=allow_premium_numbers,
                    allowed_regions=allowed_regions,
                    regions_note=regions_note,
                )
            ),
            channel_id=checked_channel_id(channel_id),
            content=content,
            options=options,
            reference_seed=None if "reference" in options else reference_seed,
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
        if self.reference_seed is not None:
            message["reference"] = reference_for(self.reference_seed, recipient)
        return message

    @cached_property
    def digest(self) -> str:
        """A short digest of what is sent (channel, body or template, options): what a retry
        compares to decide that a recipient already got *this* message."""
        canonical = json.dumps(
            {"channel": self.channel_id, "content": self.content, "options": self.options},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]
