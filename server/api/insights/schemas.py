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
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
    }

    unit_id = fields.UUID(required=True, metadata=UNIT_ID)


class RatingListArgsSchema(UnitPeriodArgsSchema):
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "list": "double_no",
    }

    list = fields.String(load_default=DOUBLE_NO, validate=validate.OneOf(
        [DOUBLE_NO, NOT_DOUBLE_YES]), metadata={"description": "double_no (双否) or "
                                                               "not_double_yes (非双是)"})


class WhistleArgsSchema(PeriodArgsSchema, FormatArgsSchema):
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "district_id": "f265eabc-9467-5689-85e2-8ea14cd76cee",
        "side": "departments",
    }

    district_id = fields.UUID(required=True)
    side = fields.String(load_default="departments", validate=validate.OneOf(
        ["departments", "townships"]), metadata={"description": "departments (called) or "
                                                                "townships (calling)"})


class HotspotArgsSchema(UnitPeriodArgsSchema):
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "by": "grid",
        "category": "0301",
    }

    by = fields.String(load_default="grid", validate=validate.OneOf(BY_KINDS))
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                             metadata=CATEGORY)


class RisingArgsSchema(UnitPeriodArgsSchema):
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "limit": 50,
    }

    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class ClusterArgsSchema(UnitPeriodArgsSchema):
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "category": "0301",
        "eps_m": 5,
        "min_points": 2,
    }

    category = fields.String(required=True, validate=validate.Length(min=1, max=40),
                             metadata=CATEGORY)
    eps_m = fields.Float(load_default=DEFAULT_EPS_M, validate=validate.Range(min=5, max=5000),
                         metadata={"description": "DBSCAN radius in metres"})
    min_points = fields.Integer(load_default=DEFAULT_MIN_POINTS,
                                validate=validate.Range(min=2, max=1000),
                                metadata={"description": "Cases within the radius (itself "
                                                         "included) that make a core case"})


class Per10kSchema(ma.Schema):
    EXAMPLE = {
        "appeals": 1,
        "population": 120000,
        "value": 0.5,
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
    }

    appeals = fields.Integer(allow_none=True, metadata={
        "description": "Cases received in the period in the unit's territory (linked "
                       "duplicates once)"})
    population = fields.Integer(allow_none=True)
    value = fields.Float(allow_none=True, metadata={"description": "appeals per 10,000 "
                                                                   "residents, 2 decimals"})
    reason = fields.String(allow_none=True, metadata={"description": "Why there is no value"})


class UnitStatsSchema(ma.Schema):
    EXAMPLE = {
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "kind": "district",
            "code": "110105001",
            "name": "望京街道",
        },
        "period": "2026-11",
        "received": 1,
        "completed": 1,
        "overdue": 1,
        "return_requests": 1,
        "returned": 1,
        "returned_with_fault": 1,
        "return_rate": 0.5,
        "rated": 1,
        "rehandled_cases": 1,
        "rehandlings": 1,
        "not_double_yes": 1,
        "double_no": 1,
        "per_10k_residents": {
            "appeals": 1,
            "population": 120000,
            "value": 0.5,
            "reason": "该问题属于市政管理范围，应由城管执法队处置。",
        },
        "repeat_phone_groups": 1,
        "repeat_place_groups": 1,
    }

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
    EXAMPLE = {
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
        "number": "2026-0000123",
        "title": "小区门口垃圾桶满溢",
        "category_code": "0301",
        "lead_unit_code": "0301",
        "lead_unit_name": "朝阳区城管执法局",
        "recorded_at": "2026-11-05T01:30:00+00:00",
        "resolved": True,
        "satisfaction": "satisfied",
        "rehandle_count": 1,
    }

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
    EXAMPLE = {
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "kind": "district",
            "code": "110105001",
            "name": "望京街道",
        },
        "period": "2026-11",
        "list": "double_no",
        "items": [
            {
                "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
                "number": "2026-0000123",
                "title": "小区门口垃圾桶满溢",
                "category_code": "0301",
                "lead_unit_code": "0301",
                "lead_unit_name": "朝阳区城管执法局",
                "recorded_at": "2026-11-05T01:30:00+00:00",
                "resolved": True,
                "satisfaction": "satisfied",
                "rehandle_count": 1,
            },
        ],
    }

    unit = fields.Nested(EvaluatedUnitSchema)
    period = fields.String()
    list = fields.String()
    items = fields.List(fields.Nested(RatedCaseSchema))


class RepeatGroupSchema(ma.Schema):
    EXAMPLE = {
        "by": "grid",
        "key": "satisfaction",
        "cases": 1,
        "first_received_at": "2026-11-05T01:30:00+00:00",
        "last_received_at": "2026-11-05T01:30:00+00:00",
        "categories": "03",
        "case_numbers": ["2026-0000123"],
    }

    by = fields.String(metadata={"description": "phone or place"})
    key = fields.String(metadata={"description": "The phone (masked unless you may see it) "
                                                 "or the category code"})
    cases = fields.Integer()
    first_received_at = fields.AwareDateTime()
    last_received_at = fields.AwareDateTime()
    categories = fields.String()
    case_numbers = fields.List(fields.String())


