"""Case input and output schemas: intake, transitions (each carries the version it saw), lists."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from geo.crs import CRS
from server.api.schemas import (
    CURSOR_EXAMPLE,
    GpsFixSchema,
    ReasonSchema,
    StrictSchema,
    VersionedSchema,
)
from server.cases.rules import (
    AppealType,
    CaseStatus,
    Channel,
    RatingChannel,
    RatingSource,
    ReviewOutcome,
    Satisfaction,
    Urgency,
)
from server.supervision.rules import DeadlineKind, DeadlineStatus, ReminderState

# One case as a township dispatcher sees it: sent by phone (12345), dispatched to the
# township's urban-management team, accepted, not yet answered.
CASE_EXAMPLE = {
    "id": "5f0c8a52-3c1e-4d7a-9a52-2d1f6e1c0a11", "number": "2026-0000123",
    "city_order_number": "BJ20261105000123", "channel": "city_direct",
    "appeal_type": "complaint", "category_code": "03.02",
    "category": {"code": "03.02", "name": "垃圾清运不及时"},
    "title": "小区门口垃圾桶满溢",
    "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
    "urgency": "normal", "status": "accepted", "version": 3,
    "location": {"lon": 116.4736, "lat": 39.9968, "input_crs": "gcj02",
                 "input_lon": 116.4797, "input_lat": 39.9981},
    "address": "朝阳区望京西园三区南门",
    "basic_grid": {"id": "4e9b6a3d-2f88-4c3b-9d4f-9eab5b8a7f61", "code": "110105001-005",
                   "name": "望京西园三区网格"},
    "assignment": {"method": "inside", "distance_m": 0.0},
    "special_grids": [],
    "township": {"id": "1b6e3d0a-9c55-4f0e-8a1c-6b7a2e5d4c31", "code": "110105001",
                 "name": "望京街道"},
    "lead_unit": {"id": "2c7f4e1b-0d66-4a1f-9b2d-7c8b3f6e5d41", "code": "110105001-CG",
                  "name": "望京街道城管执法队"},
    "cooperating_unit_ids": [],
    "resident": {"view": "masked", "name": "李**", "phone": "138****8000"},
    "confidential": False, "attachments": [], "needs_triage": False, "triage_reason": None,
    "received_at": "2026-11-05T01:30:00+00:00", "dispatched_at": "2026-11-05T01:42:00+00:00",
    "response_due_at": "2026-11-06T01:42:00+00:00",
    "completion_due_at": "2026-11-12T01:42:00+00:00",
    "responded_at": None, "completed_at": None, "closed_at": None, "result": None,
    "resolved": None, "satisfaction": None, "rehandle_count": 0, "extension_state": None,
    "exemption_state": None, "exempted_at": None, "master_case_id": None, "linked_at": None,
    "dispatched_by_unit_id": "3d8a5f2c-1e77-4b2a-8c3e-8d9c4a7f6e51",
    "handed_down_to_unit_id": None, "review_due_at": None, "review_outcome": None,
    "review_note": None, "reviewed_at": None, "updated_at": "2026-11-05T02:05:00+00:00",
    "allowed_actions": ["contact", "note", "arrive", "request_return", "request_extension"],
}


class AttachmentSchema(StrictSchema):
    EXAMPLE = {
        "name": "望京街道",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "content_type": "image/jpeg",
        "url": "https://example.cn/photos/1.jpg",
    }

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    sha256 = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    content_type = fields.String(load_default=None, validate=validate.Length(max=100))
    url = fields.String(load_default=None, validate=validate.Length(max=500))


class CaseCreateSchema(StrictSchema):
    EXAMPLE = {
        "client_request_id": "phone-7f3a9c21-0001",
        "channel": "city_direct",
        "city_order_number": "BJ20261105000123",
        "appeal_type": "consultation",
        "category_code": "0301",
        "title": "小区门口垃圾桶满溢",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "urgency": "normal",
        "lon": 116.4736,
        "lat": 39.9968,
        "crs": "wgs84",
        "address": "朝阳区望京西园三区南门",
        "resident_name": "李先生",
        "resident_phone": "13800138000",
        "confidential": True,
        "attachments": [
            {
                "name": "望京街道",
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "content_type": "image/jpeg",
                "url": "https://example.cn/photos/1.jpg",
            },
        ],
    }

    client_request_id = fields.String(
        load_default=None, validate=validate.Length(min=8, max=64),
        metadata={"description": "Idempotency key: a retry with the same id returns the same case"})
    channel = fields.Enum(Channel, by_value=True, required=True)
    city_order_number = fields.String(
        load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9\-_]{1,40}$"),
        metadata={"description": "The 12345 platform's order number (city_direct and "
                                 "district_forward orders only); a second intake with the same "
                                 "number is 409 duplicate_city_order"})
    appeal_type = fields.Enum(AppealType, by_value=True, required=True)
    category_code = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)
    lon = fields.Float(load_default=None, validate=validate.Range(min=-180, max=180))
    lat = fields.Float(load_default=None, validate=validate.Range(min=-90, max=90))
    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84)
    address = fields.String(load_default=None, validate=validate.Length(max=300))
    resident_name = fields.String(load_default=None, validate=validate.Length(max=60))
    resident_phone = fields.String(load_default=None,
                                   validate=validate.Regexp(r"^\+?[0-9\- ]{3,30}$"))
    confidential = fields.Boolean(load_default=False)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list,
                              validate=validate.Length(max=50))


class DispatchSchema(VersionedSchema):
    EXAMPLE = {
        "version": 3,
        "lead_unit_id": "bf94cbb8-c115-5dec-9c92-cca716d1d241",
        "cooperating_unit_ids": ["eefc53ca-19b8-5445-bd7c-fc8aea8207d1"],
        "note": "已电话联系居民，约定下午上门。",
    }

    lead_unit_id = fields.UUID(required=True)
    cooperating_unit_ids = fields.List(fields.UUID(), load_default=list)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class NoteSchema(VersionedSchema):
    EXAMPLE = {"version": 3, "note": "已电话联系居民，约定下午上门。"}

    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class CompleteSchema(VersionedSchema):
    EXAMPLE = {"version": 3, "result": "垃圾已清运，桶边地面已冲洗。"}

    result = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ApproveReturnSchema(VersionedSchema):
    EXAMPLE = {"version": 3, "with_fault": True, "note": "已电话联系居民，约定下午上门。"}

    with_fault = fields.Boolean(required=True, metadata={"description": "有责退单"})
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class HandDownSchema(ReasonSchema):
    EXAMPLE = {
        "version": 3,
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
        "community_unit_id": "b832dd19-4f82-55f0-af87-e058358d4e73",
    }

    community_unit_id = fields.UUID(required=True)


class ReviewSchema(VersionedSchema):
    """下交群评's outcome, recorded by the community the case was handed down to."""

    EXAMPLE = {"version": 3, "outcome": "mediated", "note": "已电话联系居民，约定下午上门。"}

    outcome = fields.Enum(ReviewOutcome, by_value=True, required=True, metadata={
        "description": "mediated (settled), withdrawn (the resident withdrew), unresolved"})
    note = fields.String(load_default="", validate=validate.Length(max=5000))


