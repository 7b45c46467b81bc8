"""Bird's error answers, as the sandbox's operations raise them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer in Bird's shape: ``{"code", "message"[, "details"]}``."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


def invalid(details: dict[str, list[str]]) -> ApiError:
    """Bird's 422 for a request that does not validate."""
    return ApiError(422, "InvalidPayload", "The message payload is invalid", details)


def not_found(what: str) -> ApiError:
    return ApiError(404, "NotFound", f"The requested resource does not exist: {what} not found")
