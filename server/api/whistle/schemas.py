"""Whistle-call input and output schemas: raise, judge, arrive, act, close, rate, lists."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import GpsFixSchema, PointSchema, StrictSchema, VersionedSchema
from server.cases.rules import Satisfaction, Urgency
from server.whistle.rules import WhistleKind, WhistleStatus

SHA256 = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="64 hex digits (the photo's SHA-256)")


class WhistleRaiseSchema(PointSchema):
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
    result = fields.String(required=True, validate=validate.Length(min=1, max=5000))


def _satisfaction_field() -> fields.Enum:
    return fields.Enum(Satisfaction, by_value=True, required=True, metadata={
        "description": "satisfied 满意 | basically_satisfied 基本满意 | dissatisfied 不满意"})


class WhistleRateSchema(VersionedSchema):
    department_id = fields.UUID(required=True)
    satisfaction = _satisfaction_field()
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))


class WhistleUnjustifiedSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class WhistleArrivalSchema(GpsFixSchema):
    id = fields.UUID(required=True, metadata={"description": "Made by the phone; a retry with "
                                              "the same id is recorded once"})
    device_time = fields.AwareDateTime(load_default=None, metadata={
        "description": "When it happened by the phone's clock (kept; deadlines use server time)"})


class WhistleActionSchema(StrictSchema):
    id = fields.UUID(required=True, metadata={"description": "Made by the client; a retry "
                                              "with the same id is recorded once"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000),
                                metadata={"description": "What was done"})
    result = fields.String(load_default=None, validate=validate.Length(max=5000))
    photos = fields.List(fields.String(validate=SHA256), load_default=list,
                         validate=validate.Length(max=20))
    device_time = fields.AwareDateTime(load_default=None)


class WhistleListQuerySchema(StrictSchema):
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
    id = fields.String()
    code = fields.String()
    name = fields.String()


class WhistleRatingSchema(ma.Schema):
    satisfaction = fields.String(metadata={
        "description": "satisfied 满意 | basically_satisfied 基本满意 | dissatisfied 不满意"})
    comment = fields.String(allow_none=True)
    rated_at = fields.AwareDateTime()


class WhistleUnjustifiedOutSchema(ma.Schema):
    reason = fields.String()
    at = fields.AwareDateTime()


class WhistleDepartmentOutSchema(ma.Schema):
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
    items = fields.List(fields.Nested(WhistleCallOutSchema))
    next_cursor = fields.String(allow_none=True)


class WhistleCallDetailSchema(WhistleCallOutSchema):
    arrivals = fields.List(fields.Nested(WhistleArrivalOutSchema))
    actions = fields.List(fields.Nested(WhistleActionOutSchema))
    photo_status = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "missing | partial | available, for each photo of the call and its "
                       "joint-action records (the photo service, docs/sync.md)"})


class WhistleArrivalResultSchema(ma.Schema):
    arrival = fields.Nested(WhistleArrivalOutSchema)
    flags = fields.List(fields.String(), metadata={"description": "outside_radius when the "
                                                   "check-in was too far from the place"})
    call = fields.Nested(WhistleCallOutSchema)


class WhistleActionResultSchema(ma.Schema):
    action = fields.Nested(WhistleActionOutSchema)
    call = fields.Nested(WhistleCallOutSchema)


class WhistleEventSchema(ma.Schema):
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
    call_id = fields.UUID(required=True)


class WhistleArrivalArgs(WhistleRefArgs, GpsFixSchema):
    pass


class WhistleActionArgs(WhistleRefArgs):
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    result = fields.String(load_default=None, validate=validate.Length(max=5000))
    photos = fields.List(fields.String(validate=SHA256), load_default=list,
                         validate=validate.Length(max=20))


class WhistleRatingArgs(WhistleRefArgs):
    department_id = fields.UUID(required=True)
    satisfaction = _satisfaction_field()
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))


class WhistleUnjustifiedArgs(WhistleRefArgs):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class WhistleEvaluationQuerySchema(StrictSchema):
    raised_from = fields.AwareDateTime(load_default=None)
    raised_to = fields.AwareDateTime(load_default=None)
    township_id = fields.UUID(load_default=None)


class WhistleDepartmentScoreSchema(ma.Schema):
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
    raised = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer()
    closed = fields.Integer()
    closed_on_time = fields.Integer()
    marked_unjustified = fields.Integer(metadata={
        "description": "Calls at least one named department marked unjustified"})


class WhistleTownshipScoreSchema(WhistleCallerCountsSchema):
    township = fields.Nested(WhistleRefSchema)


class WhistleRaisingDepartmentScoreSchema(WhistleCallerCountsSchema):
    department = fields.Nested(WhistleRefSchema)


class WhistleEvaluationSchema(ma.Schema):
    departments = fields.List(fields.Nested(WhistleDepartmentScoreSchema))
    townships = fields.List(fields.Nested(WhistleTownshipScoreSchema), metadata={
        "description": "The callers' side: calls raised by each township's own users"})
    raising_departments = fields.List(fields.Nested(WhistleRaisingDepartmentScoreSchema),
                                      metadata={"description": "The callers' side: calls "
                                                "raised by departments, per department"})
