"""Request bodies for Bird's ``createChannelMessage``, validated before anything is sent.

Shapes follow Bird's OpenAPI ``CreateMessage`` schema: ``body`` (text, image, file) or
``template``, plus top-level options; ``Outgoing.request`` puts them together per recipient.
"""

from __future__ import annotations

import ipaddress
import math
import posixpath
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.bird.ids import checked_uuid

from .files import MediaFile, named_type
from .options import delivery_options, template_short_links, template_variables
from .options import utm_parameters as checked_utm_parameters
from .segments import SegmentCount, check_segments

# BCP 47 language tag: language, optional script, region, variants, extensions, private use.
_BCP47 = re.compile(
    r"[A-Za-z]{2,3}"
    r"(-[A-Za-z]{4})?"
    r"(-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(-[0-9A-WYZa-wyz](-[A-Za-z0-9]{2,8})+)*"
    r"(-[xX](-[A-Za-z0-9]{1,8})+)?"
)
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*", re.ASCII)
_IMAGE_KEYS = frozenset({"url", "alt_text"})
_FILE_KEYS = frozenset({"url", "content_type", "filename"})


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _non_empty_str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidMessageError(field, f"expected a non-empty string, got {_type_name(value)}")
    if not value.strip():
        raise InvalidMessageError(field, "must not be empty or only whitespace")
    return value


def _readable_text(value: Any, field: str) -> str:
    """Text a person reads: no NUL bytes, no lone surrogates (not Unicode, so not JSON),
    not only control characters, and no longer than Bird can be trusted to take."""
    text = _non_empty_str(value, field)
    for position, char in enumerate(text):
        if char == "\x00":
            raise InvalidMessageError(field, f"contains a NUL byte at position {position}")
        if "\ud800" <= char <= "\udfff":
            raise InvalidMessageError(
                field, f"contains a lone surrogate at position {position} (not valid Unicode)"
            )
    if all(char.isspace() or unicodedata.category(char).startswith("C") for char in text):
        raise InvalidMessageError(field, "contains only control characters")
    if len(text) > facts.MAX_TEXT_LENGTH:
        raise InvalidMessageError(
            field,
            f"is {len(text):,} characters long; at most {facts.MAX_TEXT_LENGTH:,} are sent",
        )
    return text


def text_body(text: Any, *, field: str = "text") -> dict:
    """Body of a plain SMS."""
    return {"type": "text", "text": {"text": _readable_text(text, field)}}


def sms_body(text: Any, *, max_segments: int, field: str = "text") -> tuple[dict, SegmentCount]:
    """Body of a plain SMS and its segment count. The segment limit is checked first: it says
    more (the count, the encoding, the characters forcing UCS-2) than the absolute bound on
    length `text_body` applies, which still names a wrong type."""
    if not isinstance(text, str):
        text_body(text, field=field)  # raises, naming the type
    count = check_segments(text, max_segments, field=field)
    return text_body(text, field=field), count


def _media_url(value: Any, field: str) -> str:
    if isinstance(value, MediaFile):
        # Bird's own media URL for an upload (or, before it, the upload's placeholder): no
        # host rule applies to it, Bird named it.
        return value.media_url
    if not isinstance(value, str):
        raise InvalidMessageError(field, f"expected a URL string, got {_type_name(value)}")
    if not value:
        raise InvalidMessageError(field, "URL must not be empty")
    if any(c.isspace() or ord(c) < 32 for c in value):
        # Bird requires format "uri"; spaces must be percent-encoded.
        raise InvalidMessageError(field, f"URL {value!r} contains whitespace; percent-encode it")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidMessageError(field, f"{value!r} is not a valid URL ({exc})") from None
    # Bird fetches media itself, so only a public absolute web URL can work.
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidMessageError(
            field,
            f"{value!r} is not an absolute http(s) URL, an absolute path or a file:// URL; "
            "Bird must be able to download it, or the file is uploaded",
        )
    if _private_host(parts.hostname):
        raise InvalidMessageError(
            field,
            f"{value!r} points to a local or private-network host; Bird must be able to "
            "download it from the internet",
        )
    return value


