"""Open311 GeoReport v2 inputs and outputs.

Inputs are ``unknown = EXCLUDE``: the senders are clients we do not control (FixMyStreet,
city apps, the ``georeport`` library) and send parameters we do not use, such as
``jurisdiction_id``, ``address_id`` or attributes of other servers (Tolerant Reader).
Outputs document the JSON form; the XML form has the same fields (docs/open311.md).
"""

from __future__ import annotations

import re
from datetime import UTC

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema
from server.open311.rules import Open311Status

ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
NOT_RETRY_IDENTITY = frozenset({"api_key", "jurisdiction_id"})


class TolerantSchema(ma.Schema):
    class Meta:
        # Clients we do not control: ignore what we do not know (see the module docstring).
        unknown = ma.EXCLUDE


class JurisdictionArgsSchema(TolerantSchema):
    jurisdiction_id = fields.String(load_default=None, metadata={
        "description": "Accepted and ignored: this endpoint serves one jurisdiction"})


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class RequestsQueryArgsSchema(JurisdictionArgsSchema):
    service_request_id = fields.String(load_default=None, metadata={
        "description": "Comma-separated ids; overrides every other filter"})
    service_code = fields.String(load_default=None, metadata={
        "description": "Comma-separated service codes"})
    start_date = fields.AwareDateTime(load_default=None, default_timezone=UTC,
                                      metadata={"description": "W3C datetime, e.g. "
                                                "2026-12-01T00:00:00Z; naive is UTC"})
    end_date = fields.AwareDateTime(load_default=None, default_timezone=UTC)
    status = fields.String(load_default=None, metadata={"description": "open, closed or both"})

    @ma.post_load
    def _split(self, data: dict, **_kw: object) -> dict:
        for name in ("service_request_id", "service_code"):
            if data[name] is not None:
                data[name] = _comma_list(data[name])
        if data["status"] is not None:
            words = _comma_list(data["status"])
            wrong = [w for w in words if w not in {s.value for s in Open311Status}]
            if wrong or not words:
                raise ma.ValidationError("Use open, closed or both.", "status")
            data["status"] = [Open311Status(w) for w in words]
        return data


class RequestCreateFormSchema(JurisdictionArgsSchema):
    """POST requests, form-encoded; ``attribute[code]`` fields are read apart (see
    ``attributes_from_form``) because their names carry the attribute's code."""

    api_key = fields.String(load_default=None)
    service_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    lat = fields.Float(load_default=None, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(data_key="long", load_default=None,
                       validate=validate.Range(min=-180, max=180))
    address_string = fields.String(load_default=None, validate=validate.Length(max=300))
    address_id = fields.String(load_default=None, metadata={"description": "Ignored"})
    email = fields.String(load_default=None, validate=validate.Length(max=200))
    device_id = fields.String(load_default=None, validate=validate.Length(max=200))
    # FixMyStreet's name for it (``use_service_as_deviceid``).
    deviceid = fields.String(load_default=None, validate=validate.Length(max=200))
    account_id = fields.String(load_default=None, validate=validate.Length(max=200))
    first_name = fields.String(load_default=None, validate=validate.Length(max=60))
    last_name = fields.String(load_default=None, validate=validate.Length(max=60))
    phone = fields.String(load_default=None, validate=validate.Length(max=30))
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    media_url = fields.List(fields.String(validate=validate.Length(max=500)), load_default=list,
                            metadata={"description": "One or more (repeated) photo URLs"})

    @ma.validates_schema
    def _both_or_neither(self, data: dict, **_kw: object) -> None:
        if (data["lat"] is None) != (data["lon"] is None):
            raise ma.ValidationError("Give both lat and long, or neither.", "lat")


def attributes_from_form(form) -> dict[str, list[str]]:  # noqa: ANN001 - a MultiDict
    """``attribute[code]=v`` and, for multivaluelist, ``attribute[code][]=v`` (repeated)."""
    found: dict[str, list[str]] = {}
    for name in form:
        match = ATTRIBUTE.match(name)
        if match:
            found.setdefault(match.group(1), []).extend(form.getlist(name))
    return found


def retry_fields(form) -> dict[str, list[str]]:  # noqa: ANN001 - a MultiDict
    return {name: form.getlist(name) for name in form if name not in NOT_RETRY_IDENTITY}


# --- outputs (the JSON form) -------------------------------------------------------------

class Open311ErrorSchema(ma.Schema):
    code = fields.Integer(metadata={"description": "The HTTP status"})
    description = fields.String()


class EndpointSchema(ma.Schema):
    specification = fields.String()
    url = fields.String()
    changeset = fields.String()
    type = fields.String()
    formats = fields.List(fields.String())


class DiscoverySchema(ma.Schema):
    changeset = fields.String()
    contact = fields.String()
    key_service = fields.String()
    endpoints = fields.List(fields.Nested(EndpointSchema))


class ServiceSchema(ma.Schema):
    service_code = fields.String()
    service_name = fields.String()
    description = fields.String(allow_none=True)
    metadata = fields.Boolean()
    type = fields.String()
    keywords = fields.String(allow_none=True)
    group = fields.String(allow_none=True)


class AttributeValueSchema(ma.Schema):
    key = fields.String()
    name = fields.String()


class AttributeSchema(ma.Schema):
    variable = fields.Boolean()
    code = fields.String()
    datatype = fields.String()
    required = fields.Boolean()
    datatype_description = fields.String(allow_none=True)
    order = fields.Integer()
    description = fields.String()
    values = fields.List(fields.Nested(AttributeValueSchema))


class ServiceDefinitionSchema(ma.Schema):
    service_code = fields.String()
    attributes = fields.List(fields.Nested(AttributeSchema))


class ServiceRequestSchema(ma.Schema):
    service_request_id = fields.String()
    status = fields.String(metadata={"description": "open or closed"})
    status_notes = fields.String(allow_none=True)
    service_name = fields.String(allow_none=True)
    service_code = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    agency_responsible = fields.String(allow_none=True)
    service_notice = fields.String(allow_none=True)
    requested_datetime = fields.String()
    updated_datetime = fields.String()
    expected_datetime = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    address_id = fields.String(allow_none=True)
    zipcode = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    long = fields.Float(allow_none=True)
    media_url = fields.String(allow_none=True)


class RequestCreatedSchema(ma.Schema):
    service_request_id = fields.String()
    token = fields.String()
    service_notice = fields.String(allow_none=True)


class TokenAnswerSchema(ma.Schema):
    service_request_id = fields.String()
    token = fields.String()


# --- the admin API (/api/v1/open311-keys), strict like every other area ----------------------

class KeyCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120),
                         metadata={"description": "The channel, e.g. 市民随手拍网站"})
    unit_code = fields.String(required=True, metadata={
        "description": "The receiving unit: cases are received under it"})


class KeyUnitSchema(ma.Schema):
    id = fields.UUID()
    code = fields.String()
    name = fields.String()


class KeySchema(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    key_prefix = fields.String(metadata={"description": "The key's first characters"})
    unit = fields.Nested(KeyUnitSchema, metadata={"description": "The receiving unit"})
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)


class IssuedKeySchema(KeySchema):
    key = fields.String(metadata={"description": "Shown once; only its hash is stored"})
