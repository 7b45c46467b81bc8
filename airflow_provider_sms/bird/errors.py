"""Every error class of the provider, in one tree:

    ValueError
     └── InvalidMessageError      a message argument is invalid; raised before any request
    BirdError                     anything about talking to Bird; ``retryable`` says whether
     │                            repeating the same request later may succeed
     ├── BirdConfigurationError   the connection settings cannot work (also a ValueError);
     │                            nothing was sent
     ├── BirdValidationError      400/422: Bird rejected the request body
     ├── BirdAuthenticationError  401/403: wrong access key, or no permission
     ├── BirdNotFoundError        404: unknown workspace, channel, message or template
     ├── BirdConflictError        409: conflicts with the channel's state
 ├── BirdDestinationBlockedError  a 4xx naming a destination the workspace does not allow:
 │                            that recipient only; never repeated
     ├── BirdRateLimitError       429 after the client's retries (retryable)
     ├── BirdServerError          5xx after the client's retries (retryable)
     ├── BirdConnectionError      not delivered to Bird: no connection, or 408 (retryable)
     ├── BirdAmbiguousError       Bird may have accepted it: never repeated automatically
     ├── BirdListingUnclearError  a listing's answers cannot show whether a message is in
     │                            it: nothing may be concluded from its absence
     ├── BirdMessagesUnseenError  messages not readable on the channel asked for: what
     │                            recipients did with them (an opt-out) cannot be told
     ├── BirdUploadError          the storage host of a presigned upload refused the file
     │                            or failed (retryable when a repeat may succeed)
     └── BirdUnavailableError     Bird failed many requests in a row; the rest were not
                                  attempted (retryable)

Bird errors carry status, Bird's code/message/details and the request's method and path, never
the access key; their text masks any phone number Bird's answer quotes (the attributes keep
Bird's words as they were), but never the host: a URL's ``scheme://host[:port]``, and the host
a configuration error names, are shown as written. Standard library only: the Airflow layer
maps them to Airflow's exceptions."""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_sms.redaction import redact_numbers

# The origin of a URL: what names the host, shown as it is (a numeric host is no phone number).
_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]*")


def _redact_all_but(text: str, kept: list[str]) -> str:
    """`text` with phone-number-like runs masked, except inside the strings of `kept`."""
    kept = sorted({k for k in kept if k}, key=len, reverse=True)
    if not kept:
        return redact_numbers(text)
    pattern = re.compile("|".join(map(re.escape, kept)))
    out, start = [], 0
    for match in pattern.finditer(text):
        out.append(redact_numbers(text[start : match.start()]))
        out.append(match.group())
        start = match.end()
    out.append(redact_numbers(text[start:]))
    return "".join(out)


class InvalidMessageError(ValueError):
    """A message argument is invalid; ``field`` names it, ``problem`` says what is wrong.

    Subclassing ValueError lets callers that only know built-in exceptions catch it.
    Messages never carry a full phone number: callers mask them with ``mask_phone``.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def __reduce__(self):
        # Default exception pickling replays ``args`` (one string) into __init__, which
        # takes two; Airflow may pickle exceptions across process boundaries.
        return (type(self), (self.field, self.problem))


class BirdError(Exception):
    """Base class of every error the Bird client raises."""

    #: whether repeating the same request later may succeed
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
        method: str | None = None,
        path: str | None = None,
    ):
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.method = method
        self.path = path
        super().__init__(_redact_all_but(self._describe(), self._shown_as_written()))

    def _shown_as_written(self) -> list[str]:
        """Parts of the text never masked: the origin of the URL tried."""
        origin = _ORIGIN.match(self.path or "")
        return [origin.group()] if origin else []

    def _describe(self) -> str:
        where = f"{self.method} {self.path}" if self.method else "request"
        head = f"{where} failed"
        if self.status:
            head += f" with HTTP {self.status}"
        text = f"{head}: {self.code}: {self.message}" if self.code else f"{head}: {self.message}"
        if self.details:
            text += f" (details: {self.details})"
        return text


class BirdConfigurationError(BirdError, ValueError):
    """The connection settings cannot work; raised before any request is sent.

    ``host`` is the host as the message shows it (never masked; it must hold no credential)."""

    def __init__(self, message: str, *, host: str | None = None, **kwargs: Any):
        self.host = host
        super().__init__(message, **kwargs)

    def _shown_as_written(self) -> list[str]:
        return [self.host] if self.host else []

    def __reduce__(self):
        return (_rebuild_configuration_error, (type(self), self.message, self.host))

    def _describe(self) -> str:
        return f"{self.message} (nothing was sent)"


class BirdValidationError(BirdError):
    """400 or 422: Bird rejected the request body."""


class BirdAuthenticationError(BirdError):
    """401 or 403: the access key is wrong or lacks permission."""


class BirdNotFoundError(BirdError):
    """404: unknown workspace, channel, message or template."""


class BirdConflictError(BirdError):
    """409: the request conflicts with the channel's state (e.g. MMS on an SMS-only channel)."""