class RepeatListSchema(ma.Schema):
    EXAMPLE = {
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "kind": "district",
            "code": "110105001",
            "name": "望京街道",
        },
        "period": "2026-11",
        "items": [
            {
                "by": "grid",
                "key": "satisfaction",
                "cases": 1,
                "first_received_at": "2026-11-05T01:30:00+00:00",
                "last_received_at": "2026-11-05T01:30:00+00:00",
                "categories": "03",
                "case_numbers": ["2026-0000123"],
            },
        ],
    }

    unit = fields.Nested(EvaluatedUnitSchema)
    period = fields.String()
    items = fields.List(fields.Nested(RepeatGroupSchema))


class PeriodTableSchema(ma.Schema):
    """A report table (as its CSV: rows keyed by column key) and the periods compared."""

    EXAMPLE = {
        "name": "望京街道",
        "title": "小区门口垃圾桶满溢",
        "columns": [{}],
        "rows": [{}],
        "notes": ["已电话联系居民，约定下午上门。"],
        "period": "2026-11",
        "previous_period": "2026-10",
    }

    name = fields.String(metadata={"description": "File name stem of the CSV/XLSX download"})
    title = fields.String()
    columns = fields.List(fields.Dict(), metadata={
        "description": "key, title (Chinese), type (text, integer, number, percent, ...)"})
    rows = fields.List(fields.Dict(keys=fields.String()))
    notes = fields.List(fields.String(), metadata={"description": "What counts and what not"})
    period = fields.String()
    previous_period = fields.String(allow_none=True)


class TrackedProblemCreateSchema(StrictSchema):
    EXAMPLE = {
        "title": "小区门口垃圾桶满溢",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "category_codes": ["0301"],
        "area_unit_id": "791a7432-3662-5f29-8641-b21ffcf5fda8",
        "starts_on": "2026-11-05",
    }

    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default=None, validate=validate.Length(max=4000))
    category_codes = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                                 required=True, validate=validate.Length(min=1, max=20))
    area_unit_id = fields.UUID(required=True, metadata={
        "description": "A district, township or community of your district"})
    starts_on = fields.Date(required=True, metadata={"description": "The day the action "
                                                                    "starts (Beijing time)"})


class TrackedListArgsSchema(StrictSchema):
    EXAMPLE = {"district_id": "f265eabc-9467-5689-85e2-8ea14cd76cee"}

    district_id = fields.UUID(required=True)


class TrackedDetailArgsSchema(FormatArgsSchema):
    EXAMPLE = {"format": "json", "months_before": 1}

    months_before = fields.Integer(load_default=DEFAULT_MONTHS_BEFORE,
                                   validate=validate.Range(min=0, max=24))


class TrackedProblemSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "title": "小区门口垃圾桶满溢",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "category_codes": ["0301"],
        "area_unit_id": "791a7432-3662-5f29-8641-b21ffcf5fda8",
        "district_id": "f265eabc-9467-5689-85e2-8ea14cd76cee",
        "starts_on": "2026-11-05",
        "created_at": "2026-11-05T01:30:00+00:00",
        "created_by_user_id": "927955e6-33cc-5c98-afb0-3d5ba95aeaf0",
    }

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
    EXAMPLE = {"month": "2026-11", "phase": "handling", "count": 12, "partial": True}

    month = fields.String()
    phase = fields.String(metadata={"description": "before, start (a mid-month start) or after"})
    count = fields.Integer()
    partial = fields.Boolean(metadata={"description": "The month has not ended yet"})


class TrackedProblemDetailSchema(TrackedProblemSchema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "title": "小区门口垃圾桶满溢",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "category_codes": ["0301"],
        "area_unit_id": "791a7432-3662-5f29-8641-b21ffcf5fda8",
        "district_id": "f265eabc-9467-5689-85e2-8ea14cd76cee",
        "starts_on": "2026-11-05",
        "created_at": "2026-11-05T01:30:00+00:00",
        "created_by_user_id": "927955e6-33cc-5c98-afb0-3d5ba95aeaf0",
        "months": [{"month": "2026-11", "phase": "handling", "count": 12, "partial": True}],
        "mean_before": 0.5,
        "mean_after": 0.5,
        "change_percent": 0.5,
    }

    months = fields.List(fields.Nested(MonthCountSchema))
    mean_before = fields.Float(allow_none=True, metadata={"description": "Per full month"})
    mean_after = fields.Float(allow_none=True, metadata={"description": "Per full month"})
    change_percent = fields.Float(allow_none=True)
