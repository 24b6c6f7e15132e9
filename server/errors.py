"""One JSON error shape for every failure:
{code, status, message, errors?, details?, request_id}."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import marshmallow as ma
from flask import Flask, Response, g, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from server.core import errors as domain

log = logging.getLogger(__name__)

# The category decides the status; the subclass decides the code.
STATUS_BY_CATEGORY: tuple[tuple[type[domain.DomainError], int], ...] = (
    (domain.Unauthenticated, 401),
    (domain.PermissionDenied, 403),
    (domain.NotFound, 404),
    (domain.Conflict, 409),
    (domain.TooLarge, 413),
    (domain.Invalid, 422),
    (domain.TooMany, 429),
    (domain.Malformed, 400),
)

# Stable codes for HTTP errors raised by Flask/werkzeug/webargs rather than by our services.
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
}

MESSAGE_BY_STATUS = {
    404: "No such resource.",
    405: "This method is not allowed on this resource.",
    413: "The request body is too large.",
    422: "Some fields are missing or not valid; see 'errors'.",
    500: "Something went wrong on our side; it has been logged.",
}


class ErrorSchema(ma.Schema):
    """The error shape of every endpoint."""

    code = ma.fields.String(
        required=True, metadata={"description": "Stable snake_case code to switch on"}
    )
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status"})
    message = ma.fields.String(required=True, metadata={"description": "For a person"})
    errors = ma.fields.Dict(
        metadata={
            "description": "Location (json, query, path, headers) → field → list of messages, "
            "nested like the input"
        }
    )
    details = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "Structured report, e.g. one entry per rejected feature"},
    )
    request_id = ma.fields.String(metadata={"description": "Quote it when reporting a problem"})


def request_id() -> str:
    if "request_id" not in g:
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    return g.request_id


def error_payload(
    status: int,
    code: str,
    message: str,
    errors: dict[str, Any] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"code": code, "status": status, "message": message}
    if errors:
        payload["errors"] = errors
    if details:
        payload["details"] = details
    payload["request_id"] = request_id()
    return payload


def status_for(error: domain.DomainError) -> int:
    for category, status in STATUS_BY_CATEGORY:
        if isinstance(error, category):
            return status
    return 400


def handle_domain_error(
        error: domain.DomainError) -> tuple[dict[str, Any], int, dict[str, str]]:
    status = status_for(error)
    headers = {}
    if isinstance(error, domain.TooMany):
        headers["Retry-After"] = g.retry_after = str(error.retry_after_s)
    payload = error_payload(status, error.code, error.message, error.errors, error.details)
    return payload, status, headers


def handle_http_exception(error: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110: a 405 names them
    message = data.get("message") or MESSAGE_BY_STATUS.get(status) or error.description or ""
    code = CODE_BY_STATUS.get(status, f"http_{status}")
    if status == 500:
        # Keep internals out of the answer; the traceback is in the log under the request id.
        errors = None
        message = MESSAGE_BY_STATUS[500]
    return error_payload(status, code, message, errors), status, headers


def handle_unexpected(error: Exception) -> tuple[dict[str, Any], int]:
    log.exception("unhandled error (request_id=%s)", request_id())
    return error_payload(500, "internal_error", MESSAGE_BY_STATUS[500]), 500


def handle_stale_data(error: StaleDataError) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A versioned row changed under us at commit time: the same answer as a stale version."""
    return handle_domain_error(domain.StaleVersion())


def keep_our_retry_after(app: Flask) -> None:
    """Registered before Flask-Limiter's headers (after_request hooks run last first), so
    that its own Retry-After, computed on a rate-limited route in whole seconds rounded
    down, does not replace a lock's or a backoff's exact one."""

    @app.after_request
    def _retry_after(response: Response) -> Response:
        if "retry_after" in g:
            response.headers["Retry-After"] = g.pop("retry_after")
        return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(domain.DomainError, handle_domain_error)
    app.register_error_handler(StaleDataError, handle_stale_data)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
