"""Dwell per grid from tracks, and compliance: stationed presence, patrol visits, field days.

Read side only. Decisions (docs/staff.md):

- a stationed posting is honoured on a scheduled day by a check-in inside one of its grids
  that local day;
- a patrol visit is entering a grid and staying GRID_VISIT_MIN_MINUTES (from the track), or
  a check-in inside the grid that falls in no track visit of that grid;
- a grid worker's field day is a local day with a check-in inside one of their grids or a
  visit to one of them; the monthly minimum is prorated for partly covered months.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import numpy as np
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from geo.track import Dwell, dwell_by_grid
from server.auth.actor import Actor
from server.auth.services import scope_of
from server.core.db import is_postgres
from server.grids.models import Grid, GridMember
from server.org.models import Unit, User
from server.org.rules import TERRITORY_SIGHTS, Role, Subject, sights
from server.staff import queries
from server.staff.models import Posting, TrackFix
from server.staff.rules import (
    CheckKind,
    FieldLimits,
    PostingMode,
    VisitPeriod,
    days,
    local_date,
    local_day_bounds,
    overlap,
    period_targets,
    rate,
)

K = TypeVar("K")  # what grids are keyed by: their id (compliance) or code (a track view)


def dwell_for(
    session: Session,
    grids_by_user: dict[uuid.UUID, Iterable[uuid.UUID]],
    start: datetime,
    end: datetime,
    *,
    limits: FieldLimits,
    geometries: dict[uuid.UUID, BaseGeometry] | None = None,
) -> dict[tuple[uuid.UUID, uuid.UUID], Dwell]:
    """Time inside, distance and visits per (person, grid) over [start, end), from the
    stored fixes (one query per 100 people on the primary key), then geo.track
    per person."""
    if geometries is None:
        wanted = {g for gs in grids_by_user.values() for g in gs}
        geometries = {g.id: g.boundary for g in queries.grids_by_id(session, wanted).values()}
    result: dict[tuple[uuid.UUID, uuid.UUID], Dwell] = {}
    user_ids = sorted(grids_by_user)
    for chunk_start in range(0, len(user_ids), 100):
        for user_id, times, lons, lats in _tracks(
            session, user_ids[chunk_start : chunk_start + 100], start, end
        ):
            _measure(user_id, times, lons, lats, grids_by_user, geometries, limits, result)
    return result


# One person at a time (LATERAL): each day is a range scan of the primary key and a sort of
# 2,880 rows, where one GROUP BY over 100 people sorted 288,000 rows on disk. Each track comes
# back as one bytea of 24-byte records (the binary send form of time, lon, lat): numpy reads
# it as one structured array, with no Python object per fix, and sorts it by time (an
# ordered aggregate would sort on the server; three float arrays cost three sorts a person
# and psycopg's array loader a call per element).
_TRACKS_AS_RECORDS = (
    "SELECT u.id, t.track FROM unnest(%s::uuid[]) AS u(id) CROSS JOIN LATERAL ("
    "SELECT string_agg(timestamptz_send(fixed_at) || float8send(lon) || float8send(lat), "
    "''::bytea) AS track "
    "FROM track_fixes WHERE user_id = u.id AND fixed_at >= %s AND fixed_at < %s) AS t "
    "WHERE t.track IS NOT NULL"
)
_RECORD = np.dtype([("at_us", ">i8"), ("lon", ">f8"), ("lat", ">f8")])
_PG_EPOCH_S = 946_684_800.0  # 2000-01-01 in Unix seconds: binary timestamps count from it


def _tracks(
    session: Session,
    user_ids: list[uuid.UUID],
    start: datetime,
    end: datetime,
) -> Iterator[tuple[uuid.UUID, np.ndarray, np.ndarray, np.ndarray]]:
    """Each person's track as arrays (epoch seconds, lon, lat), sorted by time."""
    where = (TrackFix.user_id.in_(user_ids), TrackFix.fixed_at >= start, TrackFix.fixed_at < end)
    if is_postgres(session):
        driver = session.connection().connection.driver_connection
        with driver.cursor(binary=True) as cursor:
            # Streamed (libpq's single-row mode): each person's track is measured here while
            # the server still aggregates the next one, instead of after all of them.
            for user_id, track in cursor.stream(_TRACKS_AS_RECORDS, (list(user_ids), start, end)):
                rows = np.frombuffer(track, dtype=_RECORD)
                rows = rows[np.argsort(rows["at_us"], kind="stable")]
                seconds = rows["at_us"].astype(np.float64) / 1e6 + _PG_EPOCH_S
                yield user_id, seconds, rows["lon"].astype(np.float64), rows["lat"].astype(
                    np.float64)
        return
    rows = (
        session.connection()
        .execute(
            sa.select(TrackFix.user_id, TrackFix.fixed_at, TrackFix.lon, TrackFix.lat)
            .where(*where)
            .order_by(TrackFix.user_id, TrackFix.fixed_at)
        )
        .all()
    )
    by_user: dict[uuid.UUID, list[tuple]] = defaultdict(list)
    for user_id, at, lon, lat in rows:
        by_user[user_id].append((at.timestamp(), lon, lat))
    for user_id, fixes in by_user.items():
        times, lons, lats = (np.asarray(column, float) for column in zip(*fixes, strict=True))
        yield user_id, times, lons, lats


