"""The one error type of the project.

Raised anywhere (handlers, engines, the gateway) and turned into the wire
shape of the request's protocol in exactly one place: the protocol layer.
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    """An AWS-shaped error: ``code`` is what botocore shows as ``Error.Code``."""

    def __init__(
        self,
        code: str,
        message: str = "",
        status: int = 400,
        *,
        sender_fault: bool | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = status < 500 if sender_fault is None else sender_fault
        self.headers = headers or {}
        # Additional members of the error shape (e.g. DynamoDB's CancellationReasons, Item).
        self.extra = extra or {}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"AwsError({self.code!r}, {self.message!r}, {self.status})"


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def internal_error() -> AwsError:
    return AwsError("InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", 500)
