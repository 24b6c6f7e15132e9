"""Unit statistics beside the 三率, 双否/非双是 and repeat lists, the whistle side of 双考评,
hotspots and 每月一题. Every figure goes through ``server.reports.access`` (404 outside
one's scope, 403 for grid workers); ``format=csv|xlsx`` answers the report table."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.insights import schemas as s
from server.api.openapi import may_answer
from server.api.tables import TableFormat, send_table, table_formats_doc, table_json
from server.cases.queries import log_personal_data_access
from server.reports import hotspots, tracked, unit_stats, whistle_side
from server.reports.access import RankingKind, Target, ranking_district_for, target_for
from server.reports.repeats import repeat_table
from server.reports.tables import Table

blp = Blueprint("insights", __name__, url_prefix="",
                description="Unit statistics, whistle-call evaluation, hotspots, 每月一题")


def _unit(target: Target) -> dict[str, Any]:
    return {"id": target.id, "code": target.code, "name": target.name,
            "kind": target.kind}


def _answer(table: Table, fmt: TableFormat, json_body: Any) -> Any:  # noqa: ANN401
    return json_body if fmt is TableFormat.JSON else send_table(table, fmt)


def _target(args: dict) -> Target:
    return target_for(ctx.session(), ctx.current_actor(), args["unit_id"])


@blp.route("/evaluation/unit-stats", methods=["GET"])
@blp.arguments(s.UnitPeriodArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.UnitStatsSchema)
@table_formats_doc()
@may_answer("permission_denied", "unit_has_no_territory", "unit_not_evaluated", "unit_not_found")
def get_unit_stats(args):
    """A unit's workload, returns, re-handling, 万人诉求比 and repeat counts for a period"""
    target = _target(args)
    table = unit_stats.unit_stats(ctx.session(), unit_id=target.id, period=args["period"],
                                  target=target)
    row = table.rows[0]
    body = {**row, "unit": _unit(target), "per_10k_residents": {
        "appeals": row["appeals"], "population": row["population"],
        "value": row["per_10k_residents"], "reason": row["per_10k_reason"]}}
    return _answer(table, args["format"], body)


@blp.route("/evaluation/double-no", methods=["GET"])
@blp.arguments(s.RatingListArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.RatingListSchema)
@table_formats_doc()
@may_answer("permission_denied", "unit_has_no_territory", "unit_not_evaluated", "unit_not_found")
def get_rating_list(args):
    """双否 or 非双是 cases of a unit in a period, by their final rating"""
    target = _target(args)
    table = unit_stats.rating_list(ctx.session(), target=target, period=args["period"],
                                   which=args["list"])
    return _answer(table, args["format"], {"unit": _unit(target), "period": args["period"].label,
                                           "list": args["list"], "items": table.rows})


@blp.route("/evaluation/repeat-complaints", methods=["GET"])
@blp.arguments(s.UnitPeriodArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.RepeatListSchema)
@table_formats_doc()
@may_answer("permission_denied", "unit_not_evaluated", "unit_not_found")
def get_repeat_complaints(args):
    """Repeat complaints of a unit in a period: the same phone, or the same place and category"""
    actor, session = ctx.current_actor(), ctx.session()
    target = _target(args)
    table, shown = repeat_table(session, actor, target, args["period"])
    for case in shown:  # the regulation's duty: who saw a resident's phone, and when
        log_personal_data_access(session, actor, case, "repeat_report", now=ctx.request_now())
    items = [{**r, "by": "phone" if r["by"] == "同号码" else "place",
              "case_numbers": r["case_numbers"].split()} for r in table.rows]
    return _answer(table, args["format"], {"unit": _unit(target), "period": args["period"].label,
                                           "items": items})


@blp.route("/evaluation/whistle", methods=["GET"])
@blp.arguments(s.WhistleArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.PeriodTableSchema)
@table_formats_doc()
@may_answer("district_not_found", "permission_denied")
def get_whistle_evaluation(args):
    """双考评 from whistle calls: departments' arrivals and ratings, or townships' calls"""
    departments = args["side"] == "departments"
    kind = RankingKind.DEPARTMENT if departments else RankingKind.TOWNSHIP
    district = ranking_district_for(ctx.session(), ctx.current_actor(), args["district_id"], kind)
    build = whistle_side.department_side if departments else whistle_side.township_side
    table = build(ctx.session(), district_id=district.id, period=args["period"],
                  now=ctx.request_now())
    return _answer(table, args["format"], {**table_json(table), "period": args["period"].label,
                                           "previous_period": None})


