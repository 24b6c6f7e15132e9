"""The domain's error tree: each error names its condition and a stable code clients switch on.

HTTP is kept out of here: ``server/errors.py`` maps each category to a status.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected failure. ``code`` is stable; ``message`` is for a person.

    ``errors`` maps a location ("json", "query", "path") to marshmallow-style nested field
    messages; ``details`` carries a structured report (e.g. one entry per rejected feature).
    """

    code = "domain_error"
    message = "The request could not be carried out."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.errors = errors
        self.details = details
        super().__init__(self.message)

    @classmethod
    def for_field(
        cls, field: str, message: str, *, location: str = "json", **kw: Any
    ) -> DomainError:
        """An error that names the one input field at fault."""
        return cls(message, errors={location: {field: [message]}}, **kw)


class NotFound(DomainError):
    code = "not_found"
    message = "No such object."


class PermissionDenied(DomainError):
    """Role-level refusal only; objects outside the actor's scope raise NotFound instead."""

    code = "permission_denied"
    message = "Your role does not allow this."


class Unauthenticated(DomainError):
    code = "unauthenticated"
    message = "Sign in first: send 'Authorization: Bearer <token>'."


class Invalid(DomainError):
    code = "invalid"
    message = "The request is not valid."


class Conflict(DomainError):
    code = "conflict"
    message = "The request conflicts with the current state."


class StaleVersion(Conflict):
    code = "stale_version"
    message = "The object changed since you read it; reload and try again."


class TooLarge(DomainError):
    code = "payload_too_large"
    message = "The request is too large."


class Malformed(DomainError):
    """The request cannot be read at all (400): JSON nested beyond the limit."""

    code = "bad_request"
    message = "The request cannot be read."


class TooMany(DomainError):
    """Too many attempts (429); ``retry_after_s`` says when to try again (Retry-After)."""

    code = "rate_limited"
    message = "Too many requests; wait and try again."

    def __init__(self, message: str | None = None, *, retry_after_s: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_s = max(1, int(retry_after_s))
