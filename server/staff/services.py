"""Use cases of staff in grids: post and end postings (one or a CSV), check in and out, tracks."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo.crs import CRS, to_wgs84
from geo.measure import point_to_geometry_distance_m
from geo.track import Dropped, Fix, filter_fixes
from server.auth.actor import Actor
from server.auth.services import scope_of
from server.core.db import is_postgres
from server.core.errors import Conflict, Invalid, TooLarge
from server.core.i18n import gettext
from server.core.points import wgs84_in_china
from server.grids.models import Grid
from server.grids.queries import visible_grids
from server.org.models import Unit, User
from server.org.rules import Role, UnitKind
from server.staff import queries
from server.staff.models import FieldCheck, Posting, PostingGrid, TrackFix
from server.staff.postings_csv import PostingsFile, RowProblem
from server.staff.rules import (
    FIELD_ROLES,
    MANAGE_POSTINGS,
    NO_POSTING,
    OUTSIDE_GRID,
    CheckKind,
    CheckVia,
    FieldLimits,
    PostingMode,
    Schedule,
    VisitPeriod,
    checkin_tolerance_m,
    is_inside,
    local_date,
    overlap,
)

MAX_POSTINGS_PER_IMPORT = 5000
MAX_PROBLEMS_REPORTED = 200
MAX_FIXES_PER_BATCH = 5000
# Stored fixes this far around a batch are read as anchors for its speed check.
ANCHOR_WINDOW = timedelta(minutes=10)


# --- postings --------------------------------------------------------------------------------


@dataclass
class PostingRequest:
    staff_user_id: uuid.UUID
    grid_ids: list[uuid.UUID]
    mode: PostingMode
    valid_from: date
    valid_to: date | None = None
    weekdays: list[int] | None = None
    day_start: time | None = None
    day_end: time | None = None
    visits_required: int | None = None
    visit_period: VisitPeriod | None = None
    note: str | None = None


def _meaning_problems(req: PostingRequest) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if req.valid_to is not None and req.valid_to < req.valid_from:
        found.append(("valid_to", "The last day comes before the first."))
    if not req.grid_ids:
        found.append(("grid_ids", "Name at least one grid."))
    if req.mode is PostingMode.STATIONED:
        if req.weekdays is None or req.day_start is None or req.day_end is None:
            found.append(("schedule", "A stationed posting needs days, start and end."))
        else:
            found += Schedule(tuple(req.weekdays), req.day_start, req.day_end).problems()
    elif not req.visits_required or req.visit_period is None:
        found.append(
            ("visits_required", "A patrolling posting needs visits_required and visit_period.")
        )
    return found


def _check_staff(session: Session, actor: Actor, user: User | None) -> str | None:
    """Why ``actor`` may not post ``user`` (None if they may)."""
    if user is None or not user.is_active:
        return "No such active user."
    if Role.DEPARTMENT_STAFF not in user.roles or user.unit.kind is not UnitKind.DEPARTMENT:
        return (
            "Only department staff (a department's users with the department_staff role) "
            "are posted."
        )
    if actor.has_any({Role.ADMIN}):
        return None
    if actor.has_any({Role.DISTRICT_DISPATCHER}):
        paths = scope_of(session, actor).unit_paths or ()
        if any(user.unit.path.startswith(p) for p in paths):
            return None
    if actor.has_any({Role.DEPARTMENT_HANDLER}) and user.unit_id == actor.unit_id:
        return None
    if (
        actor.has_any({Role.TOWNSHIP_DISPATCHER})
        and user.unit.parent_id in scope_of(session, actor).ancestor_ids
    ):
        return None  # a department of the district the township belongs to
    return "You may not post this person (another department, or outside your district)."


def _check_grids(
    session: Session, actor: Actor, department: Unit, grid_ids: Sequence[uuid.UUID]
) -> tuple[list[Grid], list[str]]:
    """The grids, and what is wrong with them: each must be active, visible to the actor
    (a township posts to its own grids only) and in the department's district."""
    grids = {
        g.id: g
        for g in session.scalars(
            sa.select(Grid).where(Grid.id.in_(grid_ids), visible_grids(session, actor))
        )
    }
    reasons = []
    for grid_id in grid_ids:
        grid = grids.get(grid_id)
        if grid is None:
            reasons.append(f"No grid {grid_id} in your territory.")
        elif grid.retired_at is not None:
            reasons.append(f"Grid {grid.code} is retired.")
        elif department.parent is not None and not grid.township.path.startswith(
            department.parent.path
        ):
            reasons.append(f"Grid {grid.code} is outside the department's district.")
    return [grids[i] for i in dict.fromkeys(grid_ids) if i in grids], reasons


