"""The evaluation over HTTP: 三率 of a unit, the cases behind a figure, rankings, the monthly
trend, and the district's settings (docs/evaluation.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import marshmallow as ma

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.evaluation import schemas as s
from server.api.openapi import may_answer
from server.api.tables import TableFormat, send_table, table_formats_doc
from server.reports import access, scores
from server.reports import settings as evaluation_settings
from server.reports.access import Target
from server.reports.periods import Period, PeriodKind, containing
from server.reports.scoring import (
    Counts,
    EvaluationSettings,
    Figure,
    Rates,
    percent,
    satisfaction_points,
)

blp = Blueprint("evaluation", __name__, url_prefix="evaluation",
                description="考评: the 三率, the composite, rankings and their drill-down")


def _number(value: Decimal | Fraction | None) -> float | None:
    return None if value is None else float(value)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Times as ISO 8601 with offset, like every other time the API writes."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def unit_view(t: Target) -> dict[str, Any]:
    return {"id": t.id, "kind": t.kind, "code": t.code, "name": t.name}


def period_view(p: Period) -> dict[str, Any]:
    return {"kind": p.kind, "label": p.label, "first": p.first, "last": p.last,
            "start_utc": p.start_utc, "end_utc": p.end_utc}


def settings_view(x: EvaluationSettings) -> dict[str, Any]:
    return {"response_weight": float(x.response_weight),
            "resolution_weight": float(x.resolution_weight),
            "satisfaction_weight": float(x.satisfaction_weight),
            "basic_weight": float(x.basic_weight), "bottom_townships": x.bottom_townships,
            "bottom_departments": x.bottom_departments}


def rate_parts(counts: Counts, r: Rates, settings: EvaluationSettings,
               figure: Figure) -> dict[str, Any]:
    if figure is Figure.RESPONSE:
        numerator, denominator = Fraction(counts.response_met), counts.response_due
    elif figure is Figure.RESOLUTION:
        numerator, denominator = Fraction(counts.resolved), counts.rated
    else:
        numerator = satisfaction_points(counts, settings.basic_weight)
        denominator = counts.rated
    return {"numerator": _number(numerator), "denominator": denominator,
            "rate": _number(percent(r.of(figure)))}


@blp.route("/scores", methods=["GET"])
@blp.arguments(s.ScoresArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.ScoresSchema)
@table_formats_doc()
@may_answer("permission_denied", "unit_not_evaluated", "unit_not_found")
def get_scores(args):
    """The 三率 and the composite of a unit or grid for a period"""
    session, actor = ctx.session(), ctx.current_actor()
    target = access.target_for(session, actor, args["unit_id"])
    result = scores.unit_scores(session, unit_id=target.id, period=args["period"],
                                as_of=ctx.request_now())
    if args["format"] is not TableFormat.JSON:
        return send_table(scores.unit_scores_table(result), args["format"])
    return {"unit": unit_view(target), "period": period_view(result.period),
            "settings": settings_view(result.settings), "counts": vars(result.counts),
            **{f.value: rate_parts(result.counts, result.rates, result.settings, f)
               for f in Figure},
            "composite": _number(result.percents["composite"])}


@blp.route("/scores/cases", methods=["GET"])
@blp.arguments(s.ExplainArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.ExplanationSchema)
@table_formats_doc()
@may_answer("invalid_cursor", "permission_denied", "unit_not_evaluated", "unit_not_found")
def explain_scores(args):
    """The cases behind one figure: numerator, denominator and those left out, with reasons

    With format csv or xlsx the file holds every case (all pages), not one page."""
    session, actor = ctx.session(), ctx.current_actor()
    target = access.target_for(session, actor, args["unit_id"])
    if args["format"] is not TableFormat.JSON:
        table = scores.explanation_table(session, unit_id=target.id, period=args["period"],
                                         figure=args["figure"], as_of=ctx.request_now())
        return send_table(table, args["format"])
    e = scores.explain(session, unit_id=target.id, period=args["period"], figure=args["figure"],
                       cursor=args["cursor"], limit=args["limit"], as_of=ctx.request_now())
    items = [{**vars(i), "points": _number(i.points), "facts": _plain(i.facts)} for i in e.items]
    return {"unit": unit_view(target), "period": period_view(e.period), "figure": e.figure,
            **rate_parts(e.counts, e.rates, e.settings, e.figure), "excluded": e.excluded,
            "items": items, "next_cursor": e.next_cursor}


def ranking_row_view(r: scores.RankingRow) -> dict[str, Any]:
    return {"unit_id": r.unit_id, "code": r.code, "name": r.name, "rank": r.rank,
            "previous_rank": r.previous_rank, "rank_change": r.rank_change,
            "flagged": r.flagged, "rated": r.counts.rated,
            "response_rate": _number(percent(r.rates.response)),
            "resolution_rate": _number(percent(r.rates.resolution)),
            "satisfaction_rate": _number(percent(r.rates.satisfaction)),
            "composite": _number(r.composite)}


@blp.route("/rankings", methods=["GET"])
@blp.arguments(s.RankingArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.RankingSchema)
@table_formats_doc()
@may_answer("district_not_found", "permission_denied")
def get_ranking(args):
    """A district's townships or departments ranked for a period, the bottom N flagged"""
    session, actor = ctx.session(), ctx.current_actor()
    district = access.ranking_district_for(session, actor, args["district_id"], args["kind"])
    r = scores.ranking(session, district_id=district.id, kind=args["kind"],
                       period=args["period"], as_of=ctx.request_now())
    if args["format"] is not TableFormat.JSON:
        return send_table(scores.ranking_table(r), args["format"])
    return {"district": {"id": district.id, "code": district.code, "name": district.name},
            "kind": r.kind, "period": period_view(r.period), "settings": settings_view(r.settings),
            "bottom_n": r.bottom_n, "rows": [ranking_row_view(x) for x in r.rows],
            "flagged": [ranking_row_view(x) for x in r.flagged]}