class BirdDestinationBlockedError(BirdError):
    """Bird refused the message because the workspace does not allow its destination
    (Bird's `DestinationBlocked`): a fact about that recipient, not about the access key or
    the channel, whatever the status it came with; repeating it cannot succeed."""


# How Bird's answer names a blocked destination: its code, or its message alone (Bird
# documents the name, not the status or the envelope: API-NOTES [I]).
_BLOCKED_DESTINATION = re.compile(
    r"destination\W*blocked|destination\b.{0,60}\bblocked|blocked\b.{0,60}\bdestination", re.I
)


def names_blocked_destination(code: Any, message: Any) -> bool:
    """Whether a 4xx answer's code or message says the destination is blocked."""
    return any(_BLOCKED_DESTINATION.search(str(part or "")) for part in (code, message))


class BirdRateLimitError(BirdError):
    """429 after the client's own retries ran out."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class BirdServerError(BirdError):
    """5xx after the client's own retries ran out."""

    retryable = True


class BirdConnectionError(BirdError):
    """The request could not be delivered to Bird (refused, reset), or Bird answered 408
    (it did not get the whole request in time, so did not process it), after retries."""

    retryable = True


class BirdAmbiguousError(BirdError):
    """Bird may or may not have accepted the message: the answer never arrived (read timeout).

    Not retried automatically, since a retry could send the message twice."""


class BirdListingUnclearError(BirdError):
    """Listing messages ended without showing the whole listing: an answer without
    ``results``, a full page naming no next page in a field the client knows, or more pages
    than the client reads. A message not seen may still be there, so its absence proves
    nothing; a retry would meet the same answers."""

    def _describe(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        return f"{where}{self.message}"


class BirdMessagesUnseenError(BirdError):
    """Some messages could not be read on the channel asked for: Bird does not find them
    there, shows them as another channel's, or an opt-out on them names no number. What
    recipients did with them cannot be told, and an opt-out never seen is never taken for
    none; a retry would meet the same answers."""

    def _describe(self) -> str:
        return self.message


class BirdUploadError(BirdError):
    """The storage host Bird named for a media upload refused the file, failed, or could
    not be reached. Repeating an upload writes the same object again, so whether it may
    succeed later is the answer's (``retryable``), not a guess about what was sent."""

    def __init__(self, message: str, *, retryable: bool = False, **kwargs: Any):
        self.retryable = retryable
        super().__init__(message, **kwargs)


class BirdUnavailableError(BirdError):
    """Bird failed many requests in a row even after retries; the rest were not attempted."""

    retryable = True

    def _describe(self) -> str:
        return self.message


_BY_STATUS: dict[int, type[BirdError]] = {
    400: BirdValidationError,
    401: BirdAuthenticationError,
    403: BirdAuthenticationError,
    404: BirdNotFoundError,
    # Bird did not get the whole request in time, and processed none of it: safe to repeat.
    408: BirdConnectionError,
    409: BirdConflictError,
    422: BirdValidationError,
    429: BirdRateLimitError,
}


def _rebuild_configuration_error(
    cls: type[BirdConfigurationError], message: str, host: str | None
) -> BirdConfigurationError:
    return cls(message, host=host)


def error_for_status(status: int) -> type[BirdError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return BirdServerError
    return BirdError
