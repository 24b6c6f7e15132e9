"""Whistle-call input and output schemas: raise, judge, arrive, act, close, rate, lists."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import (
    CURSOR_EXAMPLE,
    GpsFixSchema,
    PointSchema,
    StrictSchema,
    VersionedSchema,
)
from server.cases.rules import Satisfaction, Urgency
from server.whistle.rules import WhistleKind, WhistleStatus

SHA256 = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="64 hex digits (the photo's SHA-256)")


class WhistleRaiseSchema(PointSchema):
    EXAMPLE = {
        "lon": 116.4736,
        "lat": 39.9968,
        "crs": "wgs84",
        "client_request_id": "phone-7f3a9c21-0001",
        "kind": "enforcement",
        "category_code": "0301",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "urgency": "normal",
        "address": "朝阳区望京西园三区南门",
        "department_ids": ["5e8e8229-cf33-5ecd-986b-c59ecdc3827a"],
        "linked_case_ids": ["0c37b841-2b2c-51ae-a366-31e4cad486c8"],
        "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    }

    client_request_id = fields.String(
        load_default=None, validate=validate.Length(min=8, max=64),
        metadata={"description": "Idempotency key: a retry with the same id returns the same call"})
    kind = fields.Enum(WhistleKind, by_value=True, required=True, metadata={
        "description": "enforcement 执法 | development 发展 | livelihood 民生"})
    category_code = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    description = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)
    address = fields.String(load_default=None, validate=validate.Length(max=300))
    department_ids = fields.List(fields.UUID(), load_default=list,
                                 metadata={"description": "The departments it wants"})
    linked_case_ids = fields.List(fields.UUID(), load_default=list,
                                  validate=validate.Length(max=50))
    photos = fields.List(fields.String(validate=SHA256), load_default=list,
                         validate=validate.Length(max=20))


class WhistleAcceptSchema(VersionedSchema):
    EXAMPLE = {
        "version": 3,
        "lead_department_id": "102c6042-34cc-56a3-938e-0719db34571e",
        "cooperating_department_ids": ["b3697fbe-65a0-5bec-95da-7834669d7a06"],
        "arrival_due_at": "2026-11-05T01:30:00+00:00",
        "completion_due_at": "2026-11-05T01:30:00+00:00",
        "arrival_radius_m": 10,
        "note": "已电话联系居民，约定下午上门。",
    }

    lead_department_id = fields.UUID(required=True)
    cooperating_department_ids = fields.List(fields.UUID(), load_default=list)
    arrival_due_at = fields.AwareDateTime(required=True, metadata={
        "description": "Every named department must be on site by then (报到)"})
    completion_due_at = fields.AwareDateTime(required=True)
    arrival_radius_m = fields.Float(
        load_default=None, validate=validate.Range(min=10, max=5000),
        metadata={"description": "How near the place an arrival counts (metres); "
                  "default GRID_WHISTLE_ARRIVAL_RADIUS_M"})
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class WhistleCloseSchema(VersionedSchema):
    EXAMPLE = {"version": 3, "result": "垃圾已清运，桶边地面已冲洗。"}

    result = fields.String(required=True, validate=validate.Length(min=1, max=5000))


def _satisfaction_field() -> fields.Enum:
    return fields.Enum(Satisfaction, by_value=True, required=True, metadata={
        "description": "satisfied 满意 | basically_satisfied 基本满意 | dissatisfied 不满意"})


class WhistleRateSchema(VersionedSchema):
    EXAMPLE = {
        "version": 3,
        "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
        "satisfaction": "satisfied",
        "comment": "处理及时，态度很好。",
    }

    department_id = fields.UUID(required=True)
    satisfaction = _satisfaction_field()
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))


class WhistleUnjustifiedSchema(StrictSchema):
    EXAMPLE = {"reason": "该问题属于市政管理范围，应由城管执法队处置。"}

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class WhistleArrivalSchema(GpsFixSchema):
    EXAMPLE = {
        "lon": 116.4736,
        "lat": 39.9968,
        "crs": "wgs84",
        "accuracy_m": 8.0,
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "device_time": "2026-11-05T01:30:00+00:00",
    }

    id = fields.UUID(required=True, metadata={"description": "Made by the phone; a retry with "
                                              "the same id is recorded once"})
    device_time = fields.AwareDateTime(load_default=None, metadata={
        "description": "When it happened by the phone's clock (kept; deadlines use server time)"})


class WhistleActionSchema(StrictSchema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "result": "垃圾已清运，桶边地面已冲洗。",
        "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
        "device_time": "2026-11-05T01:30:00+00:00",
    }

    id = fields.UUID(required=True, metadata={"description": "Made by the client; a retry "
                                              "with the same id is recorded once"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000),
                                metadata={"description": "What was done"})
    result = fields.String(load_default=None, validate=validate.Length(max=5000))
    photos = fields.List(fields.String(validate=SHA256), load_default=list,
                         validate=validate.Length(max=20))
    device_time = fields.AwareDateTime(load_default=None)


class WhistleListQuerySchema(StrictSchema):
    EXAMPLE = {
        "status": ["raised"],
        "township_id": "a3a0e0fe-38af-57f2-b62f-2793b576ea75",
        "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
        "kind": "enforcement",
        "overdue": True,
        "raised_from": "2026-11-05T01:30:00+00:00",
        "raised_to": "2026-11-05T01:30:00+00:00",
        "limit": 50,
        "cursor": CURSOR_EXAMPLE,
    }

    status = fields.List(fields.Enum(WhistleStatus, by_value=True), load_default=list)
    township_id = fields.UUID(load_default=None)
    department_id = fields.UUID(load_default=None)
    kind = fields.Enum(WhistleKind, by_value=True, load_default=None)
    overdue = fields.Boolean(load_default=None)
    raised_from = fields.AwareDateTime(load_default=None)
    raised_to = fields.AwareDateTime(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


class WhistleRefSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "code": "110105001",
        "name": "望京街道",
    }

    id = fields.String()
    code = fields.String()
    name = fields.String()


class WhistleRatingSchema(ma.Schema):
    EXAMPLE = {
        "satisfaction": "satisfied",
        "comment": "处理及时，态度很好。",
        "rated_at": "2026-11-05T01:30:00+00:00",
    }

    satisfaction = fields.String(metadata={
        "description": "satisfied 满意 | basically_satisfied 基本满意 | dissatisfied 不满意"})
    comment = fields.String(allow_none=True)
    rated_at = fields.AwareDateTime()


class WhistleUnjustifiedOutSchema(ma.Schema):
    EXAMPLE = {
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
        "at": "2026-11-05T01:30:00+00:00",
    }

    reason = fields.String()
    at = fields.AwareDateTime()


class WhistleDepartmentOutSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "department": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "requested": True,
        "role": "dispatcher",
        "arrival_due_at": "2026-11-05T01:30:00+00:00",
        "first_arrival_at": "2026-11-05T01:30:00+00:00",
        "response_minutes": 0.5,
        "arrival_state": "on_time",
        "arrivals_outside_radius": 1,
        "rating": {
            "satisfaction": "satisfied",
            "comment": "处理及时，态度很好。",
            "rated_at": "2026-11-05T01:30:00+00:00",
        },
        "unjustified": {
            "reason": "该问题属于市政管理范围，应由城管执法队处置。",
            "at": "2026-11-05T01:30:00+00:00",
        },
    }

    id = fields.String(metadata={"description": "This department's row on the call (the "
                                 "subject of its arrival deadline's reminders)"})
    department = fields.Nested(WhistleRefSchema)
    requested = fields.Boolean()
    role = fields.String(allow_none=True, metadata={"description": "lead | cooperating | null"})
    arrival_due_at = fields.AwareDateTime(allow_none=True)
    first_arrival_at = fields.AwareDateTime(allow_none=True)
    response_minutes = fields.Float(allow_none=True)
    arrival_state = fields.String(allow_none=True, metadata={
        "description": "pending | on_time | late | absent (named departments once accepted)"})
    arrivals_outside_radius = fields.Integer()
    rating = fields.Nested(WhistleRatingSchema, allow_none=True)
    unjustified = fields.Nested(WhistleUnjustifiedOutSchema, allow_none=True)


class WhistleArrivalOutSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
        "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
        "at": "2026-11-05T01:30:00+00:00",
        "device_time": "2026-11-05T01:30:00+00:00",
        "lon": 116.4736,
        "lat": 39.9968,
        "accuracy_m": 8.0,
        "distance_m": 0.5,
        "tolerance_m": 0.5,
        "within": True,
        "late": True,
        "via": "point",
    }

    id = fields.UUID()
    department_id = fields.UUID(attribute="unit_id")
    user_id = fields.UUID()
    at = fields.AwareDateTime()
    device_time = fields.AwareDateTime(allow_none=True)
    lon = fields.Float()
    lat = fields.Float()
    accuracy_m = fields.Float(allow_none=True)
    distance_m = fields.Float()
    tolerance_m = fields.Float()
    within = fields.Boolean()
    late = fields.Boolean()
    via = fields.String()


class WhistleActionOutSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
        "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
        "at": "2026-11-05T01:30:00+00:00",
        "device_time": "2026-11-05T01:30:00+00:00",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "result": "垃圾已清运，桶边地面已冲洗。",
        "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
        "via": "point",
    }

    id = fields.UUID()
    department_id = fields.UUID(attribute="unit_id")
    user_id = fields.UUID()
    at = fields.AwareDateTime()
    device_time = fields.AwareDateTime(allow_none=True)
    description = fields.String()
    result = fields.String(allow_none=True)
    photos = fields.List(fields.String())
    via = fields.String()


class WhistleCallOutSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "kind": "basic",
        "category_code": "0301",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "urgency": "normal",
        "status": "dispatched",
        "version": 3,
        "location": {},
        "address": "朝阳区望京西园三区南门",
        "grid": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "township": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "linked_case_ids": ["0c37b841-2b2c-51ae-a366-31e4cad486c8"],
        "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
        "raised_at": "2026-11-05T01:30:00+00:00",
        "raised_by_user_id": "6abee167-c1b4-5ab0-8674-17af20074640",
        "raised_by_department_id": "4d84aff6-ac02-578c-809e-87f625d8ace4",
        "judged_at": "2026-11-05T01:30:00+00:00",
        "rejection_reason": "该问题不属于本部门职责。",
        "lead_department_id": "102c6042-34cc-56a3-938e-0719db34571e",
        "arrival_due_at": "2026-11-05T01:30:00+00:00",
        "completion_due_at": "2026-11-05T01:30:00+00:00",
        "arrival_radius_m": 0.5,
        "closed_at": "2026-11-05T01:30:00+00:00",
        "closed_on_time": True,
        "result": "垃圾已清运，桶边地面已冲洗。",
        "overdue": True,
        "departments": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "department": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
                "requested": True,
                "role": "dispatcher",
                "arrival_due_at": "2026-11-05T01:30:00+00:00",
                "first_arrival_at": "2026-11-05T01:30:00+00:00",
                "response_minutes": 0.5,
                "arrival_state": "on_time",
                "arrivals_outside_radius": 1,
                "rating": {
                    "satisfaction": "satisfied",
                    "comment": "处理及时，态度很好。",
                    "rated_at": "2026-11-05T01:30:00+00:00",
                },
                "unjustified": {
                    "reason": "该问题属于市政管理范围，应由城管执法队处置。",
                    "at": "2026-11-05T01:30:00+00:00",
                },
            },
        ],
        "late_department_ids": ["25f61bf9-3c48-52fa-8867-81309ff89776"],
        "absent_department_ids": ["ef1ca1ba-a346-5fb7-b8cf-1401bff175f7"],
        "allowed_actions": ["accept", "note"],
        "updated_at": "2026-11-05T01:30:00+00:00",
    }

    id = fields.UUID()
    kind = fields.String()
    category_code = fields.String(allow_none=True)
    description = fields.String()
    urgency = fields.String()
    status = fields.String()
    version = fields.Integer()
    location = fields.Dict(metadata={"description": "lon, lat (WGS-84) and the input crs "
                                     "and coordinates"})
    address = fields.String(allow_none=True)
    grid = fields.Nested(WhistleRefSchema)
    township = fields.Nested(WhistleRefSchema)
    linked_case_ids = fields.List(fields.String())
    photos = fields.List(fields.String())
    raised_at = fields.AwareDateTime()
    raised_by_user_id = fields.UUID()
    raised_by_department_id = fields.UUID(allow_none=True, metadata={
        "description": "The department that raised it; null for a township's call"})
    judged_at = fields.AwareDateTime(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    lead_department_id = fields.UUID(allow_none=True)
    arrival_due_at = fields.AwareDateTime(allow_none=True)
    completion_due_at = fields.AwareDateTime(allow_none=True)
    arrival_radius_m = fields.Float(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_on_time = fields.Boolean(allow_none=True)
    result = fields.String(allow_none=True)
    overdue = fields.Boolean()
    departments = fields.List(fields.Nested(WhistleDepartmentOutSchema))
    late_department_ids = fields.List(fields.String())
    absent_department_ids = fields.List(fields.String())
    allowed_actions = fields.List(fields.String())
    updated_at = fields.AwareDateTime()


class WhistleCallPageSchema(ma.Schema):
    EXAMPLE = {
        "items": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "kind": "basic",
                "category_code": "0301",
                "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
                "urgency": "normal",
                "status": "dispatched",
                "version": 3,
                "location": {},
                "address": "朝阳区望京西园三区南门",
                "grid": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
                "township": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
                "linked_case_ids": ["0c37b841-2b2c-51ae-a366-31e4cad486c8"],
                "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
                "raised_at": "2026-11-05T01:30:00+00:00",
                "raised_by_user_id": "6abee167-c1b4-5ab0-8674-17af20074640",
                "raised_by_department_id": "4d84aff6-ac02-578c-809e-87f625d8ace4",
                "judged_at": "2026-11-05T01:30:00+00:00",
                "rejection_reason": "该问题不属于本部门职责。",
                "lead_department_id": "102c6042-34cc-56a3-938e-0719db34571e",
                "arrival_due_at": "2026-11-05T01:30:00+00:00",
                "completion_due_at": "2026-11-05T01:30:00+00:00",
                "arrival_radius_m": 0.5,
                "closed_at": "2026-11-05T01:30:00+00:00",
                "closed_on_time": True,
                "result": "垃圾已清运，桶边地面已冲洗。",
                "overdue": True,
                "departments": [
                    {
                        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                        "department": {
                            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                            "code": "110105001",
                            "name": "望京街道",
                        },
                        "requested": True,
                        "role": "dispatcher",
                        "arrival_due_at": "2026-11-05T01:30:00+00:00",
                        "first_arrival_at": "2026-11-05T01:30:00+00:00",
                        "response_minutes": 0.5,
                        "arrival_state": "on_time",
                        "arrivals_outside_radius": 1,
                        "rating": {
                            "satisfaction": "satisfied",
                            "comment": "处理及时，态度很好。",
                            "rated_at": "2026-11-05T01:30:00+00:00",
                        },
                        "unjustified": {
                            "reason": "该问题属于市政管理范围，应由城管执法队处置。",
                            "at": "2026-11-05T01:30:00+00:00",
                        },
                    },
                ],
                "late_department_ids": ["25f61bf9-3c48-52fa-8867-81309ff89776"],
                "absent_department_ids": ["ef1ca1ba-a346-5fb7-b8cf-1401bff175f7"],
                "allowed_actions": ["accept", "note"],
                "updated_at": "2026-11-05T01:30:00+00:00",
            },
        ],
        "next_cursor": CURSOR_EXAMPLE,
    }

    items = fields.List(fields.Nested(WhistleCallOutSchema))
    next_cursor = fields.String(allow_none=True)


class WhistleCallDetailSchema(WhistleCallOutSchema):
    EXAMPLE = {
        **WhistleCallOutSchema.EXAMPLE,
        "arrivals": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
                "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
                "at": "2026-11-05T01:30:00+00:00",
                "device_time": "2026-11-05T01:30:00+00:00",
                "lon": 116.4736,
                "lat": 39.9968,
                "accuracy_m": 8.0,
                "distance_m": 0.5,
                "tolerance_m": 0.5,
                "within": True,
                "late": True,
                "via": "point",
            },
        ],
        "actions": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
                "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
                "at": "2026-11-05T01:30:00+00:00",
                "device_time": "2026-11-05T01:30:00+00:00",
                "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
                "result": "垃圾已清运，桶边地面已冲洗。",
                "photos": [
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                ],
                "via": "point",
            },
        ],
        "photo_status": {},
    }

    arrivals = fields.List(fields.Nested(WhistleArrivalOutSchema))
    actions = fields.List(fields.Nested(WhistleActionOutSchema))
    photo_status = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "missing | partial | available, for each photo of the call and its "
                       "joint-action records (the photo service, docs/sync.md)"})


class WhistleArrivalResultSchema(ma.Schema):
    EXAMPLE = {
        "arrival": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
            "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
            "at": "2026-11-05T01:30:00+00:00",
            "device_time": "2026-11-05T01:30:00+00:00",
            "lon": 116.4736,
            "lat": 39.9968,
            "accuracy_m": 8.0,
            "distance_m": 0.5,
            "tolerance_m": 0.5,
            "within": True,
            "late": True,
            "via": "point",
        },
        "flags": [],
        "call": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "kind": "basic",
            "category_code": "0301",
            "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
            "urgency": "normal",
            "status": "dispatched",
            "version": 3,
            "location": {},
            "address": "朝阳区望京西园三区南门",
            "grid": {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
            },
            "township": {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
            },
            "linked_case_ids": ["0c37b841-2b2c-51ae-a366-31e4cad486c8"],
            "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
            "raised_at": "2026-11-05T01:30:00+00:00",
            "raised_by_user_id": "6abee167-c1b4-5ab0-8674-17af20074640",
            "raised_by_department_id": "4d84aff6-ac02-578c-809e-87f625d8ace4",
            "judged_at": "2026-11-05T01:30:00+00:00",
            "rejection_reason": "该问题不属于本部门职责。",
            "lead_department_id": "102c6042-34cc-56a3-938e-0719db34571e",
            "arrival_due_at": "2026-11-05T01:30:00+00:00",
            "completion_due_at": "2026-11-05T01:30:00+00:00",
            "arrival_radius_m": 0.5,
            "closed_at": "2026-11-05T01:30:00+00:00",
            "closed_on_time": True,
            "result": "垃圾已清运，桶边地面已冲洗。",
            "overdue": True,
            "departments": [
                {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "department": {
                        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                        "code": "110105001",
                        "name": "望京街道",
                    },
                    "requested": True,
                    "role": "dispatcher",
                    "arrival_due_at": "2026-11-05T01:30:00+00:00",
                    "first_arrival_at": "2026-11-05T01:30:00+00:00",
                    "response_minutes": 0.5,
                    "arrival_state": "on_time",
                    "arrivals_outside_radius": 1,
                    "rating": {
                        "satisfaction": "satisfied",
                        "comment": "处理及时，态度很好。",
                        "rated_at": "2026-11-05T01:30:00+00:00",
                    },
                    "unjustified": {
                        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
                        "at": "2026-11-05T01:30:00+00:00",
                    },
                },
            ],
            "late_department_ids": ["25f61bf9-3c48-52fa-8867-81309ff89776"],
            "absent_department_ids": ["ef1ca1ba-a346-5fb7-b8cf-1401bff175f7"],
            "allowed_actions": ["accept", "note"],
            "updated_at": "2026-11-05T01:30:00+00:00",
        },
    }

    arrival = fields.Nested(WhistleArrivalOutSchema)
    flags = fields.List(fields.String(), metadata={"description": "outside_radius when the "
                                                   "check-in was too far from the place"})
    call = fields.Nested(WhistleCallOutSchema)


class WhistleActionResultSchema(ma.Schema):
    EXAMPLE = {
        "action": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
            "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
            "at": "2026-11-05T01:30:00+00:00",
            "device_time": "2026-11-05T01:30:00+00:00",
            "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
            "result": "垃圾已清运，桶边地面已冲洗。",
            "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
            "via": "point",
        },
        "call": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "kind": "basic",
            "category_code": "0301",
            "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
            "urgency": "normal",
            "status": "dispatched",
            "version": 3,
            "location": {},
            "address": "朝阳区望京西园三区南门",
            "grid": {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
            },
            "township": {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
            },
            "linked_case_ids": ["0c37b841-2b2c-51ae-a366-31e4cad486c8"],
            "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
            "raised_at": "2026-11-05T01:30:00+00:00",
            "raised_by_user_id": "6abee167-c1b4-5ab0-8674-17af20074640",
            "raised_by_department_id": "4d84aff6-ac02-578c-809e-87f625d8ace4",
            "judged_at": "2026-11-05T01:30:00+00:00",
            "rejection_reason": "该问题不属于本部门职责。",
            "lead_department_id": "102c6042-34cc-56a3-938e-0719db34571e",
            "arrival_due_at": "2026-11-05T01:30:00+00:00",
            "completion_due_at": "2026-11-05T01:30:00+00:00",
            "arrival_radius_m": 0.5,
            "closed_at": "2026-11-05T01:30:00+00:00",
            "closed_on_time": True,
            "result": "垃圾已清运，桶边地面已冲洗。",
            "overdue": True,
            "departments": [
                {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "department": {
                        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                        "code": "110105001",
                        "name": "望京街道",
                    },
                    "requested": True,
                    "role": "dispatcher",
                    "arrival_due_at": "2026-11-05T01:30:00+00:00",
                    "first_arrival_at": "2026-11-05T01:30:00+00:00",
                    "response_minutes": 0.5,
                    "arrival_state": "on_time",
                    "arrivals_outside_radius": 1,
                    "rating": {
                        "satisfaction": "satisfied",
                        "comment": "处理及时，态度很好。",
                        "rated_at": "2026-11-05T01:30:00+00:00",
                    },
                    "unjustified": {
                        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
                        "at": "2026-11-05T01:30:00+00:00",
                    },
                },
            ],
            "late_department_ids": ["25f61bf9-3c48-52fa-8867-81309ff89776"],
            "absent_department_ids": ["ef1ca1ba-a346-5fb7-b8cf-1401bff175f7"],
            "allowed_actions": ["accept", "note"],
            "updated_at": "2026-11-05T01:30:00+00:00",
        },
    }

    action = fields.Nested(WhistleActionOutSchema)
    call = fields.Nested(WhistleCallOutSchema)


class WhistleEventSchema(ma.Schema):
    EXAMPLE = {
        "seq": 1,
        "at": "2026-11-05T01:30:00+00:00",
        "action": "dispatch",
        "from_status": "received",
        "to_status": "dispatched",
        "actor_username": "wangjing.dispatcher",
        "actor_roles": ["dispatcher"],
        "actor_unit_id": "306d06fd-af9a-5855-9d5f-ed1c25ccc6c9",
        "data": {},
    }

    seq = fields.Integer()
    at = fields.AwareDateTime()
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    actor_username = fields.String(allow_none=True)
    actor_roles = fields.List(fields.String())
    actor_unit_id = fields.UUID(allow_none=True)
    data = fields.Dict()


# --- sync push: each whistle operation's arguments (listed in server/api/sync/push_schemas.py)


class WhistleRefArgs(StrictSchema):
    EXAMPLE = {"call_id": "cb63a6b8-1e4a-5e52-b97f-db82827c92bd"}

    call_id = fields.UUID(required=True)


class WhistleArrivalArgs(WhistleRefArgs, GpsFixSchema):
    EXAMPLE = {
        "lon": 116.4736,
        "lat": 39.9968,
        "crs": "wgs84",
        "accuracy_m": 8.0,
        "call_id": "cb63a6b8-1e4a-5e52-b97f-db82827c92bd",
    }

    pass


class WhistleActionArgs(WhistleRefArgs):
    EXAMPLE = {
        "call_id": "cb63a6b8-1e4a-5e52-b97f-db82827c92bd",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "result": "垃圾已清运，桶边地面已冲洗。",
        "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    }

    description = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    result = fields.String(load_default=None, validate=validate.Length(max=5000))
    photos = fields.List(fields.String(validate=SHA256), load_default=list,
                         validate=validate.Length(max=20))


class WhistleRatingArgs(WhistleRefArgs):
    EXAMPLE = {
        "call_id": "cb63a6b8-1e4a-5e52-b97f-db82827c92bd",
        "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
        "satisfaction": "satisfied",
        "comment": "处理及时，态度很好。",
    }

    department_id = fields.UUID(required=True)
    satisfaction = _satisfaction_field()
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))


class WhistleUnjustifiedArgs(WhistleRefArgs):
    EXAMPLE = {
        "call_id": "cb63a6b8-1e4a-5e52-b97f-db82827c92bd",
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
    }

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class WhistleEvaluationQuerySchema(StrictSchema):
    EXAMPLE = {
        "raised_from": "2026-11-05T01:30:00+00:00",
        "raised_to": "2026-11-05T01:30:00+00:00",
        "township_id": "a3a0e0fe-38af-57f2-b62f-2793b576ea75",
    }

    raised_from = fields.AwareDateTime(load_default=None)
    raised_to = fields.AwareDateTime(load_default=None)
    township_id = fields.UUID(load_default=None)


class WhistleDepartmentScoreSchema(ma.Schema):
    EXAMPLE = {
        "department": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "named": 1,
        "lead": 1,
        "on_time": 1,
        "late": 1,
        "absent": 1,
        "pending": 1,
        "mean_response_minutes": 0.5,
        "ratings": 1,
        "satisfied": 1,
        "basically_satisfied": 1,
        "dissatisfied": 1,
        "satisfaction_rate": 0.5,
        "unjustified": 1,
    }

    department = fields.Nested(WhistleRefSchema)
    named = fields.Integer(metadata={"description": "Calls naming it (lead or cooperating)"})
    lead = fields.Integer()
    on_time = fields.Integer()
    late = fields.Integer()
    absent = fields.Integer()
    pending = fields.Integer()
    mean_response_minutes = fields.Float(allow_none=True)
    ratings = fields.Integer()
    satisfied = fields.Integer(metadata={"description": "Rated 满意"})
    basically_satisfied = fields.Integer(metadata={"description": "Rated 基本满意"})
    dissatisfied = fields.Integer(metadata={"description": "Rated 不满意"})
    satisfaction_rate = fields.Float(allow_none=True, metadata={
        "description": "满意率 in percent over its ratings: 满意 1, 基本满意 0.8, 不满意 0 "
                       "(null when not rated)"})
    unjustified = fields.Integer(metadata={"description": "Calls it marked unjustified"})


class WhistleCallerCountsSchema(ma.Schema):
    EXAMPLE = {
        "raised": 1,
        "accepted": 1,
        "rejected": 1,
        "closed": 1,
        "closed_on_time": 1,
        "marked_unjustified": 1,
    }

    raised = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer()
    closed = fields.Integer()
    closed_on_time = fields.Integer()
    marked_unjustified = fields.Integer(metadata={
        "description": "Calls at least one named department marked unjustified"})


class WhistleTownshipScoreSchema(WhistleCallerCountsSchema):
    EXAMPLE = {
        "raised": 1,
        "accepted": 1,
        "rejected": 1,
        "closed": 1,
        "closed_on_time": 1,
        "marked_unjustified": 1,
        "township": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
    }

    township = fields.Nested(WhistleRefSchema)


class WhistleRaisingDepartmentScoreSchema(WhistleCallerCountsSchema):
    EXAMPLE = {
        "raised": 1,
        "accepted": 1,
        "rejected": 1,
        "closed": 1,
        "closed_on_time": 1,
        "marked_unjustified": 1,
        "department": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
    }

    department = fields.Nested(WhistleRefSchema)


class WhistleEvaluationSchema(ma.Schema):
    EXAMPLE = {
        "departments": [
            {
                "department": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
                "named": 1,
                "lead": 1,
                "on_time": 1,
                "late": 1,
                "absent": 1,
                "pending": 1,
                "mean_response_minutes": 0.5,
                "ratings": 1,
                "satisfied": 1,
                "basically_satisfied": 1,
                "dissatisfied": 1,
                "satisfaction_rate": 0.5,
                "unjustified": 1,
            },
        ],
        "townships": [
            {
                "raised": 1,
                "accepted": 1,
                "rejected": 1,
                "closed": 1,
                "closed_on_time": 1,
                "marked_unjustified": 1,
                "township": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
            },
        ],
        "raising_departments": [
            {
                "raised": 1,
                "accepted": 1,
                "rejected": 1,
                "closed": 1,
                "closed_on_time": 1,
                "marked_unjustified": 1,
                "department": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
            },
        ],
    }

    departments = fields.List(fields.Nested(WhistleDepartmentScoreSchema))
    townships = fields.List(fields.Nested(WhistleTownshipScoreSchema), metadata={
        "description": "The callers' side: calls raised by each township's own users"})
    raising_departments = fields.List(fields.Nested(WhistleRaisingDepartmentScoreSchema),
                                      metadata={"description": "The callers' side: calls "
                                                "raised by departments, per department"})