def _overlapping(session: Session, req: PostingRequest) -> list[str]:
    """Codes of the grids this staff member is already posted to in an overlapping period."""
    end = req.valid_to or date.max
    return list(
        session.scalars(
            sa.select(Grid.code)
            .join(PostingGrid, PostingGrid.grid_id == Grid.id)
            .join(Posting, Posting.id == PostingGrid.posting_id)
            .where(
                Posting.staff_user_id == req.staff_user_id,
                PostingGrid.grid_id.in_(req.grid_ids),
                Posting.valid_from <= end,
                sa.or_(Posting.valid_to.is_(None), Posting.valid_to >= req.valid_from),
            )
        )
    )


def create_posting(
    session: Session, actor: Actor, req: PostingRequest, *, now: datetime
) -> Posting:
    """Post a department's staff member to grids (驻格 / 巡格); see MANAGE_POSTINGS for who may."""
    actor.require(MANAGE_POSTINGS, gettext("post department staff to grids"))
    problems = _meaning_problems(req)
    if problems:
        raise Invalid(
            "The posting is not valid.",
            code="posting_invalid",
            errors={"json": {f: [m] for f, m in problems}},
        )
    staff = session.get(User, req.staff_user_id)
    why = _check_staff(session, actor, staff)
    if why:
        raise Invalid.for_field("staff_user_id", why, code="staff_not_postable")
    _, bad = _check_grids(session, actor, staff.unit, req.grid_ids)
    if bad:
        raise Invalid(
            "Some grids cannot take this posting.",
            code="grids_not_postable",
            errors={"json": {"grid_ids": bad}},
        )
    taken = _overlapping(session, req)
    if taken:
        raise Conflict(
            f"{staff.username} is already posted to {', '.join(sorted(taken))} in "
            "an overlapping period; end that posting first.",
            code="posting_overlaps",
        )
    return _add_posting(session, actor, req, staff, now=now)


def _add_posting(
    session: Session, actor: Actor, req: PostingRequest, staff: User, *, now: datetime
) -> Posting:
    stationed = req.mode is PostingMode.STATIONED
    posting = Posting(
        id=uuid.uuid4(),
        staff_user_id=staff.id,
        department_id=staff.unit_id,
        mode=req.mode,
        weekdays=sorted(set(req.weekdays)) if stationed and req.weekdays else None,
        day_start=req.day_start if stationed else None,
        day_end=req.day_end if stationed else None,
        visits_required=None if stationed else req.visits_required,
        visit_period=None if stationed else req.visit_period,
        valid_from=req.valid_from,
        valid_to=req.valid_to,
        note=req.note,
        created_at=now,
        created_by_user_id=actor.user_id,
        updated_at=now,
        grid_rows=[PostingGrid(grid_id=g) for g in dict.fromkeys(req.grid_ids)],
    )
    session.add(posting)
    session.flush()
    return posting


def end_posting(
    session: Session,
    actor: Actor,
    posting: Posting,
    *,
    last_day: date | None,
    reason: str | None,
    now: datetime,
) -> Posting:
    """End a posting: its last day becomes ``last_day`` (default: today, local). Kept for
    history; a posting that had not started yet ends before its first day is refused."""
    actor.require(MANAGE_POSTINGS, gettext("end postings"))
    last = last_day or local_date(now)
    if last < posting.valid_from:
        raise Invalid.for_field(
            "last_day", "A posting cannot end before its first day.", code="posting_end_invalid"
        )
    if posting.valid_to is not None and posting.valid_to < last:
        raise Conflict("This posting already ended.", code="posting_already_ended")
    posting.valid_to, posting.ended_at, posting.updated_at = last, now, now
    posting.ended_by_user_id, posting.end_reason = actor.user_id, reason
    session.flush()
    return posting