def _measure(user_id, times, lons, lats, grids_by_user, geometries, limits, result) -> None:  # noqa: ANN001
    shapes = {g: geometries[g] for g in grids_by_user.get(user_id, ()) if g in geometries}
    for grid_id, value in dwell_in_grids(times, lons, lats, shapes, limits=limits).items():
        result[(user_id, grid_id)] = value


def dwell_in_grids(
    times: np.ndarray,
    lons: np.ndarray,
    lats: np.ndarray,
    shapes: Mapping[K, BaseGeometry],
    *,
    limits: FieldLimits,
) -> dict[K, Dwell]:
    """The one dwell computation of a track (compliance and ``GET /people/{id}/track``):
    time inside, distance and visits per grid, with the deployment's gap and visit limits."""
    return dwell_by_grid(
        times,
        lons,
        lats,
        dict(shapes),
        max_gap_s=limits.track_max_gap_s,
        min_visit_s=limits.visit_min_minutes * 60.0,
    )


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return local_day_bounds(self.start)[0], local_day_bounds(self.end)[1]


def _ref(unit: Unit | None) -> dict[str, Any] | None:
    return {"id": str(unit.id), "code": unit.code, "name": unit.name} if unit else None


def _person(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "username": user.username, "display_name": user.display_name}


def compliance_report(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    limits: FieldLimits,
    department_id: uuid.UUID | None = None,
    township: str | None = None,
) -> dict[str, Any]:
    """Stationed presence, patrol visits per grid, grid workers' field days, summed by
    department and by township, for the postings and grid workers the actor sees."""
    start, end = period.bounds
    postings = _postings(session, actor, period, department_id)
    grid_ids = {g for p in postings for g in p.grid_ids}
    grids = queries.grids_by_id(session, grid_ids)
    if township:
        postings = [
            p for p in postings if any(grids[g].township.code == township for g in p.grid_ids)
        ]
    workers = [] if department_id else _grid_workers(session, actor, township)
    grids.update(queries.grids_by_id(
        session, {g for _, member_grids in workers for g in member_grids} - grids.keys()))
    grids_by_user: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for p in postings:
        grids_by_user[p.staff_user_id].update(p.grid_ids)
    for user, member_grids in workers:
        grids_by_user[user.id].update(member_grids)
    dwell = dwell_for(
        session,
        grids_by_user,
        start,
        end,
        limits=limits,
        geometries={g.id: g.boundary for g in grids.values()},
    )
    checkins = _inside_checkins(session, grids_by_user, start, end)
    visits = _visits_by_day(dwell, checkins)

    stationed, patrolling = [], []
    for p in postings:
        span = overlap(p.valid_from, p.valid_to, period.start, period.end)
        if span is None:
            continue
        if p.mode is PostingMode.STATIONED:
            stationed.append(_stationed(p, span, grids, checkins))
        else:
            patrolling.extend(_patrolling(p, span, grids, visits))
    field_days = [
        _field_days(
            user, member_grids, grids[member_grids[0]].township.code, period, visits, limits
        )
        for user, member_grids in workers
    ]
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "field_days_min": limits.field_days_min,
        "visit_min_minutes": limits.visit_min_minutes,
        "stationed": stationed,
        "patrolling": patrolling,
        "grid_workers": field_days,
        **_summaries(stationed, patrolling, field_days),
    }