def _private_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def media_items(items: Any, field: str) -> list[tuple[Any, str]]:
    """Return ``(item, field name)`` pairs, accepting one item or a list of 1-10."""
    if isinstance(items, (str, dict, MediaFile)):
        return [(items, field)]
    if items is None or not isinstance(items, Iterable) or isinstance(items, (bytes, bytearray)):
        raise InvalidMessageError(
            field, f"expected a URL, a path, a dict or a list of them, got {_type_name(items)}"
        )
    listed = list(items)
    if not listed:
        raise InvalidMessageError(field, "at least one item is required")
    if len(listed) > facts.MAX_MEDIA:
        raise InvalidMessageError(
            field, f"at most {facts.MAX_MEDIA} items allowed (got {len(listed)})"
        )
    return [(item, f"{field}[{i}]") for i, item in enumerate(listed)]


def _check_keys(item: dict, allowed: frozenset, field: str) -> None:
    unknown = [k for k in item if k not in allowed]
    if unknown:
        raise InvalidMessageError(
            field,
            f"unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}",
        )
    if "url" not in item:
        raise InvalidMessageError(field, "'url' is required")


def _optional_str(item: dict, key: str, field: str) -> str | None:
    value = item.get(key)
    return None if value is None else _non_empty_str(value, f"{field}.{key}")


def _media_wrapper(
    kind: str, entries: list[dict], text: Any, title: Any, fallback_text: Any = None
) -> dict:
    # text and metadata {subject, fallbackText} sit next to the media list for both image
    # and file (schema: TypeImage, TypeFile).
    inner: dict = {f"{kind}s": entries}
    if text is not None:
        inner["text"] = _readable_text(text, "text")
    metadata = {}
    if title is not None:
        metadata["subject"] = _readable_text(title, "title")
    if fallback_text is not None:
        metadata["fallbackText"] = _readable_text(fallback_text, "fallback_text")
    if metadata:
        inner["metadata"] = metadata
    return {"type": kind, kind: inner}


def image_body(
    images: Any, *, text: Any = None, title: Any = None, fallback_text: Any = None
) -> dict:
    """MMS image body; ``title`` becomes the MMS subject, ``fallback_text`` what a handset
    without MMS shows."""
    entries = []
    for item, field in media_items(images, "images"):
        if isinstance(item, dict):
            _check_keys(item, _IMAGE_KEYS, field)
            entry = {"mediaUrl": _media_url(item["url"], f"{field}.url")}
            alt = _optional_str(item, "alt_text", field)
            if alt is not None:
                entry["altText"] = alt
        else:
            entry = {"mediaUrl": _media_url(item, field)}
        entries.append(entry)
    return _media_wrapper("image", entries, text, title, fallback_text)


def _guess_content_type(url: str) -> str | None:
    return named_type(posixpath.basename(unquote(urlsplit(url).path)))


def file_body(
    files: Any, *, text: Any = None, title: Any = None, fallback_text: Any = None
) -> dict:
    """MMS file body; the content type is guessed from the URL unless given."""
    entries = []
    for item, field in media_items(files, "files"):
        if isinstance(item, dict):
            _check_keys(item, _FILE_KEYS, field)
            url = _media_url(item["url"], f"{field}.url")
            content_type = _optional_str(item, "content_type", field)
            filename = _optional_str(item, "filename", field)
        else:
            url = _media_url(item, field)
            content_type = filename = None
        media = item["url"] if isinstance(item, dict) else item
        if isinstance(media, MediaFile):
            content_type = media.content_type  # checked against its bytes
            filename = filename or media.filename
        if content_type is None:
            content_type = _guess_content_type(url)
            if content_type is None:
                raise InvalidMessageError(
                    field,
                    f"cannot tell the content type of {url!r}; "
                    'give it as {"url": ..., "content_type": ...}',
                )
        elif not _CONTENT_TYPE.fullmatch(content_type):
            raise InvalidMessageError(
                f"{field}.content_type",
                f"{content_type!r} is not a media type like 'application/pdf'",
            )
        entry = {"mediaUrl": url, "contentType": content_type}
        if filename is not None:
            entry["filename"] = filename
        entries.append(entry)
    return _media_wrapper("file", entries, text, title, fallback_text)


