"""The sandbox's settings, declared once: each one's name, default, check, which part holds it
(the gateway in front, or Bird's side, the backend) and its command-line form. Everything
that takes or shows settings reads :data:`SETTINGS`: the backend's and the gateway's
constructors and attributes, ``Gateway.configure`` and ``config()`` (so ``/_sandbox/config``),
:class:`~bird_sandbox.BirdSandbox`'s constructor and attributes, the command line's flags and
:class:`~bird_sandbox.SandboxProcess`. A new setting is one row here.

Standard library only: :mod:`.process` runs in the client's interpreter.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# -- defaults, and what each setting may be ---------------------------------------------------

# Seconds after a message is accepted (or, if it was scheduled for later, after its
# ``scheduledFor``) at which it becomes processing, sent and delivered. A magic recipient's
# message becomes sending_failed at the "sent" delay, delivery_failed at the "delivered" one.
DELAY_NAMES = ("processing", "sent", "delivered")
DEFAULT_STATUS_DELAYS: Mapping[str, float] = MappingProxyType(
    dict(zip(DELAY_NAMES, (0.2, 0.5, 1.0), strict=True))
)

# How the channel's listing behaves where Bird's documentation is silent (API-NOTES sections 5
# and 6 infer these): its order, the answer field naming the next page (None: no field, even
# when more pages follow), whether a full last page names a next (empty) one, whether the
# `batchId` filter is applied, and what reading a message or its interactions under a channel
# other than its own answers (OTHER_CHANNEL_ANSWERS). Tests play each.
DEFAULT_LISTING: Mapping[str, Any] = MappingProxyType(
    {
        "order": "newest_first",
        "page_token_field": "nextPageToken",
        "full_last_page_token": True,
        "batch_filter": True,
        "other_channel": "not_found",
    }
)
LISTING_ORDERS = ("newest_first", "oldest_first")
OTHER_CHANNEL_ANSWERS = {
    "not_found": "the message and its interactions answer 404",
    "empty": "the message as it is (its own channelId); its interactions an empty list",
    "listed": "the message and its interactions as they are (their own channelId)",
}

# What Bird does not document about presigned uploads: the presign's success status, the
# storage's (S3 answers 204, or 200/201 with `success_action_status`), and whether `mediaUrl`
# names the same host as the API (`other`: 127.0.0.1 and localhost swapped).
DEFAULT_UPLOAD: Mapping[str, Any] = MappingProxyType(
    {"presign_status": 200, "upload_status": 204, "media_host": "same"}
)
UPLOAD_CHOICES: Mapping[str, tuple] = MappingProxyType(
    {
        "presign_status": (200, 201),
        "upload_status": (204, 201, 200),
        "media_host": ("same", "other"),
    }
)

# Seconds after a message to an answering recipient goes out at which it answers.
DEFAULT_REPLY_DELAY = 1.0

# Destination countries the workspace does not allow (Bird's workspace setting), and how Bird
# answers a message to one: it says `DestinationBlocked` without documenting the status or
# the envelope, so the sandbox plays each answer a client must take for a blocked destination.
DEFAULT_BLOCKED_DESTINATIONS: Mapping[str, Any] = MappingProxyType({"regions": (), "answer": "422"})
BLOCKED_ANSWERS = {
    "422": "422 with code DestinationBlocked",
    "403": "403 with code DestinationBlocked (the status of a wrong access key)",
    "400": "400 with code InvalidRequest, the message alone naming the blocked destination",
}

# Webhook deliveries (deliveries.py). Bird does not document the body around the object it
# posts [I]: the sandbox plays each shape a receiver may meet.
WEBHOOK_ENVELOPES = {
    "envelope": '{"service": "channels", "event": ..., "payload": <the object>}',
    "bare": "the object alone",
    "extended": "the envelope with fields a receiver does not know (version, deliveryAttempt, "
    "meta)",
}
WEBHOOK_DELIVERIES = {
    "on": "deliveries are sent",
    "paused": "deliveries are withheld (recorded, not sent) until flushed",
}
DEFAULT_WEBHOOK_TIMEOUT = 5.0


def _retry_delays(total: float = 8 * 3600.0, longest: float = 3600.0) -> tuple[float, ...]:
    """Bird retries a failed delivery "at increasing intervals over a period of 8 hours": the
    sandbox doubles from 1 s, each wait at most an hour, until 8 hours have passed."""
    delays: list[float] = []
    while sum(delays) < total:
        delays.append(min(2.0 ** len(delays), longest))
    return tuple(delays)


DEFAULT_WEBHOOK_RETRY_DELAYS = _retry_delays()


# -- checks: (value, current) -> the value as held; ValueError naming the setting --------------
# `current` is what is held now (None: the default); a mapping may name some keys, the others
# keep theirs.


def _seconds(name: str) -> Callable[[Any, Any], float]:
    def check(value: Any, current: Any = None) -> float:
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"{name} must be a non-negative number of seconds")
        return float(value)

    return check


def check_rate(value: Any, current: Any = None) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ValueError("max_posts_per_second must be a positive integer or None")
    return value


def check_numbers(value: Any, current: Any = None) -> frozenset[str]:
    numbers = None if isinstance(value, str) or not isinstance(value, Iterable) else list(value)
    if numbers is None or not all(isinstance(n, str) for n in numbers):
        raise ValueError("reject_recipients must be a list of phone numbers")
    return frozenset(numbers)


def _unknown_keys(name: str, value: Any, known: Iterable[str]) -> None:
    known = tuple(known)
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must map some of {', '.join(known)}")
    unknown = set(value) - set(known)
    if unknown:
        raise ValueError(
            f"unknown {name} key(s): {', '.join(sorted(map(str, unknown)))} "
            f"(expected {', '.join(known)})"
        )


def check_delays(value: Any, current: tuple | None = None) -> tuple[float, float, float] | None:
    """``status_delays`` as (processing, sent, delivered) seconds, or None (no progression)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(
            "status_delays must map processing, sent and delivered to seconds, or be null"
        )
    _unknown_keys("status_delays", value, DELAY_NAMES)
    delays = dict(zip(DELAY_NAMES, current or DEFAULT_STATUS_DELAYS.values(), strict=True))
    for name, seconds in value.items():
        delays[name] = _seconds(f"status_delays.{name}")(seconds)
    processing, sent, delivered = (delays[name] for name in DELAY_NAMES)
    if not processing <= sent <= delivered:
        raise ValueError("status_delays must not decrease: processing <= sent <= delivered")
    return processing, sent, delivered


