"""Open311 GeoReport v2 at ``/open311/v2``: discovery, services, requests, tokens.

The format is the URL's extension (``.xml``, required by the spec, or ``.json``). Errors
answer in the spec's shape, ``[{code, description}]`` with the HTTP status as code (400,
403 for a bad ``api_key``, 404, 429), from this blueprint's own handlers. Rate limited per
``api_key`` (per address without one).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app, request
from flask_limiter.util import get_remote_address
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.open311 import render
from server.api.open311 import schemas as s
from server.api.openapi import own_error_shape
from server.core.errors import DomainError, Invalid
from server.core.i18n import _
from server.errors import request_id, status_for
from server.extensions import limiter
from server.open311 import queries, services
from server.open311.queries import FiledCase, Service
from server.open311.rules import (
    SPECIFICATION,
    STATUS_NOTES,
    SUBCATEGORY,
    WindowTooWide,
    case_statuses,
    open311_status,
    request_window,
)

log = logging.getLogger(__name__)
FMT = "<any(xml, json):fmt>"
CHANGESET = "2026-12-02T00:00:00+00:00"  # when this endpoint's contract last changed

blp = Blueprint("open311", __name__, url_prefix="open311/v2",
                description="Open311 GeoReport v2 (XML or JSON by extension; docs/open311.md)")


def _rate() -> str:
    return current_app.config["OPEN311_RATE_LIMIT"]


def _rate_key() -> str:
    key = request.values.get("api_key")
    return f"key:{key}" if key else f"ip:{get_remote_address()}"


limiter.limit(_rate, key_func=_rate_key)(blp)


# --- errors in the spec's shape ------------------------------------------------------------

def _fmt() -> str:
    return "json" if request.path.endswith(".json") else "xml"


def _open311_status(status: int) -> int:
    if status in (401, 403):
        return 403
    return status if status in (404, 405, 413, 429, 500) else 400


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError):  # noqa: ANN202
    status = _open311_status(status_for(error))
    detail = f"{error.code}: {error.message}"
    if error.errors:
        detail += f" {error.errors}"
    return render.errors(_fmt(), status, detail)


@blp.errorhandler(StaleDataError)
def _stale(error: StaleDataError):  # noqa: ANN202
    return render.errors(_fmt(), 400, "stale_version: try again")


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException):  # noqa: ANN202
    status = _open311_status(error.code or 500)
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    detail = error.description or ""
    if messages:
        detail = f"validation_failed: {messages}"
    elif status == 429:
        detail = f"rate_limited: {error.description}"
    response = render.errors(_fmt(), status, detail)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


@blp.errorhandler(Exception)
def _unexpected(error: Exception):  # noqa: ANN202
    log.exception("unhandled Open311 error (request_id=%s)", request_id())
    return render.errors(_fmt(), 500, f"internal_error: request {request_id()}")


ERROR_EXAMPLES = {
    400: "validation_failed: {'service_code': ['Missing data for required field.']}",
    403: "invalid_api_key: The api_key is missing, unknown or revoked.",
    404: "unknown_service_request: 没有编号为“2026-0000123”的诉求。",
    429: "rate_limited: 120 per 1 minute",
}


def open311_errors(*statuses: int):  # noqa: ANN201 - a flask-smorest decorator
    """Document the operation's errors in the spec's shape (not the one JSON shape)."""
    def decorate(func):  # noqa: ANN001, ANN202
        func = own_error_shape("open311")(func)
        for status in (*statuses, 429):
            func = blp.alt_response(
                status, schema=s.Open311ErrorSchema(many=True),
                description="GeoReport v2 errors; XML: <errors><error>…</error></errors>",
                example=[{"code": status, "description": ERROR_EXAMPLES[status]}])(func)
        return func
    return decorate


# --- views ---------------------------------------------------------------------------------

@blp.route(f"/discovery.{FMT}")
@blp.arguments(s.JurisdictionArgsSchema, location="query", as_kwargs=True)
@blp.response(200, s.DiscoverySchema)
@open311_errors(400, 404)
def discovery(fmt: str, **_args: object):
    """Service discovery: where the GeoReport v2 endpoint is and what it speaks"""
    return render.answer(fmt, "discovery", {
        "changeset": CHANGESET, "contact": ctx.setting("OPEN311_CONTACT"),
        "key_service": _("API keys are issued per channel by an administrator: {how}").format(
            how="POST /api/v1/open311-keys"),
        "endpoints": [{"specification": SPECIFICATION,
                       "url": request.url_root.rstrip("/") + "/open311/v2",
                       "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}]})


def _service_view(service: Service) -> dict[str, Any]:
    return {"service_code": service.code, "service_name": service.name,
            "description": service.description, "metadata": service.has_attributes,
            "type": "realtime", "keywords": None, "group": service.group}


@blp.route(f"/services.{FMT}")
@blp.arguments(s.JurisdictionArgsSchema, location="query", as_kwargs=True)
@blp.response(200, s.ServiceSchema(many=True))
@open311_errors(400)
def list_services(fmt: str, **_args: object):
    """The services a resident may report: the catalogue's dispatchable items"""
    services_ = queries.list_services(ctx.session())
    return render.answer(fmt, "services", [_service_view(x) for x in services_])


