"""The drill-down of a figure: every case behind its numerator and denominator, and every case
looked at but left out, each with the reason (issue 9 item 2: "a district must be able to
answer a township that disputes its rank").

The candidates are the rows the figure's query reads (callbacks recorded in the period,
response limits due in it) for the unit's lead units or the grid; the same conditions as
``facts`` classify them, so the counted rows are exactly the figure's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from server.cases.models import Case, CaseRating
from server.cases.rules import Satisfaction
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.errors import NotFound
from server.reports import facts
from server.reports.access import Target, TargetKind, load_target
from server.reports.periods import Period
from server.reports.scoring import Counts, EvaluationSettings, Figure, Rates, rates
from server.reports.settings import settings_for
from server.reports.tables import Column, ColumnType, Table
from server.supervision.models import Deadline

NUMERATOR, DENOMINATOR, EXCLUDED = "numerator", "denominator", "excluded"


@dataclass(frozen=True)
class Item:
    case_id: uuid.UUID
    case_number: str
    counts_in: str  # numerator | denominator | excluded
    reason: str  # a stable code: resolved, not_resolved, satisfied, met, missed, exempted…
    points: Decimal | None  # what the case adds to the numerator (satisfaction: 1, 0.8, 0)
    facts: dict[str, Any]


@dataclass(frozen=True)
class Explanation:
    target: Target
    period: Period
    figure: Figure
    settings: EvaluationSettings
    counts: Counts
    rates: Rates
    excluded: dict[str, int]
    items: list[Item] = field(default_factory=list)
    next_cursor: str | None = None


def explain(session: Session, *, unit_id: uuid.UUID, period: Period, figure: Figure | str,
            cursor: str | None = None, limit: int = 50, as_of: datetime | None = None,
            settings: EvaluationSettings | None = None) -> Explanation:
    """One page of the cases behind ``figure`` for a unit and period, oldest first."""
    figure = Figure(figure)
    target = load_target(session, unit_id)
    if target is None:
        raise NotFound("No such unit.", code="unit_not_found")
    settings = settings or settings_for(session, district_id=target.district_id, period=period)
    scope = (Case.basic_grid_id == target.id if target.kind is TargetKind.GRID else None)
    leads = None if scope is not None else facts.leads_of(session, target)
    counts = facts.target_counts(session, target, period, as_of=as_of)
    after = decode_time_cursor(cursor) if cursor else None
    if figure is Figure.RESPONSE:
        rows, excluded = _deadline_rows(session, period, as_of, leads, scope, after, limit)
        items = [_deadline_item(r) for r in rows[:limit]]
        key = (rows[limit - 1].due_at, rows[limit - 1].id) if len(rows) > limit else None
    else:
        rows, excluded = _rating_rows(session, period, leads, scope, after, limit)
        items = [_rating_item(r, figure, settings) for r in rows[:limit]]
        key = (rows[limit - 1].recorded_at, rows[limit - 1].id) if len(rows) > limit else None
    return Explanation(target, period, figure, settings, counts, rates(counts, settings),
                       excluded, items, encode_cursor(*key) if key else None)


def _scoped(query: sa.Select, key: sa.ColumnElement, leads: set[uuid.UUID] | None,
            scope: sa.ColumnElement[bool] | None) -> sa.Select:
    return query.where(scope) if scope is not None else query.where(key.in_(list(leads or ())))


def _after(at_column: Any, id_column: Any,
           after: tuple[datetime, uuid.UUID]) -> sa.ColumnElement[bool]:
    at, row_id = after
    return sa.or_(at_column > at, sa.and_(at_column == at, id_column > row_id))


def _rating_rows(session: Session, period: Period, leads: set[uuid.UUID] | None,
                 scope: sa.ColumnElement[bool] | None, after: tuple[datetime, uuid.UUID] | None,
                 limit: int) -> tuple[list[Any], dict[str, int]]:
    end = period.end_utc
    later = aliased(CaseRating)
    superseded_by = (sa.select(sa.func.min(later.seq))
                     .where(later.case_id == CaseRating.case_id, later.seq > CaseRating.seq,
                            facts.ratings_in(period, later)).scalar_subquery())
    base = (sa.select(CaseRating, Case.number, Case.exempted_at, Case.linked_at,
                      superseded_by.label("superseded_by"))
            .join(Case, Case.id == CaseRating.case_id).where(facts.ratings_in(period)))
    base = _scoped(base, CaseRating.lead_unit_id, leads, scope)
    page = base.order_by(CaseRating.recorded_at, CaseRating.id).limit(limit + 1)
    if after is not None:
        page = page.where(_after(CaseRating.recorded_at, CaseRating.id, after))
    rows = [_RatingRow(r, n, ex, ln, sup, end) for r, n, ex, ln, sup in session.execute(page)]
    summary = (sa.select(
        sa.func.count().filter(Case.exempted_at < end),
        sa.func.count().filter(sa.or_(Case.exempted_at.is_(None), Case.exempted_at >= end),
                               Case.linked_at < end),
        sa.func.count().filter(facts.counted_case(end), facts.superseded_in(CaseRating, period)))
        .select_from(CaseRating).join(Case, Case.id == CaseRating.case_id)
        .where(facts.ratings_in(period)))
    exempted, linked, superseded = session.execute(
        _scoped(summary, CaseRating.lead_unit_id, leads, scope)).one()
    return rows, {"exempted": exempted, "linked_duplicate": linked, "superseded": superseded}


class _RatingRow:
    def __init__(self, rating: CaseRating, number: str, exempted_at: datetime | None,
                 linked_at: datetime | None, superseded_by: int | None, end: datetime) -> None:
        self.rating, self.number, self.superseded_by = rating, number, superseded_by
        self.id, self.recorded_at = rating.id, rating.recorded_at
        self.exempted = exempted_at is not None and exempted_at < end
        self.linked = linked_at is not None and linked_at < end
        self.exempted_at, self.linked_at = exempted_at, linked_at


def _exclusion(row: Any) -> str | None:
    if row.exempted:
        return "exempted"
    if row.linked:
        return "linked_duplicate"
    return None


def _rating_item(row: _RatingRow, figure: Figure, settings: EvaluationSettings) -> Item:
    r = row.rating
    facts_ = {"rating_id": str(r.id), "seq": r.seq, "recorded_at": r.recorded_at,
              "lead_unit_id": str(r.lead_unit_id), "resolved": r.resolved,
              "satisfaction": r.satisfaction.value, "rehandle_count": r.rehandle_count,
              "source": r.source.value, "exempted_at": row.exempted_at,
              "linked_at": row.linked_at, "superseded_by_seq": row.superseded_by}
    reason = _exclusion(row) or ("superseded" if row.superseded_by is not None else None)
    if reason is not None:
        return Item(r.case_id, row.number, EXCLUDED, reason, None, facts_)
    if figure is Figure.RESOLUTION:
        counts_in = NUMERATOR if r.resolved else DENOMINATOR
        return Item(r.case_id, row.number, counts_in, "resolved" if r.resolved else
                    "not_resolved", Decimal(1 if r.resolved else 0), facts_)
    points = {Satisfaction.SATISFIED: Decimal(1), Satisfaction.DISSATISFIED: Decimal(0),
              Satisfaction.BASICALLY_SATISFIED: settings.basic_weight}[r.satisfaction]
    return Item(r.case_id, row.number, NUMERATOR if points else DENOMINATOR,
                r.satisfaction.value, points, facts_)


def _deadline_rows(session: Session, period: Period, as_of: datetime | None,
                   leads: set[uuid.UUID] | None, scope: sa.ColumnElement[bool] | None,
                   after: tuple[datetime, uuid.UUID] | None,
                   limit: int) -> tuple[list[Any], dict[str, int]]:
    end = period.end_utc
    base = (sa.select(Deadline.id, Deadline.due_at, Deadline.met_at, Deadline.closed_at,
                      Deadline.status, Deadline.unit_id, Case.id.label("case_id"), Case.number,
                      (Case.exempted_at < end).label("exempted"),
                      (Case.linked_at < end).label("linked"), Case.exempted_at, Case.linked_at,
                      facts.cancelled_before_due().label("cancelled"))
            .join(Case, Case.id == Deadline.subject_id)
            .where(facts.response_due_in(period, as_of)))
    base = _scoped(base, Deadline.unit_id, leads, scope)
    page = base.order_by(Deadline.due_at, Deadline.id).limit(limit + 1)
    if after is not None:
        page = page.where(_after(Deadline.due_at, Deadline.id, after))
    rows = list(session.execute(page))
    summary = (sa.select(
        sa.func.count().filter(Case.exempted_at < end),
        sa.func.count().filter(sa.or_(Case.exempted_at.is_(None), Case.exempted_at >= end),
                               Case.linked_at < end),
        sa.func.count().filter(facts.counted_case(end), facts.cancelled_before_due()))
        .select_from(Deadline).join(Case, Case.id == Deadline.subject_id)
        .where(facts.response_due_in(period, as_of)))
    exempted, linked, cancelled = session.execute(
        _scoped(summary, Deadline.unit_id, leads, scope)).one()
    return rows, {"exempted": exempted, "linked_duplicate": linked,
                  "cancelled_before_due": cancelled}


def _deadline_item(row: Any) -> Item:
    facts_ = {"deadline_id": str(row.id), "unit_id": str(row.unit_id), "due_at": row.due_at,
              "met_at": row.met_at, "closed_at": row.closed_at, "status": row.status.value,
              "exempted_at": row.exempted_at, "linked_at": row.linked_at}
    reason = ("exempted" if row.exempted else "linked_duplicate" if row.linked else
              "cancelled_before_due" if row.cancelled else None)
    if reason is not None:
        return Item(row.case_id, row.number, EXCLUDED, reason, None, facts_)
    met = row.met_at is not None and row.met_at <= row.due_at
    return Item(row.case_id, row.number, NUMERATOR if met else DENOMINATOR,
                "met" if met else "missed", Decimal(1 if met else 0), facts_)


FIGURE_NAMES = {Figure.RESPONSE: "响应率", Figure.RESOLUTION: "解决率",
                Figure.SATISFACTION: "满意率"}
COUNTS_IN = {NUMERATOR: "计入分子", DENOMINATOR: "仅计入分母", EXCLUDED: "不计"}
EXPLAIN_COLUMNS = [
    Column("case_number", "工单号"),
    Column("counts_in", "计入"),
    Column("reason", "原因"),
    Column("points", "得分", ColumnType.NUMBER),
    Column("at", "时间", ColumnType.DATETIME),
    Column("seq", "回访次序", ColumnType.INTEGER),
    Column("rehandle_count", "二次办理次数", ColumnType.INTEGER),
]


def explanation_table(session: Session, *, unit_id: uuid.UUID, period: Period,
                      figure: Figure | str, as_of: datetime | None = None) -> Table:
    """Every case behind a figure (all pages), for a district answering a disputed rank."""
    figure = Figure(figure)
    rows: list[dict[str, Any]] = []
    cursor, first = None, None
    while True:
        page = explain(session, unit_id=unit_id, period=period, figure=figure, cursor=cursor,
                       limit=500, as_of=as_of)
        first = first or page
        for item in page.items:
            f = item.facts
            rows.append({"case_number": item.case_number, "counts_in": COUNTS_IN[item.counts_in],
                         "reason": item.reason, "points": item.points,
                         "at": f.get("recorded_at") or f.get("due_at"), "seq": f.get("seq"),
                         "rehandle_count": f.get("rehandle_count")})
        cursor = page.next_cursor
        if cursor is None:
            break
    t = first.target
    return Table(name=f"{figure.value}-cases-{t.code}-{period.label.replace('/', '_')}",
                 title=f"{t.name} {period.label} {FIGURE_NAMES[figure]} 明细",
                 columns=EXPLAIN_COLUMNS, rows=rows,
                 notes=["原因: exempted 剔除, linked_duplicate 关联重复件, superseded 被后一次回访"
                        "取代, cancelled_before_due 到期前已取消; 时间为回访记录或响应期限。"])