class CallbackSchema(VersionedSchema):
    """回访: our own callback (``supervisor``), or a rating the city 12345 platform reported."""

    EXAMPLE = {
        "version": 3,
        "resolved": True,
        "satisfaction": "satisfied",
        "comment": "处理及时，态度很好。",
        "source": "city_platform",
        "rater": "市12345平台",
        "rated_at": "2026-11-05T01:30:00+00:00",
        "channel": "phone",
    }

    resolved = fields.Boolean(required=True)
    satisfaction = fields.Enum(Satisfaction, by_value=True, required=True)
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))
    source = fields.Enum(RatingSource, by_value=True, load_default=RatingSource.SUPERVISOR,
                         metadata={"description": "city_platform: district dispatchers only"})
    rater = fields.String(load_default=None, validate=validate.Length(min=1, max=100),
                          metadata={"description": "who rated: the platform's agent or name"})
    rated_at = fields.AwareDateTime(load_default=None, metadata={
        "description": "when the resident rated, as the city platform reports it; required "
                       "for city_platform, not allowed otherwise (ours: the time recorded)"})
    channel = fields.Enum(RatingChannel, by_value=True, load_default=None)

    @ma.validates_schema
    def _rated_at_for_the_platform(self, data: dict, **_: object) -> None:
        from_platform = data.get("source") is RatingSource.CITY_PLATFORM
        if from_platform and data.get("rated_at") is None:
            raise ma.ValidationError("Give the time the resident rated on the city platform.",
                                     "rated_at")
        if not from_platform and data.get("rated_at") is not None:
            raise ma.ValidationError("Only a city-platform rating has its own time.",
                                     "rated_at")


