"""Query arguments and answers of unit statistics, 双考评 from whistle calls, hotspots, 每月一题."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.evaluation.schemas import EvaluatedUnitSchema
from server.api.reports.schemas import PeriodArgsSchema
from server.api.schemas import StrictSchema
from server.api.tables import FormatArgsSchema
from server.reports.hotspots import BY_KINDS, DEFAULT_EPS_M, DEFAULT_MIN_POINTS
from server.reports.tracked import DEFAULT_MONTHS_BEFORE
from server.reports.unit_stats import DOUBLE_NO, NOT_DOUBLE_YES

UNIT_ID = {"description": "The unit (or basic grid) whose figures are asked for"}
CATEGORY = {"description": "A category code of the dispatch catalogue (its sub-categories "
                           "included)"}


def _percent(description: str) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": description
                                                   + " (97.01 for 97.01 %); null over zero"})


class UnitPeriodArgsSchema(PeriodArgsSchema, FormatArgsSchema):
    unit_id = fields.UUID(required=True, metadata=UNIT_ID)


class RatingListArgsSchema(UnitPeriodArgsSchema):
    list = fields.String(load_default=DOUBLE_NO, validate=validate.OneOf(
        [DOUBLE_NO, NOT_DOUBLE_YES]), metadata={"description": "double_no (双否) or "
                                                               "not_double_yes (非双是)"})


class WhistleArgsSchema(PeriodArgsSchema, FormatArgsSchema):
    district_id = fields.UUID(required=True)
    side = fields.String(load_default="departments", validate=validate.OneOf(
        ["departments", "townships"]), metadata={"description": "departments (called) or "
                                                                "townships (calling)"})


class HotspotArgsSchema(UnitPeriodArgsSchema):
    by = fields.String(load_default="grid", validate=validate.OneOf(BY_KINDS))
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                             metadata=CATEGORY)


class RisingArgsSchema(UnitPeriodArgsSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class ClusterArgsSchema(UnitPeriodArgsSchema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=40),
                             metadata=CATEGORY)
    eps_m = fields.Float(load_default=DEFAULT_EPS_M, validate=validate.Range(min=5, max=5000),
                         metadata={"description": "DBSCAN radius in metres"})
    min_points = fields.Integer(load_default=DEFAULT_MIN_POINTS,
                                validate=validate.Range(min=2, max=1000),
                                metadata={"description": "Cases within the radius (itself "
                                                         "included) that make a core case"})


class Per10kSchema(ma.Schema):
    appeals = fields.Integer(allow_none=True, metadata={
        "description": "Cases received in the period in the unit's territory (linked "
                       "duplicates once)"})
    population = fields.Integer(allow_none=True)
    value = fields.Float(allow_none=True, metadata={"description": "appeals per 10,000 "
                                                                   "residents, 2 decimals"})
    reason = fields.String(allow_none=True, metadata={"description": "Why there is no value"})


class UnitStatsSchema(ma.Schema):
    unit = fields.Nested(EvaluatedUnitSchema)
    period = fields.String()
    received = fields.Integer(metadata={"description": "Cases dispatched to it in the period"})
    completed = fields.Integer()
    overdue = fields.Integer()
    return_requests = fields.Integer()
    returned = fields.Integer()
    returned_with_fault = fields.Integer()
    return_rate = _percent("returned / received, percent")
    rated = fields.Integer(metadata={"description": "Rated cases (考核件)"})
    rehandled_cases = fields.Integer()
    rehandlings = fields.Integer()
    not_double_yes = fields.Integer()
    double_no = fields.Integer()
    per_10k_residents = fields.Nested(Per10kSchema)
    repeat_phone_groups = fields.Integer()
    repeat_place_groups = fields.Integer()


class RatedCaseSchema(ma.Schema):
    case_id = fields.UUID()
    number = fields.String()
    title = fields.String()
    category_code = fields.String(allow_none=True)
    lead_unit_code = fields.String()
    lead_unit_name = fields.String()
    recorded_at = fields.AwareDateTime()
    resolved = fields.Boolean()
    satisfaction = fields.String()
    rehandle_count = fields.Integer()


class RatingListSchema(ma.Schema):
    unit = fields.Nested(EvaluatedUnitSchema)
    period = fields.String()
    list = fields.String()
    items = fields.List(fields.Nested(RatedCaseSchema))


class RepeatGroupSchema(ma.Schema):
    by = fields.String(metadata={"description": "phone or place"})
    key = fields.String(metadata={"description": "The phone (masked unless you may see it) "
                                                 "or the category code"})
    cases = fields.Integer()
    first_received_at = fields.AwareDateTime()
    last_received_at = fields.AwareDateTime()
    categories = fields.String()
    case_numbers = fields.List(fields.String())


class RepeatListSchema(ma.Schema):
    unit = fields.Nested(EvaluatedUnitSchema)
    period = fields.String()
    items = fields.List(fields.Nested(RepeatGroupSchema))


class PeriodTableSchema(ma.Schema):
    """A report table (as its CSV: rows keyed by column key) and the periods compared."""

    name = fields.String(metadata={"description": "File name stem of the CSV/XLSX download"})
    title = fields.String()
    columns = fields.List(fields.Dict(), metadata={
        "description": "key, title (Chinese), type (text, integer, number, percent, ...)"})
    rows = fields.List(fields.Dict(keys=fields.String()))
    notes = fields.List(fields.String(), metadata={"description": "What counts and what not"})
    period = fields.String()
    previous_period = fields.String(allow_none=True)


class TrackedProblemCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default=None, validate=validate.Length(max=4000))
    category_codes = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                                 required=True, validate=validate.Length(min=1, max=20))
    area_unit_id = fields.UUID(required=True, metadata={
        "description": "A district, township or community of your district"})
    starts_on = fields.Date(required=True, metadata={"description": "The day the action "
                                                                    "starts (Beijing time)"})


class TrackedListArgsSchema(StrictSchema):
    district_id = fields.UUID(required=True)


class TrackedDetailArgsSchema(FormatArgsSchema):
    months_before = fields.Integer(load_default=DEFAULT_MONTHS_BEFORE,
                                   validate=validate.Range(min=0, max=24))


class TrackedProblemSchema(ma.Schema):
    id = fields.UUID()
    title = fields.String()
    description = fields.String(allow_none=True)
    category_codes = fields.List(fields.String())
    area_unit_id = fields.UUID()
    district_id = fields.UUID()
    starts_on = fields.Date()
    created_at = fields.AwareDateTime()
    created_by_user_id = fields.UUID()


class MonthCountSchema(ma.Schema):
    month = fields.String()
    phase = fields.String(metadata={"description": "before, start (a mid-month start) or after"})
    count = fields.Integer()
    partial = fields.Boolean(metadata={"description": "The month has not ended yet"})


class TrackedProblemDetailSchema(TrackedProblemSchema):
    months = fields.List(fields.Nested(MonthCountSchema))
    mean_before = fields.Float(allow_none=True, metadata={"description": "Per full month"})
    mean_after = fields.Float(allow_none=True, metadata={"description": "Per full month"})
    change_percent = fields.Float(allow_none=True)
