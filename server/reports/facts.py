"""The SQL side of the 三率: which rows count in a period, aggregated per lead unit or grid.

One GROUP BY per figure over the period's rows (ratings by ``recorded_at``, response
deadlines by ``due_at``), so a month over a million cases is two index range scans; the
roll-up to townships and departments happens in Python over the few hundred units.
Every condition looks only at facts recorded before the period's end, so a closed period
recomputes to the same numbers whatever happened later.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from server.cases.models import Case, CaseRating
from server.cases.rules import Satisfaction
from server.org.models import Unit
from server.reports.access import Target, TargetKind
from server.reports.periods import Period
from server.reports.scoring import Counts, UnitNode, rollup, total
from server.supervision.models import Deadline
from server.supervision.rules import DeadlineKind

CASE_SUBJECT = "case"


def counted_case(end: datetime) -> sa.ColumnElement[bool]:
    """The case is neither exempted (剔除) nor linked to a master before ``end``."""
    return sa.and_(
        sa.or_(Case.exempted_at.is_(None), Case.exempted_at >= end),
        sa.or_(Case.linked_at.is_(None), Case.linked_at >= end),
    )


def excluded_case_ids(end: datetime) -> sa.CompoundSelect:
    """Cases exempted or linked before ``end``: a few percent of all, read through the partial
    indexes of migration 0016, so the figures need not join every rated case to ``cases``."""
    # Two index-only scans (each index holds the id too) rather than one OR over the table.
    return sa.union_all(sa.select(Case.id).where(Case.exempted_at < end),
                        sa.select(Case.id).where(Case.linked_at < end))


def superseded(rating: Any, end: datetime) -> sa.ColumnElement[bool]:
    """A later callback of the same case was recorded before ``end``."""
    later = aliased(CaseRating)
    return sa.exists().where(later.case_id == rating.case_id, later.seq > rating.seq,
                             later.recorded_at < end)


def superseded_in(rating: Any, period: Period) -> sa.ColumnElement[bool]:
    """``superseded`` for a rating recorded in ``period``, looking only at the period's rows.

    Callbacks are numbered in the order they are recorded (server time), so a later one of a
    rating in the period lies in the period too; bounding it below keeps the check to the
    period's own ratings (an index range scan instead of every rating before the end).
    """
    later = aliased(CaseRating)
    return sa.exists().where(later.case_id == rating.case_id, later.seq > rating.seq,
                             ratings_in(period, later))


def ratings_in(period: Period, rating: Any = CaseRating) -> sa.ColumnElement[bool]:
    return sa.and_(rating.recorded_at >= period.start_utc, rating.recorded_at < period.end_utc)


def response_due_in(period: Period, as_of: datetime | None) -> sa.ColumnElement[bool]:
    """Response deadlines of cases that fell due in the period (and before ``as_of``: a
    limit still running is not yet met or missed)."""
    due_end = period.end_utc if as_of is None else min(period.end_utc, as_of)
    return sa.and_(Deadline.subject_type == CASE_SUBJECT, Deadline.kind == DeadlineKind.RESPONSE,
                   Deadline.due_at >= period.start_utc, Deadline.due_at < due_end)


def cancelled_before_due() -> sa.ColumnElement[bool]:
    """Cancelled (re-dispatched, returned, escalated) before it fell due: it never came due."""
    return sa.and_(Deadline.met_at.is_(None), Deadline.closed_at.is_not(None),
                   Deadline.closed_at < Deadline.due_at)


def met_on_time() -> sa.ColumnElement[bool]:
    return sa.and_(Deadline.met_at.is_not(None), Deadline.met_at <= Deadline.due_at)


def _flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def rating_counts(session: Session, period: Period, *, lead_unit_ids: Collection[uuid.UUID]
                  | None = None, grid_id: uuid.UUID | None = None) -> dict[uuid.UUID, Counts]:
    """Rated cases (考核件) per lead unit (or, with ``grid_id``, for that grid): each case by
    its last callback recorded in the period, exempted and linked cases left out."""
    key = CaseRating.lead_unit_id if grid_id is None else Case.basic_grid_id
    query = (
        sa.select(key, sa.func.count(),
                  _flag(CaseRating.resolved.is_(True)),
                  _flag(CaseRating.satisfaction == Satisfaction.SATISFIED),
                  _flag(CaseRating.satisfaction == Satisfaction.BASICALLY_SATISFIED),
                  _flag(CaseRating.satisfaction == Satisfaction.DISSATISFIED),
                  _flag(CaseRating.rehandle_count > 0),
                  sa.func.coalesce(sa.func.sum(CaseRating.rehandle_count), 0))
        .select_from(CaseRating)
        .where(ratings_in(period), ~superseded_in(CaseRating, period),
               CaseRating.case_id.not_in(excluded_case_ids(period.end_utc)))
        .group_by(key)
    )
    if grid_id is not None:
        query = query.join(Case, Case.id == CaseRating.case_id)
    query = _restrict(query, key, lead_unit_ids, grid_id)
    return {
        row[0]: Counts(rated=row[1], resolved=row[2], satisfied=row[3], basically_satisfied=row[4],
                       dissatisfied=row[5], rehandled=row[6], rehandlings=int(row[7]))
        for row in session.execute(query)
    }


def response_counts(session: Session, period: Period, *, as_of: datetime | None = None,
                    lead_unit_ids: Collection[uuid.UUID] | None = None,
                    grid_id: uuid.UUID | None = None) -> dict[uuid.UUID, Counts]:
    """Response deadlines that fell due in the period, per unit they fell due to (or grid)."""
    key = Deadline.unit_id if grid_id is None else Case.basic_grid_id
    query = (
        sa.select(key, sa.func.count(), _flag(met_on_time()))
        .select_from(Deadline)
        .where(response_due_in(period, as_of), ~cancelled_before_due(),
               Deadline.subject_id.not_in(excluded_case_ids(period.end_utc)))
        .group_by(key)
    )
    if grid_id is not None:
        query = query.join(Case, Case.id == Deadline.subject_id)
    query = _restrict(query, key, lead_unit_ids, grid_id)
    return {row[0]: Counts(response_due=row[1], response_met=row[2])
            for row in session.execute(query)}


def _restrict(query: sa.Select, key: sa.ColumnElement, lead_unit_ids: Collection[uuid.UUID]
              | None, grid_id: uuid.UUID | None) -> sa.Select:
    if grid_id is not None:
        return query.where(key == grid_id)
    if lead_unit_ids is not None:
        return query.where(key.in_(list(lead_unit_ids)))
    return query


def counts_by_unit(session: Session, period: Period, *, as_of: datetime | None = None,
                   lead_unit_ids: Collection[uuid.UUID] | None = None,
                   grid_id: uuid.UUID | None = None) -> dict[uuid.UUID, Counts]:
    """Ratings and response deadlines together, per lead unit (or the one grid)."""
    merged = rating_counts(session, period, lead_unit_ids=lead_unit_ids, grid_id=grid_id)
    for key, counts in response_counts(session, period, as_of=as_of,
                                       lead_unit_ids=lead_unit_ids, grid_id=grid_id).items():
        merged[key] = merged.get(key, Counts()) + counts
    return merged


def district_nodes(session: Session, district_id: uuid.UUID) -> list[UnitNode]:
    district = session.get(Unit, district_id)
    if district is None:
        return []
    rows = session.execute(
        sa.select(Unit.id, Unit.kind, Unit.parent_id, Unit.department_kind)
        .where(Unit.path.startswith(district.path, autoescape=True))
    )
    return [UnitNode(*row) for row in rows]


def leads_of(session: Session, target: Target) -> set[uuid.UUID]:
    """The lead units whose cases count for ``target`` (a unit, never a grid)."""
    if target.district_id is None:
        return {target.id}
    owners = rollup(district_nodes(session, target.district_id), target.district_id)
    return {lead for lead, targets in owners.items() if target.id in targets}


def target_counts(session: Session, target: Target, period: Period, *,
                  as_of: datetime | None = None) -> Counts:
    if target.kind is TargetKind.GRID:
        by_grid = counts_by_unit(session, period, as_of=as_of, grid_id=target.id)
        return total(by_grid.values())
    leads = leads_of(session, target)
    return total(counts_by_unit(session, period, as_of=as_of, lead_unit_ids=leads).values())
