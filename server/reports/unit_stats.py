"""Per unit and period, beside the 三率: workload, returns, re-handling, 万人诉求比, 双否/非双是.

Every figure is one aggregate query over the period's facts (deadlines, returns, ratings,
cases), judged with what was recorded before the period's end, so a closed period
recomputes to the same numbers. Definitions: docs/evaluation.md, "Unit statistics".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.cases.models import Case, CaseRating, CaseReturn
from server.cases.rules import Satisfaction
from server.core.errors import NotFound
from server.org.models import Unit
from server.reports.access import Target, TargetKind, load_target
from server.reports.areas import load_area
from server.reports.facts import (
    cancelled_before_due,
    counted_case,
    leads_of,
    ratings_in,
    superseded_in,
)
from server.reports.periods import Period
from server.reports.repeats import repeat_counts
from server.reports.tables import Column, ColumnType, Table
from server.supervision.models import Deadline
from server.supervision.rules import DeadlineKind

CASE = "case"  # Deadline.subject_type of a case's deadlines

# A period's dispatches (response deadlines by starts_at) and completions (completion
# deadlines by met_at) of the case deadlines; overdue uses (subject_type, kind, due_at) of
# migration 0016. Declared here, with the queries that need them (migration 0017). Bench, a
# township month of a 1,000,000-case year: 1.3 s -> 0.45 s for the workload counts.
sa.Index("ix_deadlines_subject_kind_starts", Deadline.subject_type, Deadline.kind,
         Deadline.starts_at)
sa.Index("ix_deadlines_subject_kind_met", Deadline.subject_type, Deadline.kind, Deadline.met_at)
PER_RESIDENTS = 10_000


def percent(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator in percent, half-up to 2 decimals; None over zero."""
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / denominator).quantize(Decimal("0.01"), ROUND_HALF_UP)


def per_10k(cases: int, population: int | None) -> Decimal | None:
    if not population:
        return None
    return (Decimal(cases) * PER_RESIDENTS / population).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Scope:
    """How the target's rows are picked: by the unit that held them, or by the case's place."""

    unit_ids: list[uuid.UUID] | None
    territory: sa.ColumnElement[bool] | None

    def by_unit(self, column: sa.ColumnElement, case_id: sa.ColumnElement
                ) -> sa.ColumnElement[bool]:
        if self.unit_ids is not None:
            return column.in_(self.unit_ids)
        return case_id.in_(sa.select(Case.id).where(self.territory))


def scope_of(session: Session, target: Target) -> Scope:
    """A unit answers for what its lead units led (``facts.leads_of``, the 三率's rollup:
    outposts count for their district department, not the township); a grid for the cases
    located in it."""
    if target.kind is TargetKind.GRID:
        return Scope(None, load_area(session, target.id).clause)
    return Scope(sorted(leads_of(session, target)), None)


def final_ratings(scope: Scope, period: Period) -> sa.Select:
    """(CaseRating, Case) of the period's rated cases (考核件) the target answers for: each
    case's last rating recorded in the period, judged against its lead then; cases exempted
    or linked to a master before the period's end are left out (the 三率's conditions,
    ``server.reports.facts``)."""
    end = period.end_utc
    return (sa.select(CaseRating, Case).join(Case, Case.id == CaseRating.case_id)
            .where(ratings_in(period), ~superseded_in(CaseRating, period), counted_case(end),
                   scope.by_unit(CaseRating.lead_unit_id, CaseRating.case_id)))


def _deadline_count(session: Session, scope: Scope, kind: DeadlineKind,
                    *where: sa.ColumnElement[bool]) -> int:
    return session.scalar(
        sa.select(sa.func.count(sa.distinct(Deadline.subject_id))).where(
            Deadline.subject_type == CASE, Deadline.kind == kind,
            scope.by_unit(Deadline.unit_id, Deadline.subject_id), *where)) or 0