@blp.route("/trend", methods=["GET"])
@blp.arguments(s.TrendArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.TrendSchema)
@table_formats_doc()
@may_answer("permission_denied", "unit_not_evaluated", "unit_not_found")
def get_trend(args):
    """A unit's 三率 and composite month by month (the chart of the monthly report)"""
    session, actor, now = ctx.session(), ctx.current_actor(), ctx.request_now()
    target = access.target_for(session, actor, args["unit_id"])
    last = args["last"] or containing(PeriodKind.MONTH, now)
    table = scores.monthly_trend(session, unit_id=target.id, last=last, months=args["months"],
                                 as_of=now)
    if args["format"] is not TableFormat.JSON:
        return send_table(table, args["format"])
    rows = [{k: (_number(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
            for row in table.rows]
    return {"unit": unit_view(target), "rows": rows}


def settings_answer(district_id, in_force, versions) -> dict[str, Any]:  # noqa: ANN001
    history = [{**settings_view(v.settings), "effective_from": v.effective_from,
                "set_at": v.row.set_at if v.row else None,
                "set_by_user_id": v.row.set_by_user_id if v.row else None,
                "note": v.row.note if v.row else None} for v in versions]
    return {"district_id": district_id, "in_force": settings_view(in_force), "history": history}


@blp.route("/settings", methods=["GET"])
@blp.arguments(s.SettingsArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.SettingsSchema)
@may_answer("district_not_found", "permission_denied", "settings_not_editable")
def get_settings(args):
    """A district's evaluation settings in force today, and their history"""
    in_force, versions = evaluation_settings.current(
        ctx.session(), ctx.current_actor(), district_id=args["district_id"],
        now=ctx.request_now())
    return settings_answer(args["district_id"], in_force, versions)


@blp.route("/settings", methods=["PUT"])
@blp.arguments(s.SettingsArgsSchema, location="query", unknown=ma.RAISE)
@blp.arguments(s.SettingsUpdateSchema)
@blp.response(200, s.SettingsSchema)
@may_answer("district_not_found", "invalid_settings", "settings_not_editable")
def put_settings(args, body):
    """Put new settings in force from a day on (admins and the district's dispatchers)"""
    session, actor, now = ctx.session(), ctx.current_actor(), ctx.request_now()
    effective_from, note = body.pop("effective_from"), body.pop("note")
    evaluation_settings.change_settings(
        session, actor, district_id=args["district_id"], settings=EvaluationSettings(**body),
        effective_from=effective_from, note=note, now=now)
    in_force, versions = evaluation_settings.current(session, actor,
                                                     district_id=args["district_id"], now=now)
    return settings_answer(args["district_id"], in_force, versions)