def _hotspot_answer(table: Table, args: dict) -> Any:  # noqa: ANN401
    period = args["period"]
    return _answer(table, args["format"], {**table_json(table), "period": period.label,
                                           "previous_period": period.previous().label})


@blp.route("/hotspots", methods=["GET"])
@blp.arguments(s.HotspotArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.PeriodTableSchema)
@table_formats_doc()
@may_answer("permission_denied", "unit_has_no_territory", "unit_not_evaluated", "unit_not_found")
def get_hotspots(args):
    """Cases by category × grid (or × township) in a period, against the previous period"""
    target = _target(args)
    table = hotspots.category_grid_counts(ctx.session(), area_unit_id=target.id,
                                          period=args["period"], by=args["by"],
                                          category_prefix=args["category"])
    return _hotspot_answer(table, args)


@blp.route("/hotspots/rising", methods=["GET"])
@blp.arguments(s.RisingArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.PeriodTableSchema)
@table_formats_doc()
@may_answer("permission_denied", "unit_has_no_territory", "unit_not_evaluated", "unit_not_found")
def get_rising(args):
    """The categories that grew most against the previous period"""
    target = _target(args)
    table = hotspots.rising(ctx.session(), area_unit_id=target.id, period=args["period"],
                            limit=args["limit"])
    return _hotspot_answer(table, args)


@blp.route("/hotspots/clusters", methods=["GET"])
@blp.arguments(s.ClusterArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.PeriodTableSchema)
@table_formats_doc()
@may_answer("permission_denied", "too_many_points", "unit_has_no_territory", "unit_not_evaluated",
            "unit_not_found")
def get_clusters(args):
    """Where cases of one category pile up in a period (DBSCAN over metres)"""
    target = _target(args)
    table = hotspots.clusters(ctx.session(), area_unit_id=target.id, period=args["period"],
                              category_code=args["category"], eps_m=args["eps_m"],
                              min_points=args["min_points"])
    return _answer(table, args["format"], {**table_json(table), "period": args["period"].label,
                                           "previous_period": None})


@blp.route("/tracked-problems", methods=["POST"])
@blp.arguments(s.TrackedProblemCreateSchema)
@blp.response(201, s.TrackedProblemSchema)
@may_answer("unit_has_no_territory", "unit_not_evaluated", "unit_not_found", "unknown_category")
def create_tracked_problem(body):
    """每月一题: a district dispatcher tracks a problem (categories, area, start day)"""
    return tracked.create_tracked_problem(ctx.session(), ctx.current_actor(),
                                          now=ctx.request_now(), **body)


@blp.route("/tracked-problems", methods=["GET"])
@blp.arguments(s.TrackedListArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.TrackedProblemSchema(many=True))
@may_answer("district_not_found", "permission_denied", "settings_not_editable")
def list_tracked_problems(args):
    """A district's tracked problems, newest start first"""
    return tracked.list_tracked_problems(ctx.session(), ctx.current_actor(), **args)


@blp.route("/tracked-problems/<uuid:problem_id>", methods=["GET"])
@blp.arguments(s.TrackedDetailArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, s.TrackedProblemDetailSchema)
@table_formats_doc()
@may_answer("district_not_found", "permission_denied", "settings_not_editable",
            "unit_has_no_territory", "unit_not_found")
def get_tracked_problem(args, problem_id: uuid.UUID):
    """A tracked problem with its monthly counts before and after the start"""
    session = ctx.session()
    problem = tracked.get_tracked_problem_for(session, ctx.current_actor(), problem_id)
    trend = tracked.monthly_counts(session, problem, now=ctx.request_now(),
                                   months_before=args["months_before"])
    table = tracked.trend_table(problem, trend)
    body = {**{k: getattr(problem, k) for k in (
        "id", "title", "description", "category_codes", "area_unit_id", "district_id",
        "starts_on", "created_at", "created_by_user_id")},
        "months": [{"month": m.month.label, "phase": m.phase, "count": m.count,
                    "partial": m.partial} for m in trend.months],
        "mean_before": trend.mean_before, "mean_after": trend.mean_after,
        "change_percent": trend.change_percent}
    return _answer(table, args["format"], body)