def mms_body(
    *,
    images: Any = None,
    files: Any = None,
    text: Any = None,
    title: Any = None,
    fallback_text: Any = None,
) -> dict:
    """MMS body from exactly one of ``images`` or ``files``."""
    if images is not None and files is not None:
        raise InvalidMessageError("images/files", "give either images or files, not both")
    if images is not None:
        return image_body(images, text=text, title=title, fallback_text=fallback_text)
    if files is not None:
        return file_body(files, text=text, title=title, fallback_text=fallback_text)
    raise InvalidMessageError("images/files", "an MMS needs images or files")


def _uuid_str(value: Any, field: str, alternative: str = "") -> str:
    return checked_uuid(value, field, alternative=alternative)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (isinstance(value, int) or math.isfinite(value))
    )


def _dict_parameters(parameters: dict) -> list[dict]:
    out = []
    for key, value in parameters.items():
        field = f"parameters.{key}"
        if not isinstance(key, str) or not key:
            raise InvalidMessageError(f"parameters.{key!r}", "keys must be non-empty strings")
        if isinstance(value, bool):
            ptype = "boolean"
        elif isinstance(value, str):
            ptype = "string"
        elif _is_number(value):
            ptype = "number"
        elif isinstance(value, float):
            raise InvalidMessageError(field, f"{value} is not a finite number")
        else:
            raise InvalidMessageError(
                field,
                f"unsupported value type {_type_name(value)}; use str, int, float or bool, "
                "or pass parameters as a list of typed Bird parameters",
            )
        out.append({"type": ptype, "key": key, "value": value})
    return out


_SCALAR_CHECKS = {
    "string": (lambda v: isinstance(v, str), "a string"),
    "number": (_is_number, "a finite number"),
    "boolean": (lambda v: isinstance(v, bool), "a boolean"),
}


def _list_parameters(parameters: list | tuple) -> list:
    seen: set[str] = set()
    for i, item in enumerate(parameters):
        field = f"parameters[{i}]"
        if not isinstance(item, dict):
            raise InvalidMessageError(field, f"expected a dict, got {_type_name(item)}")
        unknown = [k for k in item if k not in facts.TEMPLATE_PARAMETER_FIELDS]
        if unknown:
            raise InvalidMessageError(
                field, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: key, type, value"
            )
        ptype = item.get("type")
        if ptype not in facts.TEMPLATE_PARAMETER_TYPES:
            raise InvalidMessageError(
                f"{field}.type",
                f"{ptype!r} is not a Bird parameter type "
                f"({', '.join(sorted(facts.TEMPLATE_PARAMETER_TYPES))})",
            )
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise InvalidMessageError(f"{field}.key", "a non-empty string is required")
        if key in seen:
            raise InvalidMessageError(f"{field}.key", f"duplicate parameter key {key!r}")
        seen.add(key)
        if "value" not in item:
            raise InvalidMessageError(f"{field}.value", "is required")
        check, expected = _SCALAR_CHECKS.get(ptype, (lambda v: isinstance(v, dict), "an object"))
        if not check(item["value"]):
            raise InvalidMessageError(
                f"{field}.value",
                f"a {ptype} parameter needs {expected}, got {_type_name(item['value'])}",
            )
    # Checked items are sent as given: they already have Bird's shape.
    return list(parameters)


