"""Domain errors shared by every package. The API maps each to one GraphQL `extensions.code`."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    UNAVAILABLE = "UNAVAILABLE"  # the tenant's store is unreachable or being prepared (503)
    INTERNAL = "INTERNAL"


class DomainError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(DomainError):
    """The object does not exist, or the principal may not see it (the two look the same)."""

    code = ErrorCode.NOT_FOUND


class ForbiddenError(DomainError):
    code = ErrorCode.FORBIDDEN


class InvalidInputError(DomainError):
    """An input value breaks a documented rule; `field` is its path inside the input."""

    code = ErrorCode.BAD_USER_INPUT


class ConflictError(DomainError):
    code = ErrorCode.CONFLICT


def check_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    """Trim surrounding blanks and enforce the documented length limits."""
    text = value.strip()
    if required and not text:
        raise InvalidInputError(f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidInputError(f"{field} must be at most {max_length} characters", field=field)
    if "\x00" in text:
        raise InvalidInputError(f"{field} must not contain NUL characters", field=field)
    return text


def check_not_negative(value: float | None, *, field: str) -> None:
    if value is not None and value < 0:
        raise InvalidInputError(f"{field} must not be negative", field=field)
