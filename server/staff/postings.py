"""Postings of department staff to grids (驻格 / 巡格): create, end, and import a list."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.core import sheets
from server.core.errors import Conflict, Invalid, TooLarge
from server.core.i18n import gettext
from server.core.trail import record_change, state_of
from server.grids.models import Grid
from server.grids.queries import visible_grids
from server.org.models import Unit, User
from server.org.rules import Role, UnitKind
from server.staff.models import Posting, PostingGrid
from server.staff.postings_csv import PostingRow, PostingsFile, RowProblem
from server.staff.rules import (
    MANAGE_POSTINGS,
    PostingMode,
    Schedule,
    VisitPeriod,
    local_date,
    overlap,
)

MAX_POSTINGS_PER_IMPORT = 5000
MAX_PROBLEMS_REPORTED = 200


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
    grids = _visible_grids(session, actor, grid_ids)
    return [grids[i] for i in dict.fromkeys(grid_ids) if i in grids], _grid_problems(
        grids, department, grid_ids)


def _visible_grids(
    session: Session, actor: Actor, grid_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Grid]:
    return {
        g.id: g
        for g in session.scalars(
            sa.select(Grid).where(Grid.id.in_(list(grid_ids)), visible_grids(session, actor))
        )
    }


def _grid_problems(
    visible: dict[uuid.UUID, Grid], department: Unit, grid_ids: Sequence[uuid.UUID]
) -> list[str]:
    reasons = []
    for grid_id in grid_ids:
        grid = visible.get(grid_id)
        if grid is None:
            reasons.append(f"No grid {grid_id} in your territory.")
        elif grid.retired_at is not None:
            reasons.append(f"Grid {grid.code} is retired.")
        elif department.parent is not None and not grid.township.path.startswith(
            department.parent.path
        ):
            reasons.append(f"Grid {grid.code} is outside the department's district.")
    return reasons


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
    record_change(session, actor, "posting.created", posting, code=staff.username,
                  after=state_of("posting", posting), now=now)
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
    before = state_of("posting", posting)
    posting.valid_to, posting.ended_at, posting.updated_at = last, now, now
    posting.ended_by_user_id, posting.end_reason = actor.user_id, reason
    session.flush()
    record_change(session, actor, "posting.ended", posting, code=posting.staff.username,
                  before=before, after=state_of("posting", posting), note=reason, now=now)
    return posting


def import_postings(
    session: Session, actor: Actor, file: PostingsFile, *, dry_run: bool, now: datetime
) -> list[Posting]:
    """Create postings from a list, all or nothing: every row's problems in one answer.

    Each row is checked like a single posting, and against earlier rows of the file. Four
    reads whatever the size: the users named, the grids named (active), those of them in
    the actor's territory, and the stored postings of those people on those grids.
    """
    actor.require(MANAGE_POSTINGS, gettext("post department staff to grids"))
    if len(file.rows) > MAX_POSTINGS_PER_IMPORT:
        raise TooLarge(
            f"At most {MAX_POSTINGS_PER_IMPORT} postings per import; split the file.",
            code="too_many_postings",
        )
    if not file.rows and not file.problems:
        raise Invalid.for_field(
            "rows", "The file lists no postings.", location=file.location,
            code="postings_file_empty"
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
    visible = _visible_grids(session, actor, {g.id for g in grids.values()})
    stored = _stored_spans(session, {u.id for u in users.values()}, visible.keys())
    problems = list(file.problems)
    accepted: list[tuple[PostingRequest, User]] = []
    # Every span earlier rows of the file post each (person, grid) for, not only the last.
    seen: dict[tuple[uuid.UUID, uuid.UUID], list[tuple[date, date]]] = defaultdict(list)
    for row in file.rows:
        found, req = _check_row(session, actor, row, users, grids, visible, stored, seen)
        problems.extend(found)
        if req is not None:
            accepted.append((req, users[row.staff]))
    if problems:
        raise sheets.rejection(
            problems, code="posting_import_rejected", location=file.location,
            collection="rows", numbering="line" if file.sheet is None else "row",
            max_shown=MAX_PROBLEMS_REPORTED, sheet=file.sheet)
    if dry_run:
        return []
    return [_add_posting(session, actor, req, user, now=now) for req, user in accepted]


Spans = dict[tuple[uuid.UUID, uuid.UUID], list[tuple[date, date]]]


def _stored_spans(
    session: Session, user_ids: Collection[uuid.UUID], grid_ids: Collection[uuid.UUID]
) -> Spans:
    """(person, grid) -> the periods stored postings cover, in one query."""
    spans: Spans = defaultdict(list)
    if not user_ids or not grid_ids:
        return spans
    rows = session.execute(
        sa.select(Posting.staff_user_id, PostingGrid.grid_id, Posting.valid_from,
                  Posting.valid_to)
        .join(PostingGrid, PostingGrid.posting_id == Posting.id)
        .where(Posting.staff_user_id.in_(list(user_ids)),
               PostingGrid.grid_id.in_(list(grid_ids)))
    )
    for user_id, grid_id, first, last in rows:
        spans[(user_id, grid_id)].append((first, last or date.max))
    return spans


def _check_row(
    session: Session,
    actor: Actor,
    row: PostingRow,
    users: dict[str, User],
    grids: dict[str, Grid],
    visible: dict[uuid.UUID, Grid],
    stored: Spans,
    seen: Spans,
) -> tuple[list[RowProblem], PostingRequest | None]:
    """One row's problems, and its request when it has none; no query of its own (the
    actor's scope is computed once per request)."""
    found: list[RowProblem] = []

    def problem(name: str, slug: str, reason: str) -> None:
        found.append(RowProblem(row.line, row.staff, name, slug, reason))

    user = users.get(row.staff)
    why = _check_staff(session, actor, user)
    if why:
        problem("staff", "staff_not_postable", why)
        return found, None
    unknown = [c for c in row.grid_codes if c not in grids]
    if unknown or not row.grid_codes:
        problem("grids", "unknown_grid", f"No active grid {', '.join(unknown) or '(none)'}.")
        return found, None
    req = PostingRequest(
        staff_user_id=user.id, grid_ids=[grids[c].id for c in row.grid_codes], **row.fields
    )
    for name, message in _meaning_problems(req):
        problem(name, "posting_invalid", message)
    for message in _grid_problems(visible, user.unit, req.grid_ids):
        problem("grids", "grid_not_postable", message)
    span = (req.valid_from, req.valid_to or date.max)
    clash = [
        code
        for code, g in zip(row.grid_codes, req.grid_ids, strict=True)
        if any(overlap(span[0], span[1], *other)
               for other in (*stored.get((user.id, g), ()), *seen[(user.id, g)]))
    ]
    if clash:
        problem("grids", "posting_overlaps",
                f"{row.staff} is already posted to {', '.join(sorted(set(clash)))} then.")
    for g in req.grid_ids:
        seen[(user.id, g)].append(span)
    return found, None if found else req