class ExtensionRequestSchema(ReasonSchema):
    EXAMPLE = {
        "version": 3,
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
        "new_due_at": "2026-11-05T01:30:00+00:00",
    }

    new_due_at = fields.AwareDateTime(required=True)


class ArriveSchema(VersionedSchema, GpsFixSchema):
    """到场 from the web app: where the handler is (the phone's GPS, in the CRS it reports)."""

    EXAMPLE = {"lon": 116.4736, "lat": 39.9968, "crs": "wgs84", "accuracy_m": 8.0, "version": 3}


class DecisionSchema(VersionedSchema):
    EXAMPLE = {"version": 3, "approve": True, "note": "已电话联系居民，约定下午上门。"}

    approve = fields.Boolean(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class LinkSchema(VersionedSchema):
    EXAMPLE = {"version": 3, "master_case_id": "6c211f94-12ed-5ce7-bf96-34c42ba241bb"}

    master_case_id = fields.UUID(required=True)


class CaseListQuerySchema(StrictSchema):
    EXAMPLE = {
        "number": "2026-0000123",
        "city_order_number": "BJ20261105000123",
        "resident_phone": "13800138000",
        "status": ["received"],
        "lead_unit_id": "bf94cbb8-c115-5dec-9c92-cca716d1d241",
        "grid": "110105001-005",
        "category": "0301",
        "channel": "city_direct",
        "overdue": True,
        "needs_triage": True,
        "received_from": "2026-11-05T01:30:00+00:00",
        "received_to": "2026-11-05T01:30:00+00:00",
        "bbox": [116.46, 39.99, 116.49, 40.01],
        "limit": 50,
        "cursor": CURSOR_EXAMPLE,
    }

    number = fields.String(load_default=None, validate=validate.Length(min=1, max=20),
                           metadata={"description": "The case number, exactly (2026-0000123)"})
    city_order_number = fields.String(
        load_default=None, validate=validate.Length(min=1, max=40),
        metadata={"description": "The 12345 platform's order number, exactly"})
    resident_phone = fields.String(
        load_default=None, validate=validate.Regexp(r"^\+?[0-9\- ]{3,30}$"),
        metadata={"description": "The resident's phone as recorded, exactly. Only for roles "
                                 "that may see residents' data; answers only cases whose data "
                                 "the caller may see, and each find is logged (purpose lookup)"})
    status = fields.List(fields.Enum(CaseStatus, by_value=True), load_default=list)
    lead_unit_id = fields.UUID(load_default=None)
    grid = fields.String(load_default=None)
    category = fields.String(load_default=None)
    channel = fields.Enum(Channel, by_value=True, load_default=None)
    overdue = fields.Boolean(load_default=None)
    needs_triage = fields.Boolean(load_default=None)
    received_from = fields.AwareDateTime(load_default=None)
    received_to = fields.AwareDateTime(load_default=None)
    bbox = fields.List(fields.Float(), load_default=None, validate=validate.Length(equal=4),
                       metadata={"description": "min_lon,min_lat,max_lon,max_lat (WGS-84)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


class RefSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "code": "110105001",
        "name": "望京街道",
    }

    id = fields.String()
    code = fields.String()
    name = fields.String()


class CategoryRefSchema(ma.Schema):
    EXAMPLE = {"code": "03.02", "name": "垃圾清运不及时"}

    code = fields.String()
    name = fields.String(allow_none=True)


class ResidentSchema(ma.Schema):
    EXAMPLE = {"view": "masked", "name": "李**", "phone": "138****8000"}

    view = fields.String(metadata={"description": "shown | masked | hidden"})
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class CaseOutSchema(ma.Schema):
    """A case as the caller may see it; the resident's data follows the privacy rule."""

    EXAMPLE = CASE_EXAMPLE

    id = fields.UUID()
    number = fields.String()
    city_order_number = fields.String(allow_none=True)
    channel = fields.String()
    appeal_type = fields.String()
    category_code = fields.String(allow_none=True)
    category = fields.Nested(CategoryRefSchema, allow_none=True,
                             metadata={"description": "The category's code and catalogue name"})
    title = fields.String()
    description = fields.String()
    urgency = fields.String()
    status = fields.String()
    version = fields.Integer()
    location = fields.Dict(
        allow_none=True,
        metadata={"description": "lon, lat (WGS-84) and the input crs and coordinates"},
    )
    address = fields.String(allow_none=True)
    basic_grid = fields.Nested(RefSchema, allow_none=True)
    assignment = fields.Dict(allow_none=True)
    special_grids = fields.List(fields.String())
    township = fields.Nested(RefSchema, allow_none=True)
    lead_unit = fields.Nested(RefSchema, allow_none=True)
    cooperating_unit_ids = fields.List(fields.String())
    resident = fields.Nested(ResidentSchema)
    confidential = fields.Boolean()
    attachments = fields.List(fields.Dict())
    needs_triage = fields.Boolean()
    triage_reason = fields.String(allow_none=True)
    received_at = fields.AwareDateTime()
    dispatched_at = fields.AwareDateTime(allow_none=True)
    response_due_at = fields.AwareDateTime(allow_none=True)
    completion_due_at = fields.AwareDateTime(allow_none=True)
    responded_at = fields.AwareDateTime(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    result = fields.String(allow_none=True)
    resolved = fields.Boolean(allow_none=True)
    satisfaction = fields.String(allow_none=True)
    rehandle_count = fields.Integer()
    extension_state = fields.String(allow_none=True)
    exemption_state = fields.String(allow_none=True)
    exempted_at = fields.AwareDateTime(allow_none=True, metadata={"description": "剔除 approved"})
    master_case_id = fields.UUID(allow_none=True)
    linked_at = fields.AwareDateTime(allow_none=True)
    dispatched_by_unit_id = fields.UUID(allow_none=True, metadata={
        "description": "the supervising unit: approves, decides and calls back"})
    handed_down_to_unit_id = fields.UUID(allow_none=True)
    review_due_at = fields.AwareDateTime(allow_none=True)
    review_outcome = fields.String(allow_none=True)
    review_note = fields.String(allow_none=True)
    reviewed_at = fields.AwareDateTime(allow_none=True)
    updated_at = fields.AwareDateTime()
    allowed_actions = fields.List(fields.String())


class CasePageSchema(ma.Schema):
    EXAMPLE = {"items": [CASE_EXAMPLE], "next_cursor": CURSOR_EXAMPLE}

    items = fields.List(fields.Nested(CaseOutSchema))
    next_cursor = fields.String(allow_none=True)


class IntakeResultSchema(CaseOutSchema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "number": "2026-0000123",
        "city_order_number": "BJ20261105000123",
        "channel": "phone",
        "appeal_type": "complaint",
        "category_code": "0301",
        "category": {"code": "110105001", "name": "望京街道"},
        "title": "小区门口垃圾桶满溢",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "urgency": "normal",
        "status": "dispatched",
        "version": 3,
        "location": {},
        "address": "朝阳区望京西园三区南门",
        "basic_grid": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "assignment": {},
        "special_grids": ["110105001-S01"],
        "township": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "lead_unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "cooperating_unit_ids": ["eefc53ca-19b8-5445-bd7c-fc8aea8207d1"],
        "resident": {"view": "township", "name": "望京街道", "phone": "13800138000"},
        "confidential": True,
        "attachments": [{}],
        "needs_triage": True,
        "triage_reason": "位置不在任何网格内",
        "received_at": "2026-11-05T01:30:00+00:00",
        "dispatched_at": "2026-11-05T01:30:00+00:00",
        "response_due_at": "2026-11-05T01:30:00+00:00",
        "completion_due_at": "2026-11-05T01:30:00+00:00",
        "responded_at": "2026-11-05T01:30:00+00:00",
        "completed_at": "2026-11-05T01:30:00+00:00",
        "closed_at": "2026-11-05T01:30:00+00:00",
        "result": "垃圾已清运，桶边地面已冲洗。",
        "resolved": True,
        "satisfaction": "satisfied",
        "rehandle_count": 1,
        "extension_state": "requested",
        "exemption_state": None,
        "exempted_at": "2026-11-05T01:30:00+00:00",
        "master_case_id": "6c211f94-12ed-5ce7-bf96-34c42ba241bb",
        "linked_at": "2026-11-05T01:30:00+00:00",
        "dispatched_by_unit_id": "e1a26aa0-6ef8-592f-9b4a-7b647e90e8a9",
        "handed_down_to_unit_id": "75b5e359-f96b-58eb-8413-2f40d03fccde",
        "review_due_at": "2026-11-05T01:30:00+00:00",
        "review_outcome": "mediated",
        "review_note": "双方已达成一致。",
        "reviewed_at": "2026-11-05T01:30:00+00:00",
        "updated_at": "2026-11-05T01:30:00+00:00",
        "allowed_actions": ["accept", "note"],
        "possible_duplicates": [{}],
    }

    possible_duplicates = fields.List(fields.Dict())


class EventSchema(ma.Schema):
    EXAMPLE = {
        "seq": 1,
        "at": "2026-11-05T01:30:00+00:00",
        "action": "dispatch",
        "from_status": "received",
        "to_status": "dispatched",
        "actor_username": "wangjing.dispatcher",
        "actor_roles": ["dispatcher"],
        "actor_unit_id": "306d06fd-af9a-5855-9d5f-ed1c25ccc6c9",
        "actor_unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "lead_unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "cooperating_units": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
            },
        ],
        "community_unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "dispatch_rule": {"code": "110105001", "name": "望京街道"},
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
    actor_unit = fields.Nested(RefSchema, allow_none=True,
                               metadata={"description": "The unit the actor acted for"})
    lead_unit = fields.Nested(RefSchema, allow_none=True,
                              metadata={"description": "Dispatches: the lead unit (主办)"})
    cooperating_units = fields.List(fields.Nested(RefSchema, allow_none=True), metadata={
        "description": "Dispatches: the cooperating units (协办)"})
    community_unit = fields.Nested(RefSchema, allow_none=True,
                                   metadata={"description": "Hand-downs: the community"})
    dispatch_rule = fields.Nested(CategoryRefSchema, allow_none=True, metadata={
        "description": "Automatic dispatches: the catalogue item whose rule was used"})
    data = fields.Dict()


class ReturnCountSchema(ma.Schema):
    EXAMPLE = {
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "unit_code": "110105001",
        "unit_name": "望京街道",
        "period": "2026-11",
        "requested": 1,
        "approved": 1,
        "with_fault": 1,
    }

    unit_id = fields.UUID()
    unit_code = fields.String()
    unit_name = fields.String()
    period = fields.String(metadata={"description": "The period's label, e.g. 2026-11"})
    requested = fields.Integer()
    approved = fields.Integer()
    with_fault = fields.Integer()


class PlannedReminderSchema(ma.Schema):
    EXAMPLE = {
        "node": "dispatch",
        "generation": 1,
        "fire_at": "2026-11-05T01:30:00+00:00",
        "state": "pending",
        "sent_at": "2026-11-05T01:30:00+00:00",
    }

    node = fields.String(metadata={"description": "'50%' … '100%', or 'overdue'"})
    generation = fields.Integer(metadata={"description": "1, then +1 per approved extension"})
    fire_at = fields.AwareDateTime(metadata={"description": "When it goes (or went) out"})
    state = fields.Enum(ReminderState, by_value=True)
    sent = fields.Function(lambda r: r.sent_at is not None, metadata={"type": "boolean"})
    sent_at = fields.AwareDateTime(allow_none=True)


class PlannedDeadlineSchema(ma.Schema):
    EXAMPLE = {
        "kind": "response",
        "status": "active",
        "starts_at": "2026-11-05T01:30:00+00:00",
        "due_at": "2026-11-05T01:30:00+00:00",
        "original_due_at": "2026-11-05T01:30:00+00:00",
        "met_at": "2026-11-05T01:30:00+00:00",
        "escalated_at": "2026-11-05T01:30:00+00:00",
        "closed_at": "2026-11-05T01:30:00+00:00",
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "supervisor_unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "reminders": [
            {
                "node": "dispatch",
                "generation": 1,
                "fire_at": "2026-11-05T01:30:00+00:00",
                "state": "pending",
                "sent_at": "2026-11-05T01:30:00+00:00",
            },
        ],
    }

    kind = fields.Enum(DeadlineKind, by_value=True, attribute="deadline.kind")
    status = fields.Enum(DeadlineStatus, by_value=True, attribute="deadline.status")
    starts_at = fields.AwareDateTime(attribute="deadline.starts_at")
    due_at = fields.AwareDateTime(attribute="deadline.due_at")
    original_due_at = fields.AwareDateTime(attribute="deadline.original_due_at")
    met_at = fields.AwareDateTime(allow_none=True, attribute="deadline.met_at")
    met = fields.Function(lambda d: d["deadline"].on_time, allow_none=True, metadata={
        "type": "boolean", "description": "null while not met; else whether met by due_at"})
    escalated_at = fields.AwareDateTime(allow_none=True, attribute="deadline.escalated_at")
    closed_at = fields.AwareDateTime(allow_none=True, attribute="deadline.closed_at")
    unit = fields.Nested(RefSchema, allow_none=True,
                         metadata={"description": "Who must meet it (the lead unit)"})
    supervisor_unit = fields.Nested(RefSchema, allow_none=True,
                                    metadata={"description": "Who is told when it is missed"})
    reminders = fields.List(fields.Nested(PlannedReminderSchema))


class SupervisionSchema(ma.Schema):
    """A case's supervision: every deadline it has had, oldest first, with its reminders."""

    EXAMPLE = {
        "deadlines": [
            {
                "kind": "response",
                "status": "active",
                "starts_at": "2026-11-05T01:30:00+00:00",
                "due_at": "2026-11-05T01:30:00+00:00",
                "original_due_at": "2026-11-05T01:30:00+00:00",
                "met_at": "2026-11-05T01:30:00+00:00",
                "escalated_at": "2026-11-05T01:30:00+00:00",
                "closed_at": "2026-11-05T01:30:00+00:00",
                "unit": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
                "supervisor_unit": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
                "reminders": [
                    {
                        "node": "dispatch",
                        "generation": 1,
                        "fire_at": "2026-11-05T01:30:00+00:00",
                        "state": "pending",
                        "sent_at": "2026-11-05T01:30:00+00:00",
                    },
                ],
            },
        ],
    }

    deadlines = fields.List(fields.Nested(PlannedDeadlineSchema))


class AccessLogQuerySchema(StrictSchema):
    EXAMPLE = {
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
        "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
        "purpose": "view",
        "at_from": "2026-11-05T01:30:00+00:00",
        "at_to": "2026-11-05T01:30:00+00:00",
        "limit": 50,
        "cursor": CURSOR_EXAMPLE,
    }

    case_id = fields.UUID(load_default=None)
    user_id = fields.UUID(load_default=None, metadata={"description": "Who saw the data"})
    purpose = fields.String(load_default=None, validate=validate.OneOf(["view", "lookup"]))
    at_from = fields.AwareDateTime(load_default=None)
    at_to = fields.AwareDateTime(load_default=None, metadata={"description": "Exclusive"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


class AccessUserSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "username": "wangjing.dispatcher",
        "display_name": "王芳",
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
    }

    id = fields.UUID()
    username = fields.String()
    display_name = fields.String()
    unit = fields.Nested(RefSchema, allow_none=True)


class AccessCaseSchema(ma.Schema):
    EXAMPLE = {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "number": "2026-0000123"}

    id = fields.UUID()
    number = fields.String()


class MaskedResidentSchema(ma.Schema):
    EXAMPLE = {"name": "望京街道", "phone": "13800138000"}

    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class AccessEntrySchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "at": "2026-11-05T01:30:00+00:00",
        "purpose": "view",
        "user": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "username": "wangjing.dispatcher",
            "display_name": "王芳",
            "unit": {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
            },
        },
        "case": {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "number": "2026-0000123"},
        "resident": {"name": "望京街道", "phone": "13800138000"},
    }

    id = fields.UUID()
    at = fields.AwareDateTime()
    purpose = fields.String(metadata={"description": "view (shown unmasked) | lookup "
                                                     "(found by the resident's phone)"})
    user = fields.Nested(AccessUserSchema)
    case = fields.Nested(AccessCaseSchema)
    resident = fields.Nested(MaskedResidentSchema, metadata={"description": "Whose data, masked"})


class AccessLogPageSchema(ma.Schema):
    EXAMPLE = {
        "items": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "at": "2026-11-05T01:30:00+00:00",
                "purpose": "view",
                "user": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "username": "wangjing.dispatcher",
                    "display_name": "王芳",
                    "unit": {
                        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                        "code": "110105001",
                        "name": "望京街道",
                    },
                },
                "case": {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "number": "2026-0000123"},
                "resident": {"name": "望京街道", "phone": "13800138000"},
            },
        ],
        "next_cursor": CURSOR_EXAMPLE,
    }

    items = fields.List(fields.Nested(AccessEntrySchema))
    next_cursor = fields.String(allow_none=True)
