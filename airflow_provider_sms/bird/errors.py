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
     ├── BirdRateLimitError       429 after the client's retries (retryable)
     ├── BirdServerError          5xx after the client's retries (retryable)
     ├── BirdConnectionError      not delivered to Bird (retryable)
     ├── BirdAmbiguousError       Bird may have accepted it: never repeated automatically
     └── BirdUnavailableError     Bird failed many requests in a row; the rest were not
                                  attempted (retryable)

Bird errors carry status, Bird's code/message/details and the request's method and path, never
the access key; their text masks any phone number Bird's answer quotes (the attributes keep
Bird's words as they were). Standard library only: the Airflow layer maps them to Airflow's
exceptions."""

from __future__ import annotations

from typing import Any

from airflow_provider_sms._redact import redact_numbers


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
        super().__init__(redact_numbers(self._describe()))

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
    """The connection settings cannot work; raised before any request is sent."""

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
    """The request could not be delivered to Bird (refused, reset) after retries."""

    retryable = True


class BirdAmbiguousError(BirdError):
    """Bird may or may not have accepted the message: the answer never arrived (read timeout).

    Not retried automatically, since a retry could send the message twice."""


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
    409: BirdConflictError,
    422: BirdValidationError,
    429: BirdRateLimitError,
}


def error_for_status(status: int) -> type[BirdError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return BirdServerError
    return BirdError