def check_listing(value: Any, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    _unknown_keys("listing", value, DEFAULT_LISTING)
    listing = {**(current or DEFAULT_LISTING), **value}
    if listing["order"] not in LISTING_ORDERS:
        raise ValueError(f"listing.order must be one of {', '.join(LISTING_ORDERS)}")
    field = listing["page_token_field"]
    if field is not None and (not isinstance(field, str) or not field):
        raise ValueError("listing.page_token_field must be a field name, or null for none")
    for flag in ("full_last_page_token", "batch_filter"):
        if not isinstance(listing[flag], bool):
            raise ValueError(f"listing.{flag} must be true or false")
    if listing["other_channel"] not in OTHER_CHANNEL_ANSWERS:
        raise ValueError(f"listing.other_channel must be one of {', '.join(OTHER_CHANNEL_ANSWERS)}")
    return listing


def check_upload(value: Any, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    _unknown_keys("upload", value, DEFAULT_UPLOAD)
    upload = {**(current or DEFAULT_UPLOAD), **value}
    for key, choices in UPLOAD_CHOICES.items():
        if isinstance(upload[key], bool) or upload[key] not in choices:
            raise ValueError(f"upload.{key} must be one of {', '.join(map(str, choices))}")
    return upload


def _choice(name: str, choices: Mapping[str, str]) -> Callable[[Any, Any], str]:
    def check(value: Any, current: Any = None) -> str:
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}")
        return value

    return check


def check_webhook_timeout(value: Any, current: Any = None) -> float:
    seconds = _seconds("webhook_timeout")(value)
    if seconds <= 0:  # a socket timeout of 0 would not wait at all
        raise ValueError("webhook_timeout must be a positive number of seconds")
    return seconds


def check_retry_delays(value: Any, current: Any = None) -> tuple[float, ...]:
    if isinstance(value, str | Mapping) or not isinstance(value, Iterable):
        raise ValueError("webhook_retry_delays must be a list of seconds (empty: no retries)")
    return tuple(_seconds("webhook_retry_delays")(seconds) for seconds in value)


def check_blocked(value: Any, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    _unknown_keys("blocked_destinations", value, DEFAULT_BLOCKED_DESTINATIONS)
    blocked = {**(current or DEFAULT_BLOCKED_DESTINATIONS), **value}
    regions = blocked["regions"]
    if isinstance(regions, str) or not all(
        isinstance(r, str) and len(r) == 2 and r.isalpha() for r in regions
    ):
        raise ValueError("blocked_destinations.regions must be a list of ISO 3166 region codes")
    if blocked["answer"] not in BLOCKED_ANSWERS:
        raise ValueError(f"blocked_destinations.answer must be one of {', '.join(BLOCKED_ANSWERS)}")
    return {"regions": tuple(r.upper() for r in regions), "answer": blocked["answer"]}


# -- command-line forms: text -> value (ValueError says what was expected), value -> text -------


def _text_as(convert: Callable[[str], Any], expected: str) -> Callable[[str], Any]:
    """A flag's parser: ``convert(text)``, its ValueError saying what was expected."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError:
            raise ValueError(f"{text!r}: expected {expected}") from None

    return parse


def _or_off(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``off`` is None; any other text is ``parse``'s."""
    return lambda text: None if text.strip().lower() == "off" else parse(text)


def _object(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(text)
    return value


def _delays(text: str) -> dict:
    if text.lstrip().startswith("{"):
        return _object(text)
    return dict(zip(DELAY_NAMES, map(float, text.split(",")), strict=True))


def _numbers(text: str) -> list[str]:
    return [number.strip() for number in text.split(",") if number.strip()]


def _seconds_list(text: str) -> list[float]:
    if text.strip().lower() == "off":
        return []
    return [float(part) for part in text.split(",") if part.strip()]


_seconds_text = _text_as(float, "a number of seconds")


@dataclass(frozen=True)
class Cli:
    """A setting's command-line flag (``--`` and its name with dashes)."""

    metavar: str
    parse: Callable[[str], Any]
    format: Callable[[Any], str]
    help: str


def _json_cli(description: str) -> Cli:
    parse = _text_as(_object, "a JSON object")
    return Cli("JSON", parse, lambda value: json.dumps(dict(value)), description)


# -- the table ---------------------------------------------------------------------------------


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Setting:
    """One setting: ``check(value, current)`` gives the value as held (``current``: None for
    the default), ``show`` what reading it gives, ``as_json`` what the control API shows."""

    name: str
    owner: str  # "gateway" or "backend"
    default: Any
    check: Callable[[Any, Any], Any]
    doc: str
    cli: Cli
    show: Callable[[Any], Any] = _same
    as_json: Callable[[Any], Any] = _same

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "latency",
        "gateway",
        0.0,
        _seconds("latency"),
        "Seconds added to each answer under /workspaces.",
        Cli("SECONDS", _seconds_text, str, "seconds added to each answer (default 0)"),
    ),
    Setting(
        "max_posts_per_second",
        "gateway",
        None,
        check_rate,
        "The workspace's POST limit, answered beyond with 429s; None: no limit.",
        Cli(
            "N|off",
            _or_off(_text_as(int, "a whole number of POSTs, or off")),
            lambda value: "off" if value is None else str(value),
            "per-workspace POST limit (default off)",
        ),
    ),
    Setting(
        "reject_recipients",
        "backend",
        frozenset(),
        check_numbers,
        "Phone numbers whose messages are rejected (422, or a rejected batch item).",
        Cli(
            "NUMBERS",
            _numbers,
            lambda value: ",".join(sorted(value)),
            "comma-separated phone numbers whose messages are rejected (default none)",
        ),
        as_json=sorted,
    ),
    Setting(
        "blocked_destinations",
        "backend",
        DEFAULT_BLOCKED_DESTINATIONS,
        check_blocked,
        "Destination countries the workspace does not allow: ``regions`` (ISO 3166 codes), "
        "and ``answer``, how a message to one is refused where Bird's documentation is "
        "silent: ``422`` or ``403`` with code DestinationBlocked, or ``400`` whose message "
        "alone names the blocked destination. Setting some keys keeps the rest.",
        _json_cli(
            'destination countries refused, e.g. \'{"regions": ["NL"], "answer": "403"}\' '
            "(default: none; answered 422 DestinationBlocked)",
        ),
        show=lambda held: {"regions": list(held["regions"]), "answer": held["answer"]},
    ),
    Setting(
        "status_delays",
        "backend",
        DEFAULT_STATUS_DELAYS,
        check_delays,
        "Seconds after acceptance at which a message becomes processing, sent, delivered "
        "(None: messages keep the status they were accepted with). Setting some of the "
        "three, or None, applies to messages accepted afterwards.",
        Cli(
            "P,S,D|off",
            _or_off(_text_as(_delays, "off, PROCESSING,SENT,DELIVERED seconds or a JSON object")),
            lambda value: "off" if value is None else json.dumps(dict(value)),
            "seconds after acceptance at which messages become processing, sent, delivered "
            "(default 0.2,0.5,1.0; a JSON object may name some; off: they stay accepted)",
        ),
        show=lambda held: None if held is None else dict(zip(DELAY_NAMES, held, strict=True)),
    ),
    Setting(
        "listing",
        "backend",
        DEFAULT_LISTING,
        check_listing,
        "How listing messages behaves where Bird's documentation is silent: ``order`` "
        "(``newest_first`` or ``oldest_first``), ``page_token_field`` (None: no token), "
        "``full_last_page_token`` (False: a full last page names no next page), "
        "``batch_filter`` (False: ``batchId`` is ignored) and ``other_channel`` (what reading "
        "a message under another channel answers: ``not_found``, ``empty`` interactions or "
        "``listed``). Setting some keys keeps the rest.",
        _json_cli(
            'how messages are listed, e.g. \'{"order": "oldest_first", "page_token_field": '
            'null, "full_last_page_token": false, "batch_filter": false, "other_channel": '
            '"empty"}\' (default: newest first, nextPageToken, a token after a full last '
            "page, filtered, another channel's message not found)",
        ),
        show=dict,
    ),
    Setting(
        "upload",
        "backend",
        DEFAULT_UPLOAD,
        check_upload,
        "How presigned uploads behave where Bird's documentation is silent: "
        "``presign_status`` (200 or 201), ``upload_status`` (the storage's 204, 201 with S3's "
        "XML, or 200) and ``media_host`` (``same``, or ``other``: ``mediaUrl`` names the "
        "sandbox as localhost when the request named 127.0.0.1, and the other way round). "
        "Setting some keys keeps the rest.",
        _json_cli(
            'how presigned uploads answer, e.g. \'{"presign_status": 201, "upload_status": '
            '201, "media_host": "other"}\' (default: 200, 204, same)',
        ),
        show=dict,
    ),
    Setting(
        "reply_delay",
        "backend",
        DEFAULT_REPLY_DELAY,
        _seconds("reply_delay"),
        "Seconds after a message to an answering recipient goes out at which it replies or "
        "clicks; setting it applies to messages sent afterwards.",
        Cli(
            "SECONDS",
            _seconds_text,
            str,
            "seconds after a message goes out at which the answering recipients answer "
            "(default 1.0)",
        ),
    ),
    Setting(
        "webhook_envelope",
        "backend",
        "envelope",
        _choice("webhook_envelope", WEBHOOK_ENVELOPES),
        "The body of a webhook delivery, which Bird does not document: ``envelope`` "
        '(``{"service", "event", "payload"}``), ``bare`` (the object alone) or ``extended`` '
        "(the envelope with fields a receiver does not know); applies to events from then on.",
        Cli(
            "NAME",
            str,
            str,
            "the body of webhook deliveries: envelope (default), bare or extended",
        ),
    ),
    Setting(
        "webhook_timeout",
        "backend",
        DEFAULT_WEBHOOK_TIMEOUT,
        check_webhook_timeout,
        "Seconds a webhook delivery waits to connect, and then for each read of the answer, "
        "before it counts as failed (and is retried).",
        Cli(
            "SECONDS",
            _seconds_text,
            str,
            f"seconds a webhook delivery waits for its answer (default {DEFAULT_WEBHOOK_TIMEOUT})",
        ),
    ),
    Setting(
        "webhook_retry_delays",
        "backend",
        DEFAULT_WEBHOOK_RETRY_DELAYS,
        check_retry_delays,
        "Seconds before each retry of a webhook delivery that failed (a non-2xx answer, no "
        "connection, a timeout): the first retry after the first, and so on; none left, the "
        "delivery is given up. Default: doubling from 1 s, at most an hour each, over 8 hours.",
        Cli(
            "S1,S2,...|off",
            _text_as(_seconds_list, "comma-separated seconds, or off"),
            lambda value: ",".join(map(str, value)) or "off",
            "seconds before each retry of a failed webhook delivery (default 1,2,4,... doubling "
            "up to an hour, over 8 hours; off: no retries)",
        ),
        show=list,
        as_json=list,
    ),
    Setting(
        "webhook_deliveries",
        "backend",
        "on",
        _choice("webhook_deliveries", WEBHOOK_DELIVERIES),
        "``on``: webhook deliveries are sent; ``paused``: they are recorded as withheld and not "
        "sent, until ``POST /_sandbox/webhooks/flush`` (turning them on again sends none of "
        "those withheld).",
        Cli("MODE", str, str, "on (default), or paused: webhook deliveries are withheld"),
    ),
)
BY_NAME: Mapping[str, Setting] = MappingProxyType({s.name: s for s in SETTINGS})
OWNERS = ("gateway", "backend")


def of(owner: str | None = None) -> tuple[Setting, ...]:
    """The settings ``owner`` holds (every one: None)."""
    return tuple(s for s in SETTINGS if owner is None or s.owner == owner)


def initial(given: Mapping[str, Any], owner: str | None = None) -> dict[str, Any]:
    """Every setting of ``owner`` as held at the start: ``given`` ones checked, the others
    their defaults. TypeError for a name that is not one of them, as for any keyword."""
    unknown = sorted(set(given) - {s.name for s in of(owner)})
    if unknown:
        raise TypeError(f"unexpected setting(s): {', '.join(unknown)}")
    return {s.name: s.check(given.get(s.name, s.default), None) for s in of(owner)}


def split(given: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``given`` by the part that holds each: ``{"gateway": {...}, "backend": {...}}``."""
    unknown = sorted(set(given) - set(BY_NAME))
    if unknown:
        raise TypeError(f"unexpected setting(s): {', '.join(unknown)}")
    return {o: {k: v for k, v in given.items() if BY_NAME[k].owner == o} for o in OWNERS}


def with_signature(owner: str | None = None) -> Callable[[Callable], Callable]:
    """A decorator giving a function that takes ``**settings`` a signature naming each setting
    of ``owner`` (every one: None) with its default, keyword-only."""

    def sign(function: Callable) -> Callable:
        signature = inspect.signature(function)
        kept = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
        named = [
            inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY, default=s.default)
            for s in of(owner)
        ]
        function.__signature__ = signature.replace(parameters=[*kept, *named])
        return function

    return sign


class SettingProperty:
    """One setting as an attribute. On the part that holds it (``held``: its ``_settings``,
    under its ``_lock``) reading shows the value and writing checks and stores it; on
    :class:`~bird_sandbox.BirdSandbox`, reading asks that part and writing goes through
    ``gateway.configure``, as ``/_sandbox/config`` does."""

    def __init__(self, setting: Setting, *, held: bool):
        self.setting, self.held = setting, held
        self.__doc__ = setting.doc

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        if not self.held:
            return getattr(getattr(obj, self.setting.owner), self.setting.name)
        return self.setting.show(obj._settings[self.setting.name])

    def __set__(self, obj: Any, value: Any) -> None:
        name = self.setting.name
        if not self.held:
            obj.gateway.configure(**{name: value})
            return
        with obj._lock:
            obj._settings[name] = self.setting.check(value, obj._settings[name])


def properties(owner: str | None = None) -> Callable[[type], type]:
    """A class decorator adding an attribute for each setting: those ``owner`` holds, or with
    None every one, read from and written through the parts that hold them."""

    def add(cls: type) -> type:
        for setting in of(owner):
            setattr(cls, setting.name, SettingProperty(setting, held=owner is not None))
        return cls

    return add
