"""Messages: createChannelMessage and getChannelMessage, how a message is built from a request
(Bird's schema, the sandbox's rules, the channel's MMS capability, rejected recipients, the
rendered template), stored, and shown in its current status."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from airflow_provider_sms.bird.facts import MMS_BODY_TYPES

from .catalogue import ABSENT, CHANNELS, WORKSPACE_ID
from .errors import ApiError, invalid, not_found
from .rules import expire, quiet_hours_end, shorten_links, shortened_body
from .statuses import ACCEPTED, SCHEDULED, outcome, stages, timestamp
from .templates import render_template
from .validation import parse_date_time, validation_details


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON-like value (what messages are made of), three times faster than
    ``copy.deepcopy``: listing a page of messages is mostly copying them."""
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list:
        return [copy_json(item) for item in value]
    if kind is tuple:
        return tuple(copy_json(item) for item in value)
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def contact_id(workspace_id: str, identifier: str) -> str:
    # Bird creates a contact per identifier on first send; a stable id mimics that.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bird-sandbox:{workspace_id}:{identifier}"))


class MessageOperations:
    """createChannelMessage and getChannelMessage over the backend's state (see
    :class:`.SandboxBackend`, which holds the lock and the stored messages)."""

    def create_message(self, workspace_id: str, channel_id: str, payload: Any) -> dict:
        """createChannelMessage: validate and store one message; the accepted message."""
        self.require(workspace_id, channel_id)
        accepted_at = self._clock()
        message = self._build_message(workspace_id, channel_id, payload, accepted_at=accepted_at)
        timeline = self._timeline(message, accepted_at)
        with self._lock:
            self._store_live_locked(message, accepted_at, *timeline)
        # The answer is the message as accepted, whatever the delays.
        return copy_json(message)

    def get_message(self, workspace_id: str, channel_id: str, message_id: str) -> dict:
        """getChannelMessage: one message of the channel, in its current status."""
        self.require(workspace_id, channel_id)
        now = self._clock()
        with self._lock:
            self._settle_locked(now)
            position, _ = self._read_locked(message_id, channel_id)
            shown = self._view_locked(position, now)
        return copy_json(shown)

    def _read_locked(self, message_id: str, channel_id: str) -> tuple[int, bool]:
        """Where the message read under `channel_id` is stored, and whether it is that
        channel's; 404 for none, or for another channel's unless ``listing``'s
        ``other_channel`` answers it."""
        position = self._position.get(message_id)
        if position is None:
            raise not_found("message")
        own = self._messages[position]["channelId"] == channel_id
        if not own and self._settings["listing"]["other_channel"] == "not_found":
            raise not_found("message")
        return position, own

    def add_history(
        self,
        channel_id: str,
        recipients: list[str],
        *,
        age: float = 86400.0,
        batch_id: str | None = None,
        reference: str = "history",
    ) -> None:
        """Store a past of the channel: one SMS to each of `recipients`, the last accepted
        `age` seconds ago and each earlier one a second before the next (in the batch
        `batch_id`, if given), listed before anything sent later."""
        self.require(WORKSPACE_ID, channel_id)
        last = self._clock() - age
        built = []
        for index, recipient in enumerate(recipients):
            accepted_at = last - (len(recipients) - 1 - index)
            payload = {
                "receiver": {"contacts": [{"identifierValue": recipient}]},
                "body": {"type": "text", "text": {"text": "An earlier message."}},
                "reference": reference,
            }
            message = self._message_shell(WORKSPACE_ID, channel_id, payload, batch_id, accepted_at)
            built.append((message, *self._timeline(message, accepted_at)))
        with self._lock:
            if batch_id is not None:
                self._batch_channel[batch_id] = channel_id
            for entry in built:
                self._store_locked(*entry)

    def _timeline(self, message: dict, accepted_at: float) -> tuple[float, tuple | None]:
        """When a new message's timeline starts, and its stages (None: it stays as it is)."""
        delays = self._settings["status_delays"]
        status = message["status"]
        if delays is None or status not in (ACCEPTED, SCHEDULED):
            return accepted_at, None
        origin = self._release_time(message, accepted_at) if status == SCHEDULED else accepted_at
        timeline = stages(outcome(message), delays)
        validity = message.get("validity")
        if isinstance(validity, int) and not isinstance(validity, bool):
            # Counted from when the message goes out (its time, the end of quiet hours).
            timeline = expire(timeline, validity)
        return origin, timeline

    @staticmethod
    def _release_time(message: dict, accepted_at: float) -> float:
        """When a message goes out: at acceptance, or at its later ``scheduledFor``; either
        moved to the end of the channel's quiet hours when it falls within them."""
        due = accepted_at
        if message.get("scheduledFor") is not None:
            when = parse_date_time(message["scheduledFor"])
            if when is not None and when.timestamp() > accepted_at:
                due = when.timestamp()
        held = quiet_hours_end(message["channelId"], message, due)
        return due if held is None else held

    def _view_locked(self, position: int, now: float) -> dict:
        """The stored message as it stands at ``now``: itself while its status is the one it
        was accepted with, else a shallow copy in its current status (callers copy it)."""
        stages = self._stages[position]
        if stages is None:
            return self._messages[position]
        origin = self._origins[position]
        current = None
        for index, stage in enumerate(stages):
            if now < origin + stage[0]:  # not now - origin: the same sum as the stamp below
                break
            current = index
        return self._stage_view_locked(position, current)

    def _stage_view_locked(self, position: int, index: int | None) -> dict:
        """The stored message in the status of its stage ``index`` (None: the status it was
        accepted with): itself, or a shallow copy (callers copy it)."""
        message = self._messages[position]
        if index is None:
            return message
        origin = self._origins[position]
        offset, status, extra = self._stages[position][index]
        moment = timestamp(datetime.fromtimestamp(origin + offset, UTC))
        view = {**message, "status": status, "lastStatusAt": moment, "updatedAt": moment}
        if status == ABSENT:
            del view["status"]
        if extra:
            view.update(extra)
        return view

    def _store_live_locked(
        self,
        message: dict,
        accepted_at: float,
        origin: float,
        stages: tuple | None,
        *,
        settle: bool = True,
    ) -> None:
        """Store a message made just now (sent, or received), keeping the channel's createdAt
        non-decreasing in storage order, which clients paging by time rely on: replies due
        by ``accepted_at`` are stored first, and a message stamped before the channel's
        latest one (its clock read before another request took the lock) takes that stamp."""
        if settle:
            self._settle_locked(accepted_at)
        channel_id = message["channelId"]
        latest = self._latest.get(channel_id)
        if latest is not None and accepted_at < latest:
            moment = timestamp(datetime.fromtimestamp(latest, UTC))
            message.update(createdAt=moment, lastStatusAt=moment, updatedAt=moment)
            origin = max(origin, latest)
            accepted_at = latest
        self._store_locked(message, origin, stages)
        self._latest[channel_id] = accepted_at
        self._schedule_replies_locked(message, origin)

    def _store_locked(self, message: dict, origin: float, stages: tuple | None) -> None:
        # Stored messages are never changed afterwards (their status is worked out when they
        # are read): callers get copies.
        position = len(self._messages)
        self._messages.append(message)
        self._origins.append(origin)
        self._stages.append(stages)
        self._position[message["id"]] = position
        self._by_channel.setdefault(message["channelId"], []).append(position)
        if "batchId" in message:
            self._by_batch.setdefault(message["batchId"], []).append(position)

    def _build_message(
        self,
        workspace_id: str,
        channel_id: str,
        payload: Any,
        *,
        batch_id: str | None = None,
        accepted_at: float,
    ) -> dict:
        """Validate one CreateMessage against every rule; the accepted message or ApiError."""
        details = validation_details("create_message", payload)
        if details:
            raise invalid(details)
        rendered = None
        if payload.get("template") is not None:
            rendered = render_template(payload["template"])
            short_links = payload["template"].get("shortLinks") or {}
            if short_links.get("enabled") is True:
                rendered = shorten_links(rendered, short_links.get("domain") or "default")
        else:
            content = payload["body"]
            if content["type"] in MMS_BODY_TYPES and not CHANNELS[channel_id]["mms"]:
                raise ApiError(
                    409,
                    "ConflictingConditions",
                    f"channel {channel_id} does not support MMS ({content['type']} body)",
                )
            if isinstance(payload.get("shortLinks"), dict):
                content = shortened_body(content, payload["shortLinks"]["domain"])
            rendered = (content.get(content["type"]) or {}).get("text")
        blocked_destination(self._settings["blocked_destinations"], payload)
        rejected = self._settings["reject_recipients"]
        for index, contact in enumerate(payload["receiver"]["contacts"]):
            if contact.get("identifierValue") in rejected:
                raise ApiError(
                    422,
                    "RecipientRejected",
                    # Echoes the number, as real APIs' messages do: clients must mask it.
                    f"The recipient {contact['identifierValue']} cannot receive messages",
                    {f"receiver.contacts.{index}.identifierValue": ["recipient is rejected"]},
                )
        message = self._message_shell(workspace_id, channel_id, payload, batch_id, accepted_at)
        if payload.get("body") is not None:
            message["body"] = content  # its links shortened, if asked
        # Held (scheduled) until its time, or the end of the channel's quiet hours.
        late = self._release_time(message, accepted_at) > accepted_at
        message["status"] = SCHEDULED if late else ACCEPTED
        if rendered is not None:
            # What the person would read; kept in Bird's free-form extraInformation.
            meta = message["meta"] = dict(message.get("meta") or {})
            extra = meta["extraInformation"] = dict(meta.get("extraInformation") or {})
            extra["renderedText"] = rendered
        return message

    def _message_shell(
        self,
        workspace_id: str,
        channel_id: str,
        payload: dict,
        batch_id: str | None,
        accepted_at: float,
    ) -> dict:
        channel = CHANNELS[channel_id]
        now = timestamp(datetime.fromtimestamp(accepted_at, UTC))
        contacts = []
        receiver = payload.get("receiver")
        raw_contacts = receiver.get("contacts") if isinstance(receiver, dict) else None
        for contact in raw_contacts if isinstance(raw_contacts, list) else []:
            if not isinstance(contact, dict):
                continue
            contact = dict(contact)
            identifier = contact.get("identifierValue") or contact.get("platformAddress") or ""
            contact.setdefault("id", contact_id(workspace_id, identifier))
            if "identifierValue" in contact:
                contact.setdefault("identifierKey", "phonenumber")
            contact.setdefault("type", "to")
            contacts.append(contact)
        message: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "channelId": channel_id,
            "sender": {
                "connector": {
                    "id": channel["connectorId"],
                    "identifierValue": channel["identifier"],
                }
            },
            "receiver": {"contacts": contacts},
        }
        # The payload was parsed for this request alone, so its parts can be shared; only
        # ``meta`` is extended later and gets copied there.
        for key in (
            "body",
            "template",
            "reference",
            "meta",
            "replyTo",
            "shortLinks",
            "validity",
            "ignoreQuietHours",
            "ignoreGlobalHoldout",
            "enableLinkTracking",
            "capFrequency",
            "notification",
        ):
            if payload.get(key) is not None:
                message[key] = payload[key]
        if isinstance(payload.get("tags"), list):
            # Bird stores tags lower-cased.
            message["tags"] = [t.lower() if isinstance(t, str) else t for t in payload["tags"]]
        if payload.get("scheduledFor") is not None:
            message["scheduledFor"] = payload["scheduledFor"]
        if batch_id is not None:
            message["batchId"] = batch_id
        message.update(
            status=ACCEPTED,
            direction="outgoing",
            lastStatusAt=now,
            createdAt=now,
            updatedAt=now,
        )
        return message


def blocked_destination(blocked: dict, payload: dict) -> None:
    """Refuse a message to a country the workspace does not allow, as the setting's
    ``answer`` says (no message is created)."""
    import phonenumbers

    for contact in payload["receiver"]["contacts"]:
        try:
            number = phonenumbers.parse(str(contact.get("identifierValue")), None)
        except phonenumbers.NumberParseException:
            continue
        region = phonenumbers.region_code_for_number(number)
        if region not in blocked["regions"]:
            continue
        text = f"The destination country {region} is blocked for this workspace"
        if blocked["answer"] == "400":
            raise ApiError(400, "InvalidRequest", text)
        raise ApiError(int(blocked["answer"]), "DestinationBlocked", text)