def import_postings(
    session: Session, actor: Actor, file: PostingsFile, *, dry_run: bool, now: datetime
) -> list[Posting]:
    """Create postings from a CSV, all or nothing: every row's problems in one answer.

    The users and grids named are read once; then each row is checked like a single posting
    (two small reads per row: its grids in the actor's territory, overlaps with stored
    postings), and against earlier rows of the file.
    """
    actor.require(MANAGE_POSTINGS, gettext("post department staff to grids"))
    if len(file.rows) > MAX_POSTINGS_PER_IMPORT:
        raise TooLarge(
            f"At most {MAX_POSTINGS_PER_IMPORT} postings per import; split the file.",
            code="too_many_postings",
        )
    if not file.rows and not file.problems:
        raise Invalid.for_field(
            "rows", "The file lists no postings.", location="csv", code="postings_file_empty"
        )
    users = {
        u.username: u
        for u in session.scalars(
            sa.select(User).where(User.username.in_({r.staff for r in file.rows}))
        )
    }
    grids = {
        g.code: g
        for g in session.scalars(
            sa.select(Grid).where(
                Grid.code.in_({c for r in file.rows for c in r.grid_codes}),
                Grid.retired_at.is_(None),
            )
        )
    }
    problems = list(file.problems)
    accepted: list[tuple[PostingRequest, User]] = []
    # Every span earlier rows of the file post each (person, grid) for, not only the last.
    seen: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[date, date]]] = defaultdict(list)
    for row in file.rows:

        def problem(name: str, slug: str, reason: str, row=row) -> None:  # noqa: ANN001
            problems.append(RowProblem(row.line, row.staff, name, slug, reason))

        user = users.get(row.staff)
        why = _check_staff(session, actor, user)
        if why:
            problem("staff", "staff_not_postable", why)
            continue
        unknown = [c for c in row.grid_codes if c not in grids]
        if unknown or not row.grid_codes:
            problem("grids", "unknown_grid", f"No active grid {', '.join(unknown) or '(none)'}.")
            continue
        req = PostingRequest(
            staff_user_id=user.id, grid_ids=[grids[c].id for c in row.grid_codes], **row.fields
        )
        for name, message in _meaning_problems(req):
            problem(name, "posting_invalid", message)
        _, bad = _check_grids(session, actor, user.unit, req.grid_ids)
        for message in bad:
            problem("grids", "grid_not_postable", message)
        span = (req.valid_from, req.valid_to or date.max)
        clash = _overlapping(session, req) + [
            grids_code
            for grids_code, g in zip(row.grid_codes, req.grid_ids, strict=True)
            if any(overlap(span[0], span[1], *earlier) for earlier in seen[(user.id, g)])
        ]
        if clash:
            problem(
                "grids",
                "posting_overlaps",
                f"{row.staff} is already posted to {', '.join(sorted(set(clash)))} then.",
            )
        for g in req.grid_ids:
            seen[(user.id, g)].append(span)
        accepted.append((req, user))
    if problems:
        raise _rejection(problems)
    if dry_run:
        return []
    return [_add_posting(session, actor, req, user, now=now) for req, user in accepted]


def _rejection(problems: list[RowProblem]) -> Invalid:
    problems = sorted(problems, key=lambda p: p.row)
    shown = problems[:MAX_PROBLEMS_REPORTED]
    by_row: dict[str, dict[str, list[str]]] = {}
    for p in shown:
        by_row.setdefault(str(p.row), {}).setdefault(p.field, []).append(f"{p.problem}: {p.reason}")
    rows = len({p.row for p in problems})
    return Invalid(
        f"{len(problems)} problem(s) in {rows} line(s), the first at line "
        f"{problems[0].row}: {problems[0].reason} Nothing was imported.",
        code="posting_import_rejected",
        errors={"csv": {"rows": by_row}},
        details=[p.as_dict() for p in shown],
    )


# --- check-in and check-out ------------------------------------------------------------------


@dataclass
class CheckRequest:
    id: uuid.UUID  # minted by the phone: the idempotency key
    kind: CheckKind
    lon: float
    lat: float
    crs: CRS = CRS.WGS84
    accuracy_m: float | None = None
    device_time: datetime | None = None
    grid_id: uuid.UUID | None = None
    check_in_id: uuid.UUID | None = None
    note: str | None = None