def _postings(
    session: Session, actor: Actor, period: Period, department_id: uuid.UUID | None
) -> list[Posting]:
    query = sa.select(Posting).where(
        queries.visible_postings(session, actor),
        Posting.valid_from <= period.end,
        sa.or_(Posting.valid_to.is_(None), Posting.valid_to >= period.start),
    )
    if department_id:
        query = query.where(Posting.department_id == department_id)
    return list(session.scalars(query.order_by(Posting.created_at, Posting.id)).unique())


def _grid_workers(
    session: Session, actor: Actor, township: str | None
) -> list[tuple[User, list[uuid.UUID]]]:
    scope = scope_of(session, actor)
    if not sights(actor.roles, Subject.COMPLIANCE) & TERRITORY_SIGHTS:
        return []  # grid workers' field days are for command centres (need to know)
    query = (
        sa.select(User, GridMember.grid_id)
        .join(GridMember, GridMember.user_id == User.id)
        .join(Grid, Grid.id == GridMember.grid_id)
        .join(Unit, Unit.id == Grid.township_id)
        .where(User.is_active.is_(True))
    )
    if scope.township_ids is not None:
        query = query.where(Grid.township_id.in_(scope.township_ids))
    if township:
        query = query.where(Unit.code == township)
    by_user: dict[uuid.UUID, tuple[User, list[uuid.UUID]]] = {}
    for user, grid_id in session.execute(query.order_by(User.username)).unique():
        if Role.GRID_WORKER in user.roles:
            by_user.setdefault(user.id, (user, []))[1].append(grid_id)
    return list(by_user.values())


def _inside_checkins(
    session: Session, grids_by_user: dict[uuid.UUID, set[uuid.UUID]], start: datetime, end: datetime
) -> dict[tuple[uuid.UUID, uuid.UUID], list[datetime]]:
    found: dict[tuple[uuid.UUID, uuid.UUID], list[datetime]] = defaultdict(list)
    versions = queries.version_map(session, {g for gs in grids_by_user.values() for g in gs})
    for check in queries.checks(session, grids_by_user, start, end, CheckKind.CHECK_IN):
        grid_id = versions.get(check.grid_id) if check.grid_id else None
        if check.inside and grid_id in grids_by_user[check.user_id]:
            found[(check.user_id, grid_id)].append(check.recorded_at)
    return found


