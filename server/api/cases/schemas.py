"""Case input and output schemas: intake, transitions (each carries the version it saw), lists."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from geo.crs import CRS
from server.api.schemas import GpsFixSchema, ReasonSchema, StrictSchema, VersionedSchema
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


class AttachmentSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    sha256 = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    content_type = fields.String(load_default=None, validate=validate.Length(max=100))
    url = fields.String(load_default=None, validate=validate.Length(max=500))


class CaseCreateSchema(StrictSchema):
    client_request_id = fields.String(
        load_default=None, validate=validate.Length(min=8, max=64),
        metadata={"description": "Idempotency key: a retry with the same id returns the same case"})
    channel = fields.Enum(Channel, by_value=True, required=True)
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
    lead_unit_id = fields.UUID(required=True)
    cooperating_unit_ids = fields.List(fields.UUID(), load_default=list)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class NoteSchema(VersionedSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class CompleteSchema(VersionedSchema):
    result = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ApproveReturnSchema(VersionedSchema):
    with_fault = fields.Boolean(required=True, metadata={"description": "有责退单"})
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class HandDownSchema(ReasonSchema):
    community_unit_id = fields.UUID(required=True)


class ReviewSchema(VersionedSchema):
    """下交群评's outcome, recorded by the community the case was handed down to."""

    outcome = fields.Enum(ReviewOutcome, by_value=True, required=True, metadata={
        "description": "mediated (settled), withdrawn (the resident withdrew), unresolved"})
    note = fields.String(load_default="", validate=validate.Length(max=5000))


class CallbackSchema(VersionedSchema):
    """回访: our own callback (``supervisor``), or a rating the city 12345 platform reported."""

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
    new_due_at = fields.AwareDateTime(required=True)


class ArriveSchema(VersionedSchema, GpsFixSchema):
    """到场 from the web app: where the handler is (the phone's GPS, in the CRS it reports)."""


class DecisionSchema(VersionedSchema):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class LinkSchema(VersionedSchema):
    master_case_id = fields.UUID(required=True)


class CaseListQuerySchema(StrictSchema):
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
    id = fields.String()
    code = fields.String()
    name = fields.String()


class ResidentSchema(ma.Schema):
    view = fields.String(metadata={"description": "shown | masked | hidden"})
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class CaseOutSchema(ma.Schema):
    """A case as the caller may see it; the resident's data follows the privacy rule."""

    id = fields.UUID()
    number = fields.String()
    channel = fields.String()
    appeal_type = fields.String()
    category_code = fields.String(allow_none=True)
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
    items = fields.List(fields.Nested(CaseOutSchema))
    next_cursor = fields.String(allow_none=True)


class IntakeResultSchema(CaseOutSchema):
    possible_duplicates = fields.List(fields.Dict())


class EventSchema(ma.Schema):
    seq = fields.Integer()
    at = fields.AwareDateTime()
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    actor_username = fields.String(allow_none=True)
    actor_roles = fields.List(fields.String())
    actor_unit_id = fields.UUID(allow_none=True)
    data = fields.Dict()


class ReturnCountSchema(ma.Schema):
    unit_id = fields.UUID()
    unit_code = fields.String()
    month = fields.String()
    requested = fields.Integer()
    approved = fields.Integer()
    with_fault = fields.Integer()