def record_check(
    session: Session,
    actor: Actor,
    req: CheckRequest,
    *,
    limits: FieldLimits,
    via: CheckVia,
    now: datetime,
) -> tuple[FieldCheck, bool]:
    """Record a check-in or check-out; (the check, True if new). The same id again answers
    the first record unchanged. The server decides whether the point is inside the grid
    (distance <= tolerance, see ``checkin_tolerance_m``); outside is recorded and flagged.

    The grid is the one named, else the nearest of the person's field grids that day
    (postings; grid membership for grid workers and leaders).
    """
    actor.require(FIELD_ROLES, gettext("check in"))
    existing = session.get(FieldCheck, req.id)
    if existing is not None:
        return _replayed(actor, existing), False
    lon, lat = wgs84_in_china(req.lon, req.lat, req.crs)
    field_grids = queries.field_grid_ids(session, actor, local_date(now))
    grid, distance, flags = _grid_for(session, actor, req, lon, lat, field_grids)
    tolerance = checkin_tolerance_m(req.accuracy_m, limits)
    inside = distance is not None and is_inside(distance, tolerance)
    if grid is not None and not inside:
        flags.append(OUTSIDE_GRID)
    check = FieldCheck(
        id=req.id,
        user_id=actor.user_id,
        kind=req.kind,
        grid_id=grid.id if grid else None,
        posting_id=field_grids.get(grid.id) if grid else None,
        check_in_id=req.check_in_id,
        lon=lon,
        lat=lat,
        input_crs=req.crs.value,
        input_lon=req.lon,
        input_lat=req.lat,
        accuracy_m=req.accuracy_m,
        distance_m=None if distance is None else round(distance, 2),
        tolerance_m=tolerance,
        inside=inside,
        flags=flags,
        device_time=req.device_time,
        recorded_at=now,
        via=via,
        device_id=actor.device_id,
        note=req.note,
    )
    try:
        with session.begin_nested():  # the same id sent twice at once: one wins
            session.add(check)
    except IntegrityError:
        existing = session.get(FieldCheck, req.id)
        if existing is None:
            raise
        return _replayed(actor, existing), False
    return check, True


def _replayed(actor: Actor, existing: FieldCheck) -> FieldCheck:
    if existing.user_id != actor.user_id:
        raise Conflict(
            gettext("This check id was already used by someone else; make a new one."),
            code="check_id_taken"
        )
    return existing


def _grid_for(
    session: Session,
    actor: Actor,
    req: CheckRequest,
    lon: float,
    lat: float,
    field_grids: dict[uuid.UUID, uuid.UUID | None],
) -> tuple[Grid | None, float | None, list[str]]:
    flags: list[str] = []
    if req.grid_id is not None:
        grid = session.scalar(
            sa.select(Grid).where(Grid.id == req.grid_id, visible_grids(session, actor))
        )
        if grid is None:
            raise Invalid.for_field(
                "grid_id", gettext("No such grid in your territory."), code="grid_not_found"
            )
        # A phone that cached a grid before its boundary was replaced names the retired
        # version: the check is judged against (and recorded on) the active one.
        grid = queries.active_version(session, grid)
        if grid.id not in field_grids:
            flags.append(NO_POSTING)
        return grid, point_to_geometry_distance_m(lon, lat, grid.boundary), flags
    grids = queries.grids_by_id(session, field_grids)
    if not grids:
        return None, None, [NO_POSTING]
    measured = sorted(
        ((point_to_geometry_distance_m(lon, lat, g.boundary), g.code, g) for g in grids.values()),
        key=lambda t: (t[0], t[1]),
    )
    return measured[0][2], measured[0][0], flags


# --- patrol tracks ---------------------------------------------------------------------------


@dataclass
class IngestResult:
    received: int
    stored: int
    already_stored: int
    dropped: list[Dropped] = field(default_factory=list)

    def as_dict(self, batch: Sequence[Fix]) -> dict[str, Any]:
        by_reason: dict[str, int] = {}
        for d in self.dropped:
            by_reason[d.reason.value] = by_reason.get(d.reason.value, 0) + 1
        return {
            "received": self.received,
            "stored": self.stored,
            "already_stored": self.already_stored,
            "dropped": len(self.dropped),
            "dropped_by_reason": by_reason,
            "dropped_fixes": [
                {"index": d.index, "at": batch[d.index].at.isoformat(), "reason": d.reason.value}
                for d in self.dropped
            ],
        }