@blp.route(f"/services/<code>.{FMT}")
@blp.arguments(s.JurisdictionArgsSchema, location="query", as_kwargs=True)
@blp.response(200, s.ServiceDefinitionSchema)
@open311_errors(400, 404)
def service_definition(code: str, fmt: str, **_args: object):
    """A service's definition: its attributes (the catalogue's child items, if any)"""
    service = queries.get_service(ctx.session(), code)
    attributes = []
    if service.subcategories:
        attributes.append({
            "variable": True, "code": SUBCATEGORY, "datatype": "singlevaluelist",
            "required": False, "datatype_description": None, "order": 1,
            "description": _("Which kind of {name}").format(name=service.name),
            "values": [{"key": c.code, "name": c.name} for c in service.subcategories]})
    return render.answer(fmt, "service_definition",
                         {"service_code": service.code, "attributes": attributes})


def request_view(filed: FiledCase) -> dict[str, Any]:
    """A case as GeoReport v2 shows it: never the resident's name, phone, e-mail, ids."""
    case = filed.case
    media = next((a.get("url") for a in case.attachments if a.get("url")), None)
    return {
        "service_request_id": case.number, "status": open311_status(case.status).value,
        "status_notes": _(STATUS_NOTES[case.status]), "service_name": filed.service_name,
        "service_code": case.category_code, "description": case.description,
        "agency_responsible": filed.agency, "service_notice": None,
        "requested_datetime": case.received_at, "updated_datetime": case.updated_at,
        "expected_datetime": case.completion_due_at, "address": case.address,
        "address_id": None, "zipcode": None, "lat": case.lat, "long": case.lon,
        "media_url": media}


@blp.route(f"/requests.{FMT}", methods=["GET"])
@blp.arguments(s.RequestsQueryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, s.ServiceRequestSchema(many=True))
@open311_errors(400)
def find_requests(fmt: str, service_request_id, service_code, start_date,  # noqa: ANN001
                  end_date, status, **_args: object):
    """Requests filed through Open311: by id, or by service, status and date (90 days)"""
    window = None
    if service_request_id is None:
        try:
            window = request_window(start_date, end_date, now=ctx.request_now())
        except WindowTooWide as exc:
            raise Invalid(str(exc), code="date_range_invalid") from exc
    found = queries.find_requests(
        ctx.session(), numbers=service_request_id, service_codes=service_code,
        window=window, statuses=case_statuses(status) if status else None)
    return render.answer(fmt, "service_requests", [request_view(f) for f in found])


@blp.route(f"/requests.{FMT}", methods=["POST"])
@blp.arguments(s.RequestCreateFormSchema, location="form")
@blp.arguments(s.JurisdictionArgsSchema, location="query", as_kwargs=True)
@blp.response(201, s.RequestCreatedSchema(many=True))
@open311_errors(400, 403, 404)
def create_request(form: dict, fmt: str, **_args: object):
    """File a request (form-encoded, api_key in the body); a retry answers the same id"""
    session = ctx.session()
    key = services.check_key(session, form["api_key"])
    filed = services.file_request(
        session, key, _submission(form), grid_index=ctx.grid_index_cache(),
        tolerance_m=ctx.setting("ASSIGN_TOLERANCE_M"),
        retry_window=timedelta(hours=ctx.setting("OPEN311_RETRY_WINDOW_HOURS")),
        now=ctx.request_now())
    return render.answer(fmt, "service_requests", [{
        "service_request_id": filed.case.number, "token": filed.request.token,
        "service_notice": None}], status=201 if filed.created else 200)


def _submission(form: dict) -> services.Submission:
    return services.Submission(
        service_code=form["service_code"], description=form["description"], lat=form["lat"],
        lon=form["lon"], address_string=form["address_string"], email=form["email"],
        device_id=form["device_id"] or form["deviceid"], account_id=form["account_id"],
        first_name=form["first_name"], last_name=form["last_name"], phone=form["phone"],
        media_urls=tuple(u for u in form["media_url"] if u),
        attributes=s.attributes_from_form(request.form),
        raw_fields=s.retry_fields(request.form))


@blp.route(f"/requests/<service_request_id>.{FMT}")
@blp.arguments(s.JurisdictionArgsSchema, location="query", as_kwargs=True)
@blp.response(200, s.ServiceRequestSchema(many=True))
@open311_errors(400, 404)
def get_request(service_request_id: str, fmt: str, **_args: object):
    """One request by its id (the case number), as a one-element list like the spec"""
    filed = queries.get_request(ctx.session(), service_request_id)
    return render.answer(fmt, "service_requests", [request_view(filed)])


@blp.route(f"/tokens/<token>.{FMT}")
@blp.arguments(s.JurisdictionArgsSchema, location="query", as_kwargs=True)
@blp.response(200, s.TokenAnswerSchema(many=True))
@open311_errors(400, 404)
def get_token(token: str, fmt: str, **_args: object):
    """The request id of a POST's token (ours are known at once)"""
    filed = queries.by_token(ctx.session(), token)
    return render.answer(fmt, "service_requests", [
        {"service_request_id": filed.case.number, "token": filed.request.token}])