def _visits_by_day(
    dwell: dict[tuple[uuid.UUID, uuid.UUID], Dwell],
    checkins: dict[tuple[uuid.UUID, uuid.UUID], list[datetime]],
) -> dict[tuple[uuid.UUID, uuid.UUID], dict[date, int]]:
    """Visits per (person, grid) per local day: track visits, plus inside check-ins that
    fall in no track visit of that grid."""
    result: dict[tuple[uuid.UUID, uuid.UUID], dict[date, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for key, value in dwell.items():
        for visit in value.visits:
            result[key][local_date(datetime.fromtimestamp(visit.start, UTC))] += 1
    for key, times in checkins.items():
        spans = dwell[key].visits if key in dwell else ()
        for at in times:
            t = at.timestamp()
            if not any(v.start <= t <= v.end for v in spans):
                result[key][local_date(at)] += 1
    return result


def _stationed(
    p: Posting,
    span: tuple[date, date],
    grids: dict[uuid.UUID, Grid],
    checkins: dict[tuple[uuid.UUID, uuid.UUID], list[datetime]],
) -> dict[str, Any]:
    scheduled = [d for d in days(*span) if d.isoweekday() in (p.weekdays or ())]
    present_on = {
        local_date(at) for g in p.grid_ids for at in checkins.get((p.staff_user_id, g), ())
    }
    present = [d for d in scheduled if d in present_on]
    return {
        "posting_id": str(p.id),
        "staff": _person(p.staff),
        "department": _ref(p.department),
        "grids": [grids[g].code for g in p.grid_ids if g in grids],
        "townships": sorted({grids[g].township.code for g in p.grid_ids if g in grids}),
        "scheduled_days": len(scheduled),
        "present_days": len(present),
        "absent_dates": [d.isoformat() for d in scheduled if d not in present_on],
        "rate": rate(len(present), len(scheduled)),
    }


def _patrolling(
    p: Posting,
    span: tuple[date, date],
    grids: dict[uuid.UUID, Grid],
    visits: dict[tuple[uuid.UUID, uuid.UUID], dict[date, int]],
) -> list[dict[str, Any]]:
    rows = []
    for grid_id in p.grid_ids:
        targets = period_targets(
            days(*span),
            p.visit_period or VisitPeriod.WEEK,
            p.visits_required or 0,
            visits.get((p.staff_user_id, grid_id), {}),
        )
        required, made = sum(t.required for t in targets), sum(t.made for t in targets)
        grid = grids.get(grid_id)
        rows.append(
            {
                "posting_id": str(p.id),
                "staff": _person(p.staff),
                "department": _ref(p.department),
                "grid": {"id": str(grid_id), "code": grid.code if grid else None},
                "township": grid.township.code if grid else None,
                "visits_required": p.visits_required,
                "visit_period": p.visit_period.value,
                "required": required,
                "made": made,
                "met": all(t.met for t in targets),
                "periods": [
                    {
                        "start": t.key.isoformat(),
                        "covered_days": t.covered_days,
                        "required": t.required,
                        "made": t.made,
                        "met": t.met,
                    }
                    for t in targets
                ],
            }
        )
    return rows


def _field_days(
    user: User,
    member_grids: list[uuid.UUID],
    township: str,
    period: Period,
    visits: dict[tuple[uuid.UUID, uuid.UUID], dict[date, int]],
    limits: FieldLimits,
) -> dict[str, Any]:
    active = {d for g in member_grids for d, n in visits.get((user.id, g), {}).items() if n}
    # A field day is a "visit" of the month: the same prorated targets as patrols.
    targets = period_targets(days(period.start, period.end), VisitPeriod.MONTH,
                             limits.field_days_min, dict.fromkeys(active, 1))
    rows = [
        {
            "month": t.key.strftime("%Y-%m"),
            "covered_days": t.covered_days,
            "minimum": t.required,
            "field_days": t.made,
            "met": t.met,
        }
        for t in targets
    ]
    return {
        "user": _person(user),
        "township": township,
        "months": rows,
        "met": all(r["met"] for r in rows),
    }


def _summaries(
    stationed: list[dict], patrolling: list[dict], workers: list[dict]
) -> dict[str, Any]:
    by_dept: dict[str, dict[str, Any]] = {}
    by_town: dict[str, dict[str, Any]] = {}

    def blank() -> dict[str, Any]:
        return {
            "scheduled_days": 0,
            "present_days": 0,
            "patrol_grids": 0,
            "patrol_grids_met": 0,
            "visits_required": 0,
            "visits_made": 0,
            "grid_workers": 0,
            "grid_workers_met": 0,
        }

    for row in stationed:
        targets = [by_dept.setdefault(row["department"]["code"], blank())]
        targets += [by_town.setdefault(code, blank()) for code in row["townships"]]
        for t in targets:
            t["scheduled_days"] += row["scheduled_days"]
            t["present_days"] += row["present_days"]
    for row in patrolling:
        targets = [
            by_dept.setdefault(row["department"]["code"], blank()),
            by_town.setdefault(row["township"], blank()),
        ]
        for t in targets:
            t["patrol_grids"] += 1
            t["patrol_grids_met"] += int(row["met"])
            t["visits_required"] += row["required"]
            t["visits_made"] += row["made"]
    for row in workers:
        t = by_town.setdefault(row["township"], blank())
        t["grid_workers"] += 1
        t["grid_workers_met"] += int(row["met"])
    for t in (*by_dept.values(), *by_town.values()):
        t["presence_rate"] = rate(t["present_days"], t["scheduled_days"])
    return {
        "by_department": [{"department": code, **v} for code, v in sorted(by_dept.items())],
        "by_township": [{"township": code, **v} for code, v in sorted(by_town.items())],
    }
