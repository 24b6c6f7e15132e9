"""Query arguments and answers of the evaluation endpoints (docs/evaluation.md)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema
from server.api.tables import FormatArgsSchema
from server.reports.access import RankingKind, TargetKind
from server.reports.periods import BadPeriod, PeriodKind, parse
from server.reports.scoring import Figure


class PeriodArgsSchema(FormatArgsSchema):
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
    unit_id = fields.UUID(required=True, metadata={
        "description": "A district, township, community, department or grid"})


class ExplainArgsSchema(ScoresArgsSchema):
    figure = fields.Enum(Figure, by_value=True, required=True)
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class RankingArgsSchema(PeriodArgsSchema):
    district_id = fields.UUID(required=True)
    kind = fields.Enum(RankingKind, by_value=True, load_default=RankingKind.TOWNSHIP)


class TrendArgsSchema(FormatArgsSchema):
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
    district_id = fields.UUID(required=True)


class SettingsFieldsSchema(StrictSchema):
    response_weight = fields.Decimal(required=True, metadata={"description": "% of composite"})
    resolution_weight = fields.Decimal(required=True)
    satisfaction_weight = fields.Decimal(required=True)
    basic_weight = fields.Decimal(required=True, metadata={
        "description": "How much 基本满意 counts in the satisfaction rate, 0-1 (default 0.8)"})
    bottom_townships = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    bottom_departments = fields.Integer(required=True, validate=validate.Range(min=0, max=100))


class SettingsUpdateSchema(SettingsFieldsSchema):
    effective_from = fields.Date(load_default=None, metadata={
        "description": "Beijing-time day from which they apply; today or later (default today)"})
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class SettingsValuesSchema(ma.Schema):
    response_weight = fields.Float()
    resolution_weight = fields.Float()
    satisfaction_weight = fields.Float()
    basic_weight = fields.Float()
    bottom_townships = fields.Integer()
    bottom_departments = fields.Integer()


class SettingsVersionSchema(SettingsValuesSchema):
    effective_from = fields.Date(allow_none=True, metadata={"description": "null: the default"})
    set_at = fields.AwareDateTime(allow_none=True)
    set_by_user_id = fields.UUID(allow_none=True)
    note = fields.String(allow_none=True)


class SettingsSchema(ma.Schema):
    district_id = fields.UUID()
    in_force = fields.Nested(SettingsValuesSchema)
    history = fields.List(fields.Nested(SettingsVersionSchema))


class EvaluatedUnitSchema(ma.Schema):
    id = fields.UUID()
    kind = fields.Enum(TargetKind, by_value=True)
    code = fields.String()
    name = fields.String()


class EvaluationPeriodSchema(ma.Schema):
    kind = fields.Enum(PeriodKind, by_value=True)
    label = fields.String()
    first = fields.Date()
    last = fields.Date()
    start_utc = fields.AwareDateTime()
    end_utc = fields.AwareDateTime()


class FigureRateSchema(ma.Schema):
    numerator = fields.Float(metadata={"description": "Satisfaction: 满意 + w × 基本满意"})
    denominator = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "Percent, 2 decimals, half up"})


class EvaluationCountsSchema(ma.Schema):
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
    unit = fields.Nested(EvaluatedUnitSchema)
    period = fields.Nested(EvaluationPeriodSchema)
    settings = fields.Nested(SettingsValuesSchema)
    counts = fields.Nested(EvaluationCountsSchema)
    response = fields.Nested(FigureRateSchema)
    resolution = fields.Nested(FigureRateSchema)
    satisfaction = fields.Nested(FigureRateSchema)
    composite = fields.Float(allow_none=True, metadata={"description": "0-100, 2 decimals"})


class ExplainItemSchema(ma.Schema):
    case_id = fields.UUID()
    case_number = fields.String()
    counts_in = fields.String(metadata={"description": "numerator | denominator | excluded"})
    reason = fields.String(metadata={"description": (
        "resolved, not_resolved, satisfied, basically_satisfied, dissatisfied, met, missed; "
        "excluded: exempted, linked_duplicate, superseded, cancelled_before_due")})
    points = fields.Float(allow_none=True)
    facts = fields.Dict(metadata={"description": "The rating or deadline the reason rests on"})


class ExplanationSchema(ma.Schema):
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


class RankingSchema(ma.Schema):
    district = fields.Dict()
    kind = fields.Enum(RankingKind, by_value=True)
    period = fields.Nested(EvaluationPeriodSchema)
    settings = fields.Nested(SettingsValuesSchema)
    bottom_n = fields.Integer()
    rows = fields.List(fields.Nested(RankingRowSchema))
    flagged = fields.List(fields.Nested(RankingRowSchema))


class TrendRowSchema(ma.Schema):
    period = fields.String()
    rated = fields.Integer()
    response_due = fields.Integer()
    response_rate = fields.Float(allow_none=True)
    resolution_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)
    composite = fields.Float(allow_none=True)


class TrendSchema(ma.Schema):
    unit = fields.Nested(EvaluatedUnitSchema)
    rows = fields.List(fields.Nested(TrendRowSchema))