def ingest_fixes(
    session: Session,
    user_id: uuid.UUID,
    batch: Sequence[Fix],
    *,
    limits: FieldLimits,
    now: datetime,
) -> IngestResult:
    """Store a batch of fixes (WGS-84) of one person, idempotent per (person, fix time).

    Impossible fixes are dropped and counted by reason (geo.track.filter_fixes), judged
    against the stored fixes around the batch's times, so late and out-of-order batches are
    checked against the track they fit into. One read and one multi-row insert.
    """
    if len(batch) > MAX_FIXES_PER_BATCH:
        raise TooLarge(
            gettext("Send at most {count} fixes per batch.").format(count=MAX_FIXES_PER_BATCH),
            code="too_many_fixes"
        )
    if not batch:
        return IngestResult(0, 0, 0)
    first, last = min(f.at for f in batch), max(f.at for f in batch)
    known = [
        Fix(at, lon, lat, acc)
        for at, lon, lat, acc in session.execute(
            sa.select(TrackFix.fixed_at, TrackFix.lon, TrackFix.lat, TrackFix.accuracy_m).where(
                TrackFix.user_id == user_id,
                TrackFix.fixed_at >= first - ANCHOR_WINDOW,
                TrackFix.fixed_at <= last + ANCHOR_WINDOW,
            )
        )
    ]
    kept, dropped = filter_fixes(
        batch,
        known,
        max_accuracy_m=limits.fix_max_accuracy_m,
        max_speed_mps=limits.fix_max_speed_mps,
        latest_allowed=now + timedelta(seconds=limits.fix_max_future_s),
    )
    known_times = {f.at for f in known}
    already = sum(1 for f in batch if f.at in known_times)
    rows = [batch[i] for i in kept]
    stored = _insert_fixes(session, user_id, rows, now=now) if rows else 0
    return IngestResult(len(batch), stored, already + (len(rows) - stored), dropped)


_UNNEST_INSERT = (
    "INSERT INTO track_fixes (user_id, fixed_at, lon, lat, accuracy_m, speed_mps, received_at) "
    "SELECT %s::uuid, t.*, %s::timestamptz "
    "FROM unnest(%s::text::timestamptz[], %s::text::float8[], "
    "%s::text::float8[], %s::text::float8[], %s::text::float8[]) AS t "
    "ON CONFLICT (user_id, fixed_at) DO NOTHING RETURNING fixed_at"
)


def _float_array(values: Iterable[float | None]) -> str:
    """A PostgreSQL array literal; repr() is the shortest text that reads back the same float.
    (Building the literal here is several times cheaper than the driver adapting a list.)"""
    return "{" + ",".join("NULL" if v is None else repr(float(v)) for v in values) + "}"


def _insert_fixes(
    session: Session, user_id: uuid.UUID, fixes: Sequence[Fix], *, now: datetime
) -> int:
    """Insert new fixes, skipping those stored already; how many were new (RETURNING).

    PostgreSQL gets one statement with one array per column (unnest): a multi-row VALUES
    of 360 x 7 placeholders costs more to build and parse than to store. SQLite gets an
    executemany of the same INSERT ... ON CONFLICT DO NOTHING.
    """
    if is_postgres(session):
        columns = (
            '{"' + '","'.join(f.at.isoformat() for f in fixes) + '"}',
            _float_array(f.lon for f in fixes),
            _float_array(f.lat for f in fixes),
            _float_array(f.accuracy_m for f in fixes),
            _float_array(f.speed_mps for f in fixes),
        )
        return len(
            session.connection()
            .exec_driver_sql(_UNNEST_INSERT, (str(user_id), now, *columns))
            .all()
        )
    table = TrackFix.__table__
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["user_id", "fixed_at"])
        .returning(table.c.fixed_at)
    )
    rows = [
        {
            "user_id": user_id,
            "fixed_at": f.at,
            "lon": f.lon,
            "lat": f.lat,
            "accuracy_m": f.accuracy_m,
            "speed_mps": f.speed_mps,
            "received_at": now,
        }
        for f in fixes
    ]
    return len(session.connection().execute(statement, rows).all())


def ingest_for(
    session: Session,
    actor: Actor,
    batch: Sequence[Fix],
    *,
    crs: CRS,
    limits: FieldLimits,
    now: datetime,
) -> IngestResult:
    """A signed-in field person's own batch, in any CRS."""
    actor.require(FIELD_ROLES, gettext("upload patrol tracks"))
    if crs not in (CRS.WGS84, CRS.CGCS2000) and batch:
        lons, lats = to_wgs84([f.lon for f in batch], [f.lat for f in batch], crs)
        batch = [
            Fix(f.at, float(x), float(y), f.accuracy_m, f.speed_mps)
            for f, x, y in zip(batch, lons, lats, strict=True)
        ]
    return ingest_fixes(session, actor.user_id, batch, limits=limits, now=now)
