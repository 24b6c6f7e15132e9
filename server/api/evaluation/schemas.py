"""Query arguments and answers of the evaluation endpoints (docs/evaluation.md)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import CURSOR_EXAMPLE, StrictSchema
from server.api.tables import FormatArgsSchema
from server.reports.access import RankingKind, TargetKind
from server.reports.periods import BadPeriod, PeriodKind, parse
from server.reports.scoring import Figure

# November 2026 in Beijing time, as every evaluation answer names its period.
PERIOD_EXAMPLE = {"kind": "month", "label": "2026-11", "first": "2026-11-01",
                  "last": "2026-11-30", "start_utc": "2026-10-31T16:00:00+00:00",
                  "end_utc": "2026-11-30T16:00:00+00:00"}


class PeriodArgsSchema(FormatArgsSchema):
    EXAMPLE = {"format": "json", "period_kind": "day", "period": "2026-11"}

    period_kind = fields.Enum(PeriodKind, by_value=True, load_default=PeriodKind.MONTH)
    period = fields.String(required=True, metadata={
        "description": "The period's label in Beijing time: 2026-11-05, 2026-W45, 2026-11 or "
                       "2026-11-01/2026-11-15"})

    @ma.post_load
    def parse_period(self, data: dict, **_: object) -> dict:
        try:
            data["period"] = parse(data.pop("period_kind"), data["period"])
        except BadPeriod as exc:
            raise ma.ValidationError(str(exc), field_name="period") from exc
        return data


class ScoresArgsSchema(PeriodArgsSchema):
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
    }

    unit_id = fields.UUID(required=True, metadata={
        "description": "A district, township, community, department or grid"})


class ExplainArgsSchema(ScoresArgsSchema):
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "figure": "response",
        "cursor": CURSOR_EXAMPLE,
        "limit": 50,
    }

    figure = fields.Enum(Figure, by_value=True, required=True)
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class RankingArgsSchema(PeriodArgsSchema):
    EXAMPLE = {
        "format": "json",
        "period_kind": "day",
        "period": "2026-11",
        "district_id": "f265eabc-9467-5689-85e2-8ea14cd76cee",
        "kind": "township",
    }

    district_id = fields.UUID(required=True)
    kind = fields.Enum(RankingKind, by_value=True, load_default=RankingKind.TOWNSHIP)


class TrendArgsSchema(FormatArgsSchema):
    EXAMPLE = {
        "format": "json",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "last": "2026-11",
        "months": 1,
    }

    unit_id = fields.UUID(required=True)
    last = fields.String(load_default=None, metadata={
        "description": "The last month shown (YYYY-MM); default the current month"})
    months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=36))

    @ma.post_load
    def parse_last(self, data: dict, **_: object) -> dict:
        if data["last"] is not None:
            try:
                data["last"] = parse(PeriodKind.MONTH, data["last"])
            except BadPeriod as exc:
                raise ma.ValidationError(str(exc), field_name="last") from exc
        return data


class SettingsArgsSchema(StrictSchema):
    EXAMPLE = {"district_id": "f265eabc-9467-5689-85e2-8ea14cd76cee"}

    district_id = fields.UUID(required=True)


class SettingsFieldsSchema(StrictSchema):
    EXAMPLE = {
        "response_weight": 1.5,
        "resolution_weight": 1.5,
        "satisfaction_weight": 1.5,
        "basic_weight": 1.5,
        "bottom_townships": 1,
        "bottom_departments": 1,
    }

    response_weight = fields.Decimal(required=True, metadata={"description": "% of composite"})
    resolution_weight = fields.Decimal(required=True)
    satisfaction_weight = fields.Decimal(required=True)
    basic_weight = fields.Decimal(required=True, metadata={
        "description": "How much 基本满意 counts in the satisfaction rate, 0-1 (default 0.8)"})
    bottom_townships = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    bottom_departments = fields.Integer(required=True, validate=validate.Range(min=0, max=100))


class SettingsUpdateSchema(SettingsFieldsSchema):
    EXAMPLE = {
        "response_weight": 1.5,
        "resolution_weight": 1.5,
        "satisfaction_weight": 1.5,
        "basic_weight": 1.5,
        "bottom_townships": 1,
        "bottom_departments": 1,
        "effective_from": "2026-11-05",
        "note": "已电话联系居民，约定下午上门。",
    }

    effective_from = fields.Date(load_default=None, metadata={
        "description": "Beijing-time day from which they apply; today or later (default today)"})
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class SettingsValuesSchema(ma.Schema):
    EXAMPLE = {
        "response_weight": 0.5,
        "resolution_weight": 0.5,
        "satisfaction_weight": 0.5,
        "basic_weight": 0.5,
        "bottom_townships": 1,
        "bottom_departments": 1,
    }

    response_weight = fields.Float()
    resolution_weight = fields.Float()
    satisfaction_weight = fields.Float()
    basic_weight = fields.Float()
    bottom_townships = fields.Integer()
    bottom_departments = fields.Integer()


class SettingsVersionSchema(SettingsValuesSchema):
    EXAMPLE = {
        "response_weight": 0.5,
        "resolution_weight": 0.5,
        "satisfaction_weight": 0.5,
        "basic_weight": 0.5,
        "bottom_townships": 1,
        "bottom_departments": 1,
        "effective_from": "2026-11-05",
        "set_at": "2026-11-05T01:30:00+00:00",
        "set_by_user_id": "679cdf3f-fc2a-5b09-a522-9c95dbfd181e",
        "note": "已电话联系居民，约定下午上门。",
    }

    effective_from = fields.Date(allow_none=True, metadata={"description": "null: the default"})
    set_at = fields.AwareDateTime(allow_none=True)
    set_by_user_id = fields.UUID(allow_none=True)
    note = fields.String(allow_none=True)


class SettingsSchema(ma.Schema):
    EXAMPLE = {
        "district_id": "f265eabc-9467-5689-85e2-8ea14cd76cee",
        "in_force": {
            "response_weight": 0.5,
            "resolution_weight": 0.5,
            "satisfaction_weight": 0.5,
            "basic_weight": 0.5,
            "bottom_townships": 1,
            "bottom_departments": 1,
        },
        "history": [
            {
                "response_weight": 0.5,
                "resolution_weight": 0.5,
                "satisfaction_weight": 0.5,
                "basic_weight": 0.5,
                "bottom_townships": 1,
                "bottom_departments": 1,
                "effective_from": "2026-11-05",
                "set_at": "2026-11-05T01:30:00+00:00",
                "set_by_user_id": "679cdf3f-fc2a-5b09-a522-9c95dbfd181e",
                "note": "已电话联系居民，约定下午上门。",
            },
        ],
    }

    district_id = fields.UUID()
    in_force = fields.Nested(SettingsValuesSchema)
    history = fields.List(fields.Nested(SettingsVersionSchema))


class EvaluatedUnitSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "kind": "district",
        "code": "110105001",
        "name": "望京街道",
    }

    id = fields.UUID()
    kind = fields.Enum(TargetKind, by_value=True)
    code = fields.String()
    name = fields.String()


class EvaluationPeriodSchema(ma.Schema):
    EXAMPLE = {
        "kind": "day",
        "label": "2026-11",
        "first": "2026-11-05",
        "last": "2026-11-05",
        "start_utc": "2026-11-05T01:30:00+00:00",
        "end_utc": "2026-11-05T01:30:00+00:00",
    }

    kind = fields.Enum(PeriodKind, by_value=True)
    label = fields.String()
    first = fields.Date()
    last = fields.Date()
    start_utc = fields.AwareDateTime()
    end_utc = fields.AwareDateTime()


class FigureRateSchema(ma.Schema):
    EXAMPLE = {"numerator": 0.5, "denominator": 1, "rate": 0.5}

    numerator = fields.Float(metadata={"description": "Satisfaction: 满意 + w × 基本满意"})
    denominator = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "Percent, 2 decimals, half up"})


class EvaluationCountsSchema(ma.Schema):
    EXAMPLE = {
        "rated": 1,
        "resolved": 1,
        "satisfied": 1,
        "basically_satisfied": 1,
        "dissatisfied": 1,
        "rehandled": 1,
        "rehandlings": 1,
        "response_due": 1,
        "response_met": 1,
    }

    rated = fields.Integer()
    resolved = fields.Integer()
    satisfied = fields.Integer()
    basically_satisfied = fields.Integer()
    dissatisfied = fields.Integer()
    rehandled = fields.Integer(metadata={"description": "Rated cases handled more than once"})
    rehandlings = fields.Integer()
    response_due = fields.Integer()
    response_met = fields.Integer()


class ScoresSchema(ma.Schema):
    EXAMPLE = {
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "kind": "district",
            "code": "110105001",
            "name": "望京街道",
        },
        "period": PERIOD_EXAMPLE,
        "settings": {
            "response_weight": 0.5,
            "resolution_weight": 0.5,
            "satisfaction_weight": 0.5,
            "basic_weight": 0.5,
            "bottom_townships": 1,
            "bottom_departments": 1,
        },
        "counts": {
            "rated": 1,
            "resolved": 1,
            "satisfied": 1,
            "basically_satisfied": 1,
            "dissatisfied": 1,
            "rehandled": 1,
            "rehandlings": 1,
            "response_due": 1,
            "response_met": 1,
        },
        "response": {"numerator": 0.5, "denominator": 1, "rate": 0.5},
        "resolution": {"numerator": 0.5, "denominator": 1, "rate": 0.5},
        "satisfaction": {"numerator": 0.5, "denominator": 1, "rate": 0.5},
        "composite": 0.5,
    }

    unit = fields.Nested(EvaluatedUnitSchema)
    period = fields.Nested(EvaluationPeriodSchema)
    settings = fields.Nested(SettingsValuesSchema)
    counts = fields.Nested(EvaluationCountsSchema)
    response = fields.Nested(FigureRateSchema)
    resolution = fields.Nested(FigureRateSchema)
    satisfaction = fields.Nested(FigureRateSchema)
    composite = fields.Float(allow_none=True, metadata={"description": "0-100, 2 decimals"})


class ExplainItemSchema(ma.Schema):
    EXAMPLE = {
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
        "case_number": "2026-0000123",
        "counts_in": "numerator",
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
        "points": 0.5,
        "facts": {},
    }

    case_id = fields.UUID()
    case_number = fields.String()
    counts_in = fields.String(metadata={"description": "numerator | denominator | excluded"})
    reason = fields.String(metadata={"description": (
        "resolved, not_resolved, satisfied, basically_satisfied, dissatisfied, met, missed; "
        "excluded: exempted, linked_duplicate, superseded, cancelled_before_due")})
    points = fields.Float(allow_none=True)
    facts = fields.Dict(metadata={"description": "The rating or deadline the reason rests on"})


class ExplanationSchema(ma.Schema):
    EXAMPLE = {
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "kind": "district",
            "code": "110105001",
            "name": "望京街道",
        },
        "period": PERIOD_EXAMPLE,
        "figure": "response",
        "numerator": 0.5,
        "denominator": 1,
        "rate": 0.5,
        "excluded": {},
        "items": [
            {
                "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
                "case_number": "2026-0000123",
                "counts_in": "numerator",
                "reason": "该问题属于市政管理范围，应由城管执法队处置。",
                "points": 0.5,
                "facts": {},
            },
        ],
        "next_cursor": CURSOR_EXAMPLE,
    }

    unit = fields.Nested(EvaluatedUnitSchema)
    period = fields.Nested(EvaluationPeriodSchema)
    figure = fields.Enum(Figure, by_value=True)
    numerator = fields.Float()
    denominator = fields.Integer()
    rate = fields.Float(allow_none=True)
    excluded = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(ExplainItemSchema))
    next_cursor = fields.String(allow_none=True)


class RankingRowSchema(ma.Schema):
    EXAMPLE = {
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "code": "110105001",
        "name": "望京街道",
        "rank": 1,
        "previous_rank": 1,
        "rank_change": 1,
        "flagged": True,
        "rated": 1,
        "response_rate": 0.5,
        "resolution_rate": 0.5,
        "satisfaction_rate": 0.5,
        "composite": 0.5,
    }

    unit_id = fields.UUID()
    code = fields.String()
    name = fields.String()
    rank = fields.Integer(allow_none=True, metadata={"description": "null: not ranked"})
    previous_rank = fields.Integer(allow_none=True)
    rank_change = fields.Integer(allow_none=True, metadata={"description": "+ = moved up"})
    flagged = fields.Boolean(metadata={"description": "Among the bottom N (约谈)"})
    rated = fields.Integer()
    response_rate = fields.Float(allow_none=True)
    resolution_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)
    composite = fields.Float(allow_none=True)


class RankedDistrictSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "code": "110105001",
        "name": "望京街道",
    }

    id = fields.UUID()
    code = fields.String()
    name = fields.String()


class RankingSchema(ma.Schema):
    EXAMPLE = {
        "district": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "kind": "township",
        "period": PERIOD_EXAMPLE,
        "settings": {
            "response_weight": 0.5,
            "resolution_weight": 0.5,
            "satisfaction_weight": 0.5,
            "basic_weight": 0.5,
            "bottom_townships": 1,
            "bottom_departments": 1,
        },
        "bottom_n": 1,
        "rows": [
            {
                "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
                "code": "110105001",
                "name": "望京街道",
                "rank": 1,
                "previous_rank": 1,
                "rank_change": 1,
                "flagged": True,
                "rated": 1,
                "response_rate": 0.5,
                "resolution_rate": 0.5,
                "satisfaction_rate": 0.5,
                "composite": 0.5,
            },
        ],
        "flagged": [
            {
                "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
                "code": "110105001",
                "name": "望京街道",
                "rank": 1,
                "previous_rank": 1,
                "rank_change": 1,
                "flagged": True,
                "rated": 1,
                "response_rate": 0.5,
                "resolution_rate": 0.5,
                "satisfaction_rate": 0.5,
                "composite": 0.5,
            },
        ],
    }

    district = fields.Nested(RankedDistrictSchema)
    kind = fields.Enum(RankingKind, by_value=True)
    period = fields.Nested(EvaluationPeriodSchema)
    settings = fields.Nested(SettingsValuesSchema)
    bottom_n = fields.Integer()
    rows = fields.List(fields.Nested(RankingRowSchema))
    flagged = fields.List(fields.Nested(RankingRowSchema))


class TrendRowSchema(ma.Schema):
    EXAMPLE = {
        "period": "2026-11",
        "rated": 1,
        "response_due": 1,
        "response_rate": 0.5,
        "resolution_rate": 0.5,
        "satisfaction_rate": 0.5,
        "composite": 0.5,
    }

    period = fields.String()
    rated = fields.Integer()
    response_due = fields.Integer()
    response_rate = fields.Float(allow_none=True)
    resolution_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)
    composite = fields.Float(allow_none=True)


class TrendSchema(ma.Schema):
    EXAMPLE = {
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "kind": "district",
            "code": "110105001",
            "name": "望京街道",
        },
        "rows": [
            {
                "period": "2026-11",
                "rated": 1,
                "response_due": 1,
                "response_rate": 0.5,
                "resolution_rate": 0.5,
                "satisfaction_rate": 0.5,
                "composite": 0.5,
            },
        ],
    }

    unit = fields.Nested(EvaluatedUnitSchema)
    rows = fields.List(fields.Nested(TrendRowSchema))
