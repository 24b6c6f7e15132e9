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
    EXAMPLE = {"jurisdiction_id": "beijing"}

    jurisdiction_id = fields.String(load_default=None, metadata={
        "description": "Accepted and ignored: this endpoint serves one jurisdiction"})


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class RequestsQueryArgsSchema(JurisdictionArgsSchema):
    EXAMPLE = {
        "jurisdiction_id": "beijing", "service_request_id": "2026-0000123,2026-0000124",
        "service_code": "01.01,02.01", "start_date": "2026-11-01T00:00:00Z",
        "end_date": "2026-12-01T00:00:00Z", "status": "open"}

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
    EXAMPLE = {
        "api_key": "Fw1anc_1mXTMnVPs_Sr78WroQjhM35xeHzOJejT9uSk", "jurisdiction_id": "beijing",
        "service_code": "01.01", "lat": 39.904, "long": 116.306,
        "address_string": "学院路 1 号", "address_id": "#NOTPINPOINTED#",
        "email": "zhangsan@example.cn", "device_id": "phone-1", "deviceid": "phone-1",
        "account_id": "fms-42", "first_name": "三", "last_name": "张",
        "phone": "13812341234", "description": "小区门口每天早上有人占道摆摊。",
        "media_url": ["https://fms.example.cn/photo/1.jpeg"]}

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
    EXAMPLE = {"code": 404, "description": "unknown_service: 没有编码为“99”的服务。"}

    code = fields.Integer(metadata={"description": "The HTTP status"})
    description = fields.String()


class EndpointSchema(ma.Schema):
    specification = fields.String()
    url = fields.String()
    changeset = fields.String()
    type = fields.String()
    formats = fields.List(fields.String())


class DiscoverySchema(ma.Schema):
    EXAMPLE = {
        "changeset": "2026-12-02T00:00:00+00:00", "contact": "12345",
        "key_service": "接口密钥由管理员按渠道发放：POST /api/v1/open311-keys",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                       "url": "https://grid.example.cn/open311/v2",
                       "changeset": "2026-12-02T00:00:00+00:00", "type": "production",
                       "formats": ["text/xml", "application/json"]}]}

    changeset = fields.String()
    contact = fields.String()
    key_service = fields.String()
    endpoints = fields.List(fields.Nested(EndpointSchema))


class ServiceSchema(ma.Schema):
    EXAMPLE = {
        "service_code": "01.01", "service_name": "占道经营", "description": None,
        "metadata": True, "type": "realtime", "keywords": None, "group": "市容环境"}

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
    EXAMPLE = {
        "service_code": "01.01", "attributes": [{
            "variable": True, "code": "subcategory", "datatype": "singlevaluelist",
            "required": False, "datatype_description": None, "order": 1,
            "description": "占道经营的细类",
            "values": [{"key": "01.01.01", "name": "早市占道"}]}]}

    service_code = fields.String()
    attributes = fields.List(fields.Nested(AttributeSchema))


class ServiceRequestSchema(ma.Schema):
    EXAMPLE = {
        "service_request_id": "2026-0000123", "status": "open",
        "status_notes": "已派发至承办单位。", "service_name": "占道经营",
        "service_code": "01.01", "description": "小区门口每天早上有人占道摆摊。",
        "agency_responsible": "学院路街道", "service_notice": None,
        "requested_datetime": "2026-12-02T01:30:00+00:00",
        "updated_datetime": "2026-12-02T01:30:00+00:00",
        "expected_datetime": "2026-12-09T01:30:00+00:00", "address": None,
        "address_id": None, "zipcode": None, "lat": 39.904, "long": 116.306,
        "media_url": "https://fms.example.cn/photo/1.jpeg"}

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
    EXAMPLE = {
        "service_request_id": "2026-0000123", "token": "5b0e8c1d2a3f4e6b9c7d8e0f1a2b3c4d",
        "service_notice": None}

    service_request_id = fields.String()
    token = fields.String()
    service_notice = fields.String(allow_none=True)


class TokenAnswerSchema(ma.Schema):
    EXAMPLE = {
        "service_request_id": "2026-0000123", "token": "5b0e8c1d2a3f4e6b9c7d8e0f1a2b3c4d"}

    service_request_id = fields.String()
    token = fields.String()


# --- the admin API (/api/v1/open311-keys), strict like every other area ----------------------

class KeyCreateSchema(StrictSchema):
    EXAMPLE = {"name": "市民随手拍网站", "unit_code": "T1-CC"}

    name = fields.String(required=True, validate=validate.Length(min=1, max=120),
                         metadata={"description": "The channel, e.g. 市民随手拍网站"})
    unit_code = fields.String(required=True, metadata={
        "description": "The receiving unit: cases are received under it"})


class KeyUnitSchema(ma.Schema):
    id = fields.UUID()
    code = fields.String()
    name = fields.String()


class KeySchema(ma.Schema):
    EXAMPLE = {
        "id": "c0a1b2c3-d4e5-4f60-8a7b-9c8d7e6f5a41", "name": "市民随手拍网站",
        "key_prefix": "Fw1anc",
        "unit": {"id": "1b6e3d0a-9c55-4f0e-8a1c-6b7a2e5d4c31", "code": "T1-CC",
                 "name": "学院路街道指挥中心"},
        "created_at": "2026-12-02T01:00:00+00:00", "revoked_at": None}

    id = fields.UUID()
    name = fields.String()
    key_prefix = fields.String(metadata={"description": "The key's first characters"})
    unit = fields.Nested(KeyUnitSchema, metadata={"description": "The receiving unit"})
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)


class IssuedKeySchema(KeySchema):
    EXAMPLE = {
        **KeySchema.EXAMPLE, "key": "Fw1anc_1mXTMnVPs_Sr78WroQjhM35xeHzOJejT9uSk"}

    key = fields.String(metadata={"description": "Shown once; only its hash is stored"})