def _workload(session: Session, scope: Scope, period: Period) -> dict[str, int]:
    s, e = period.start_utc, period.end_utc
    received = _deadline_count(session, scope, DeadlineKind.RESPONSE,
                               Deadline.starts_at >= s, Deadline.starts_at < e)
    completed = _deadline_count(session, scope, DeadlineKind.COMPLETION,
                                Deadline.met_at >= s, Deadline.met_at < e)
    overdue = _deadline_count(
        session, scope, DeadlineKind.COMPLETION, Deadline.due_at >= s, Deadline.due_at < e,
        sa.or_(Deadline.met_at.is_(None), Deadline.met_at > Deadline.due_at),
        ~cancelled_before_due())
    decided = sa.and_(CaseReturn.decided_at >= s, CaseReturn.decided_at < e,
                      CaseReturn.approved.is_(True))
    unit_clause = scope.by_unit(CaseReturn.unit_id, CaseReturn.case_id)
    requested, returned, with_fault = session.execute(sa.select(
        sa.func.sum(sa.case((sa.and_(CaseReturn.requested_at >= s,
                                     CaseReturn.requested_at < e), 1), else_=0)),
        sa.func.sum(sa.case((decided, 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(decided, CaseReturn.with_fault.is_(True)), 1), else_=0)),
    ).where(unit_clause, sa.or_(sa.and_(CaseReturn.requested_at >= s, CaseReturn.requested_at < e),
                                sa.and_(CaseReturn.decided_at >= s, CaseReturn.decided_at < e)))
    ).one()
    return {"received": received, "completed": completed, "overdue": overdue,
            "return_requests": int(requested or 0), "returned": int(returned or 0),
            "returned_with_fault": int(with_fault or 0)}


def _ratings(session: Session, scope: Scope, period: Period) -> dict[str, int]:
    final = final_ratings(scope, period).subquery()
    r = final.c
    rated, rehandled, rehandlings, not_double_yes, double_no = session.execute(sa.select(
        sa.func.count(),
        sa.func.sum(sa.case((r.rehandle_count > 0, 1), else_=0)),
        sa.func.sum(r.rehandle_count),
        sa.func.sum(sa.case((r.double_yes.is_(False), 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(r.resolved.is_(False),
                                     r.satisfaction == Satisfaction.DISSATISFIED), 1), else_=0)),
    ).select_from(final)).one()
    return {"rated": rated or 0, "rehandled_cases": int(rehandled or 0),
            "rehandlings": int(rehandlings or 0), "not_double_yes": int(not_double_yes or 0),
            "double_no": int(double_no or 0)}


@dataclass(frozen=True)
class Per10k:
    appeals: int | None  # cases received in the period in the unit's territory
    population: int | None
    value: Decimal | None
    reason: str | None  # why there is no value


def per_10k_residents(session: Session, target: Target, period: Period) -> Per10k:
    """万人诉求比: appeals from the unit's territory per 10,000 of its residents. Refused (no
    value, a reason) for a unit without a recorded population and for departments."""
    if target.kind is TargetKind.DEPARTMENT:
        return Per10k(None, None, None, "A department has no territory or residents.")
    area = load_area(session, target.id)
    appeals = session.scalar(sa.select(sa.func.count()).where(
        area.clause, Case.received_at >= period.start_utc, Case.received_at < period.end_utc,
        sa.or_(Case.linked_at.is_(None), Case.linked_at >= period.end_utc))) or 0
    if not area.population:
        return Per10k(appeals, area.population, None,
                      f"{area.name} has no population recorded; the 万人诉求比 is not computed.")
    return Per10k(appeals, area.population, per_10k(appeals, area.population), None)


COLUMNS = [
    Column("unit_code", "单位编码"), Column("unit_name", "单位"), Column("period", "期间"),
    Column("received", "受理量", ColumnType.INTEGER),
    Column("completed", "办结量", ColumnType.INTEGER),
    Column("overdue", "超期件", ColumnType.INTEGER),
    Column("return_requests", "退单申请", ColumnType.INTEGER),
    Column("returned", "退单量", ColumnType.INTEGER),
    Column("returned_with_fault", "有责退单", ColumnType.INTEGER),
    Column("return_rate", "退单率", ColumnType.PERCENT),
    Column("rated", "考核件", ColumnType.INTEGER),
    Column("rehandled_cases", "二次办理件", ColumnType.INTEGER),
    Column("rehandlings", "二次办理次数", ColumnType.INTEGER),
    Column("not_double_yes", "非双是", ColumnType.INTEGER),
    Column("double_no", "双否", ColumnType.INTEGER),
    Column("appeals", "辖区诉求量", ColumnType.INTEGER),
    Column("population", "人口", ColumnType.INTEGER),
    Column("per_10k_residents", "万人诉求比", ColumnType.NUMBER),
    Column("repeat_phone_groups", "同号码重复诉求(组)", ColumnType.INTEGER),
    Column("repeat_place_groups", "同地点同类重复诉求(组)", ColumnType.INTEGER),
]


