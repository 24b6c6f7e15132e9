"""每月一题: a problem a district chose to act on, and its monthly counts before and after.

Beijing picks high-frequency problems by category and place and acts before residents call
(主动治理、未诉先办; 27 problems city-wide, DOMAIN.md step 10). A district dispatcher (or an
admin) names the categories, the territory and the day the action starts; the counts per
Beijing month of cases received in that territory in those categories show whether the
calls went down (a duplicate linked to its master before the month's end counts once, as in
the hotspots). The counts are computed from cases each time, never stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.cases.models import Case
from server.core.errors import Invalid, NotFound
from server.org.rules import Role
from server.reports import access, periods
from server.reports.areas import category_clause, category_names, load_area
from server.reports.hotspots import not_linked_by
from server.reports.periods import Period, PeriodKind
from server.reports.tables import Column, ColumnType, Table
from server.reports.tracked_models import TrackedProblem

TRACK_ROLES = frozenset({Role.ADMIN, Role.DISTRICT_DISPATCHER})
DEFAULT_MONTHS_BEFORE = 6
MAX_MONTHS = 36

BEFORE, START, AFTER = "before", "start", "after"
PHASE_TITLES = {BEFORE: "实施前", START: "起始月", AFTER: "实施后"}


def create_tracked_problem(session: Session, actor: Actor, *, title: str,
                           category_codes: list[str], area_unit_id: uuid.UUID,
                           starts_on: date, description: str | None = None,
                           now: datetime) -> TrackedProblem:
    """A district dispatcher (or an admin) tracks a problem in a territory of their district."""
    actor.require(TRACK_ROLES, "choose a 每月一题 problem")
    target = access.target_for(session, actor, area_unit_id)  # 404 outside one's district
    if target.kind is access.TargetKind.GRID:
        raise Invalid.for_field("area_unit_id", "Track a problem in a district, township or "
                                "community.", code="unit_has_no_territory")
    load_area(session, area_unit_id)  # a department has no territory: refused
    if target.district_id is None:
        raise Invalid.for_field("area_unit_id", "The area must lie in a district.")
    codes = sorted(set(category_codes))
    unknown = sorted(set(codes) - set(category_names(session, set(codes))))
    if unknown:
        raise Invalid.for_field("category_codes", "Not in the dispatch catalogue: "
                                + ", ".join(unknown) + ".", code="unknown_category")
    problem = TrackedProblem(title=title, description=description, category_codes=codes,
                             area_unit_id=area_unit_id, district_id=target.district_id,
                             starts_on=starts_on, created_at=now, created_by_user_id=actor.user_id)
    session.add(problem)
    session.flush()
    return problem


def list_tracked_problems(session: Session, actor: Actor, *,
                          district_id: uuid.UUID) -> list[TrackedProblem]:
    """A district's tracked problems, newest start first: for whoever sees the district's
    evaluation (the problems are the district's public agenda, like its rankings)."""
    access.settings_district_for(session, actor, district_id, edit=False)
    return list(session.scalars(
        sa.select(TrackedProblem).where(TrackedProblem.district_id == district_id)
        .order_by(TrackedProblem.starts_on.desc(), TrackedProblem.created_at.desc())))


def get_tracked_problem_for(session: Session, actor: Actor,
                            problem_id: uuid.UUID) -> TrackedProblem:
    access.require_reader(actor)
    problem = session.get(TrackedProblem, problem_id)
    try:
        if problem is not None:
            access.settings_district_for(session, actor, problem.district_id, edit=False)
    except NotFound:
        problem = None
    if problem is None:
        raise NotFound("No such tracked problem.", code="tracked_problem_not_found")
    return problem


@dataclass(frozen=True)
class MonthCount:
    month: Period
    phase: str
    count: int
    partial: bool  # the month has not ended yet (at ``now``)


@dataclass(frozen=True)
class ProblemTrend:
    months: list[MonthCount]
    mean_before: Decimal | None  # per full month before the start month
    mean_after: Decimal | None  # per full month from the start (a mid-month start excluded)
    change_percent: Decimal | None


def phase_of(month: Period, starts_on: date) -> str:
    """Before: ended before the start day; after: began on or after it; else the start month."""
    if month.last < starts_on:
        return BEFORE
    return AFTER if month.first >= starts_on else START


def _mean(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def trend_of(months: list[MonthCount]) -> ProblemTrend:
    """Means over full months only: a partial month would pull the 'after' mean down."""
    before = [m.count for m in months if m.phase == BEFORE and not m.partial]
    after = [m.count for m in months if m.phase == AFTER and not m.partial]
    mean_before, mean_after = _mean(before), _mean(after)
    change = None
    if before and after and sum(before):
        exact = (Decimal(sum(after)) / len(after) - Decimal(sum(before)) / len(before)) * 100 \
            / (Decimal(sum(before)) / len(before))
        change = exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return ProblemTrend(months, mean_before, mean_after, change)


def _months(starts_on: date, now: datetime, months_before: int) -> list[Period]:
    first = periods.month(starts_on.year, starts_on.month)
    for _ in range(months_before):
        first = first.previous()
    last = periods.containing(PeriodKind.MONTH, now)
    found = [first]
    while found[-1] < last and len(found) < MAX_MONTHS:
        found.append(found[-1].next())
    return found


def monthly_counts(session: Session, problem: TrackedProblem, *, now: datetime,
                   months_before: int = DEFAULT_MONTHS_BEFORE) -> ProblemTrend:
    """Cases of the problem's categories received in its area, per Beijing month, from
    ``months_before`` months before the start month up to the current month (one scan)."""
    area = load_area(session, problem.area_unit_id)
    months = _months(problem.starts_on, now, months_before)
    sums = [sa.func.sum(sa.case((sa.and_(Case.received_at >= m.start_utc,
                                         Case.received_at < m.end_utc,
                                         not_linked_by(m.end_utc)), 1), else_=0))
            for m in months]
    row = session.execute(sa.select(*sums).where(
        area.clause, category_clause(problem.category_codes),
        Case.received_at >= months[0].start_utc, Case.received_at < months[-1].end_utc,
        Case.received_at < now)).one()
    return trend_of([MonthCount(m, phase_of(m, problem.starts_on), int(n or 0),
                                now < m.end_utc) for m, n in zip(months, row, strict=True)])


def trend_table(problem: TrackedProblem, trend: ProblemTrend) -> Table:
    return Table(
        name=f"tracked-problem-{problem.starts_on.isoformat()}",
        title=f"每月一题:{problem.title}",
        columns=[Column("month", "月份"), Column("phase", "阶段"),
                 Column("count", "件数", ColumnType.INTEGER),
                 Column("partial", "未满月", ColumnType.BOOLEAN)],
        rows=[{"month": m.month.label, "phase": PHASE_TITLES[m.phase], "count": m.count,
               "partial": m.partial} for m in trend.months],
        notes=[f"类别 {'、'.join(problem.category_codes)},{problem.starts_on.isoformat()} 起实施;"
               f"实施前月均 {trend.mean_before},实施后月均 {trend.mean_after},"
               f"变化 {trend.change_percent}%(只计整月)。"])
