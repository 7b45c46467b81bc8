"""Files an MMS carries from the DAG's own storage: what each one is, told from its bytes,
and whether Bird can take it. Pure: the delivery layer reads the bytes and uploads them."""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird.errors import InvalidMessageError

# What a message body holds for a file until Bird returned its media URL (dry runs show it).
PENDING_SCHEME = "bird-upload"

# Types a file's first bytes prove; a type not listed here is taken from the name or from
# `content_type`. WebP is a RIFF file whose bytes 8-11 say WEBP.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"%PDF-", 0, "application/pdf"),
)
_SNIFFED = frozenset(kind for _, _, kind in _SIGNATURES)
# A private table built from Python's own defaults: the module-level functions also read
# the host's mime.types, which would make the guess differ between machines.
_MIME = mimetypes.MimeTypes()


@dataclass(frozen=True)
class MediaFile:
    """One file read and checked: `source` is what the task named (a path, or an object
    storage URL), `url` the media URL Bird returned for it once uploaded."""

    field: str
    source: str
    sha256: str
    size: int
    content_type: str
    filename: str
    url: str | None = None

    @property
    def key(self) -> str:
        """The same bytes of the same type are one upload, whatever names them."""
        return f"{self.sha256}:{self.content_type}"

    @property
    def placeholder(self) -> str:
        return f"{PENDING_SCHEME}:{self.sha256}"

    @property
    def media_url(self) -> str:
        return self.url or self.placeholder


def local_path(value: str) -> str | None:
    """The path an absolute path or a ``file://`` URL names; None for anything else."""
    if value.startswith("/"):
        return value
    if value[:7].lower() == "file://":
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            return None
        return unquote(parts.path) or None
    return None


def sniff(data: bytes) -> str | None:
    """The media type the bytes themselves prove, if any."""
    for signature, offset, kind in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            if kind == "image/webp" and data[:4] != b"RIFF":
                continue
            return kind
    return None


def named_type(name: str) -> str | None:
    """The media type a file name says. "report.csv.gz" says text/csv with gzip encoding:
    its bytes are not text/csv, so it says nothing."""
    content_type, encoding = _MIME.guess_type(name, strict=False)
    return content_type if encoding is None else None


def _kb(size: int) -> str:
    return f"{size:,} bytes ({size / 1000:,.0f} KB)"


def size_limit(kind: str, allow_bird_resizing: bool) -> int:
    """How large a file of this kind may be before it is read at all."""
    if kind == "image" and allow_bird_resizing:
        return facts.MMS_MAX_RESIZABLE_BYTES
    return facts.MMS_MAX_ATTACHMENT_BYTES


def check_size(size: int, *, kind: str, field: str, source: str, allow_bird_resizing: bool):
    if size == 0:
        raise InvalidMessageError(field, f"{source} is empty")
    if size <= facts.MMS_MAX_ATTACHMENT_BYTES:
        return
    limit = f"Bird takes at most {_kb(facts.MMS_MAX_ATTACHMENT_BYTES)} an MMS attachment"
    if kind != "image":
        raise InvalidMessageError(field, f"{source} is {_kb(size)}; {limit}")
    if size > facts.MMS_MAX_RESIZABLE_BYTES:
        raise InvalidMessageError(
            field,
            f"{source} is {_kb(size)}; {limit}, and resizes images of up to "
            f"{_kb(facts.MMS_MAX_RESIZABLE_BYTES)} only",
        )
    if not allow_bird_resizing:
        raise InvalidMessageError(
            field,
            f"{source} is {_kb(size)}; {limit}. Bird tries to resize larger images (best "
            "effort): allow_bird_resizing=True sends it for that",
        )


def media_file(
    data: bytes,
    *,
    kind: str,
    field: str,
    source: str,
    name: str,
    content_type: str | None = None,
    allow_bird_resizing: bool = False,
) -> MediaFile:
    """Check one file's bytes for an ``image`` or a ``file`` entry. An image is what its
    bytes prove (PNG, JPEG or GIF); a file's name or `content_type` must agree with what its
    bytes prove, and names its type where the bytes prove none."""
    check_size(
        len(data), kind=kind, field=field, source=source, allow_bird_resizing=allow_bird_resizing
    )
    proven = sniff(data)
    claimed = content_type or named_type(name)
    said = "its content_type" if content_type else "its name"
    if kind == "image":
        if proven not in facts.MMS_IMAGE_TYPES:
            what = f"its bytes are {proven}" if proven else "its bytes are not an image"
            raise InvalidMessageError(field, f"{source} is not a PNG, JPEG or GIF image ({what})")
        chosen = proven  # a JPEG named .png is still a JPEG Bird can show
    else:
        if proven and claimed and claimed != proven:
            raise InvalidMessageError(field, f"{source}: {said} says {claimed}, its bytes {proven}")
        if not proven and claimed in _SNIFFED:
            raise InvalidMessageError(
                field, f"{source}: {said} says {claimed}, but its bytes are not {claimed}"
            )
        chosen = proven or claimed
        if chosen is None:
            raise InvalidMessageError(
                field,
                f"cannot tell the content type of {source}; give it as "
                '{"url": ..., "content_type": ...}',
            )
    return MediaFile(
        field=field,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content_type=chosen,
        filename=posixpath.basename(name) or "file",
    )


def check_total(files: list[MediaFile], field: str) -> None:
    """Bird's limit on a message's attachments together. An image Bird is to resize counts
    as the most it may be resized to; media given as URLs are not counted (they are not
    downloaded here)."""
    total = sum(min(f.size, facts.MMS_MAX_ATTACHMENT_BYTES) for f in files)
    if total > facts.MMS_MAX_TOTAL_BYTES:
        listed = ", ".join(f"{f.source} ({f.size / 1000:,.0f} KB)" for f in files)
        raise InvalidMessageError(
            field,
            f"the files come to {_kb(total)} together ({listed}); Bird takes at most "
            f"{_kb(facts.MMS_MAX_TOTAL_BYTES)} an MMS",
        )