def template_payload(
    project_id: Any = None,
    *,
    name: Any = None,
    version: Any = "latest",
    locale: Any = "en",
    parameters: Any = None,
    variables: Any = None,
    utm_parameters: Any = None,
    short_links: Any = None,
) -> dict:
    """``template`` object for a Studio template send, named by exactly one of
    ``project_id`` (the Studio project) and ``name`` (the platform name).

    ``parameters`` is a dict of str/number/bool values (typed automatically) or a list
    of Bird parameter objects; ``variables`` a mapping of names to strings;
    ``utm_parameters`` 1 to 8 ``{key, value}`` or ``{key, reference}`` items;
    ``short_links`` ``"default"`` or a domain, for the template's own ``shortLinks``.
    """
    if (project_id is None) == (name is None):
        raise InvalidMessageError(
            "project_id/template_name",
            "give exactly one of project_id and template_name"
            + (" (both were given)" if project_id is not None else ""),
        )
    if project_id is not None:
        payload = {"projectId": _uuid_str(project_id, "project_id")}
    else:
        if not isinstance(name, str) or not name.strip():
            raise InvalidMessageError(
                "template_name", f"expected a non-empty string, got {_type_name(name)}"
            )
        payload = {"name": name.strip()}
    if isinstance(version, str) and version.strip().lower() == "latest":
        payload["version"] = "latest"
    else:
        payload["version"] = _uuid_str(version, "version", "'latest' or ")
    if not isinstance(locale, str) or not _BCP47.fullmatch(locale.strip()):
        shown = repr(locale) if isinstance(locale, str) else _type_name(locale)
        raise InvalidMessageError(
            "locale", f"expected a BCP 47 language tag such as 'en' or 'pt-BR', got {shown}"
        )
    payload["locale"] = locale.strip()
    if variables is not None:
        checked = template_variables(variables)
        if checked:
            payload["variables"] = checked
    if utm_parameters is not None:
        payload["utmParameters"] = checked_utm_parameters(utm_parameters)
    if short_links is not None:
        payload["shortLinks"] = template_short_links(short_links)
    if parameters is None:
        return payload
    if isinstance(parameters, dict):
        items = _dict_parameters(parameters)
    elif isinstance(parameters, (list, tuple)):
        items = _list_parameters(parameters)
    else:
        raise InvalidMessageError(
            "parameters", f"expected a dict or a list, got {_type_name(parameters)}"
        )
    if items:
        payload["parameters"] = items
    return payload


def _tags(tags: Any) -> list[str]:
    if isinstance(tags, str):
        listed = [t.strip() for t in tags.split(",") if t.strip()]
    elif isinstance(tags, (list, tuple)):
        listed = list(tags)
    else:
        raise InvalidMessageError(
            "tags", f"expected a list or a comma-separated string, got {_type_name(tags)}"
        )
    if len(listed) > facts.MAX_TAGS:
        raise InvalidMessageError(
            "tags", f"at most {facts.MAX_TAGS} tags allowed (got {len(listed)})"
        )
    out = []
    for i, tag in enumerate(listed):
        field = f"tags[{i}]"
        if not isinstance(tag, str):
            raise InvalidMessageError(field, f"expected a string, got {_type_name(tag)}")
        tag = tag.strip()
        if not tag:
            raise InvalidMessageError(field, "must not be empty")
        if len(tag) > facts.MAX_TAG_LENGTH:
            raise InvalidMessageError(
                field, f"at most {facts.MAX_TAG_LENGTH} characters allowed (got {len(tag)})"
            )
        if not facts.TAG_PATTERN.fullmatch(tag):
            raise InvalidMessageError(
                field, f"{tag!r} may only contain letters, digits, '-', '_' and spaces"
            )
        out.append(tag)
    return out


def message_options(
    *,
    reference: Any = None,
    tags: Any = None,
    smart_encoding: bool = False,
    delivery: Mapping[str, Any] | None = None,
    template: bool = False,
) -> dict:
    """Optional top-level fields; only those given are returned. `smart_encoding` asks Bird
    to replace look-alike characters so that the text can stay GSM-7. `delivery` holds the
    arguments of `options.delivery_options` (validity, links, ...); `template` says the
    message is a template send, whose short links belong to the template."""
    options: dict = delivery_options(delivery or {}, template=template)
    if smart_encoding:
        options["meta"] = {**options.get("meta", {}), "sms": {"smartEncoding": True}}
    if reference is not None:
        _non_empty_str(reference, "reference")
        if len(reference) > facts.MAX_REFERENCE_LENGTH:
            raise InvalidMessageError(
                "reference",
                f"at most {facts.MAX_REFERENCE_LENGTH} characters allowed (got {len(reference)})",
            )
        options["reference"] = reference
    if tags is not None:
        checked = _tags(tags)
        if checked:
            options["tags"] = checked
    return options


def channel_id(value: Any, *, field: str = "channel_id") -> str:
    """A Bird channel id (a UUID), stripped; it becomes part of the request path."""
    return _uuid_str(value, field)