def unit_stats(session: Session, *, unit_id: uuid.UUID, period: Period,
               target: Target | None = None) -> Table:
    """One row of the unit's figures for the period (``target`` as ``access.target_for``
    returned it, or loaded without a scope check)."""
    target = target or load_target(session, unit_id)
    if target is None:
        raise NotFound("No such unit.", code="unit_not_found")
    scope = scope_of(session, target)
    work = _workload(session, scope, period)
    per = per_10k_residents(session, target, period)
    phone_groups, place_groups = repeat_counts(session, target, period)
    row = {"unit_code": target.code, "unit_name": target.name, "period": period.label, **work,
           "return_rate": percent(work["returned"], work["received"]),
           **_ratings(session, scope, period),
           "appeals": per.appeals, "population": per.population,
           "per_10k_residents": per.value, "per_10k_reason": per.reason,
           "repeat_phone_groups": phone_groups, "repeat_place_groups": place_groups}
    notes = ["定义见 docs/evaluation.md「单位统计」:受理量=期内派至本单位(或下级)的工单数;"
             "考核件、二次办理、双否、非双是按期内最后一次回访计。"]
    if per.reason:
        notes.append(per.reason)
    return Table(name=f"unit-stats-{target.code}-{period.label.replace('/', '_')}",
                 title=f"{period.label} {target.name} 单位统计", columns=COLUMNS, rows=[row],
                 notes=notes)


DOUBLE_NO, NOT_DOUBLE_YES = "double_no", "not_double_yes"
SATISFACTION_TITLES = {Satisfaction.SATISFIED: "满意",
                       Satisfaction.BASICALLY_SATISFIED: "基本满意",
                       Satisfaction.DISSATISFIED: "不满意"}


def rating_list(session: Session, *, target: Target, period: Period,
                which: str = DOUBLE_NO) -> Table:
    """双否 (neither resolved nor satisfied) or 非双是 (not both resolved and satisfied) among
    the period's rated cases of the unit, by their final rating; oldest rating first."""
    scope = scope_of(session, target)
    query = final_ratings(scope, period)
    if which == DOUBLE_NO:
        query = query.where(CaseRating.resolved.is_(False),
                            CaseRating.satisfaction == Satisfaction.DISSATISFIED)
    else:
        query = query.where(CaseRating.double_yes.is_(False))
    found = session.execute(query.order_by(CaseRating.recorded_at, Case.number)).all()
    leads = {u.id: u for u in session.scalars(sa.select(Unit).where(
        Unit.id.in_({r.lead_unit_id for r, _ in found})))} if found else {}
    rows = [{"case_id": c.id, "number": c.number, "title": c.title,
             "category_code": c.category_code,
             "lead_unit_code": leads[r.lead_unit_id].code,
             "lead_unit_name": leads[r.lead_unit_id].name, "recorded_at": r.recorded_at,
             "resolved": r.resolved, "satisfaction": r.satisfaction.value,
             "satisfaction_title": SATISFACTION_TITLES[r.satisfaction],
             "rehandle_count": r.rehandle_count} for r, c in found]
    title = "双否" if which == DOUBLE_NO else "非双是"
    return Table(
        name=f"{which.replace('_', '-')}-{target.code}-{period.label.replace('/', '_')}",
        title=f"{period.label} {target.name} {title}件",
        columns=[Column("number", "工单编号"), Column("title", "标题"),
                 Column("category_code", "类别"), Column("lead_unit_name", "承办单位"),
                 Column("recorded_at", "回访时间", ColumnType.DATETIME),
                 Column("resolved", "是否解决", ColumnType.BOOLEAN),
                 Column("satisfaction_title", "满意度"),
                 Column("rehandle_count", "二次办理次数", ColumnType.INTEGER)],
        rows=rows,
        notes=["按期内最后一次回访计;剔除件与已关联到主件的重复件不计。"
               + ("双否:未解决且不满意。" if which == DOUBLE_NO else "非双是:未解决或不是满意。")])
