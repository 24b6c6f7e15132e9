"""Read side of staff in grids: who sees which postings, field grids, lists, tracks, whereabouts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.errors import NotFound
from server.grids.models import Grid, GridMember
from server.org.models import Unit, User
from server.org.rules import TERRITORY_SIGHTS, Role, Sight, Subject, sights
from server.staff.models import FieldCheck, Posting, PostingGrid, TrackFix
from server.staff.rules import CheckKind, PostingMode


def active_on(day: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        Posting.valid_from <= day, sa.or_(Posting.valid_to.is_(None), Posting.valid_to >= day)
    )


def visible_postings(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """Postings by the need-to-know table (``Subject.POSTINGS``): those to their territory's
    grids (command centres), their department's staff's (its handlers), or their own."""
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return sa.true()
    seen = sights(actor.roles, Subject.POSTINGS)
    clauses: list[sa.ColumnElement[bool]] = [Posting.staff_user_id == actor.user_id]
    if seen & TERRITORY_SIGHTS:
        clauses.append(sa.exists().where(
            PostingGrid.posting_id == Posting.id,
            PostingGrid.grid_id == Grid.id,
            Grid.township_id.in_(scope.township_ids),
        ))
    if Sight.DEPARTMENT in seen and scope.department_path:
        clauses.append(Posting.department_id.in_(sa.select(Unit.id).where(
            Unit.path.startswith(scope.department_path, autoescape=True))))
    return sa.or_(*clauses)


def get_posting_for(session: Session, actor: Actor, posting_id: uuid.UUID) -> Posting:
    posting = session.scalar(
        sa.select(Posting).where(Posting.id == posting_id, visible_postings(session, actor))
    )
    if posting is None:
        raise NotFound("No such posting.", code="posting_not_found")
    return posting


@dataclass(frozen=True)
class PostingPage:
    items: list[Posting]
    next_cursor: str | None


def list_postings(
    session: Session,
    actor: Actor,
    *,
    today: date,
    department_id: uuid.UUID | None = None,
    staff_user_id: uuid.UUID | None = None,
    grid_id: uuid.UUID | None = None,
    township: str | None = None,
    mode: PostingMode | None = None,
    status: str = "active",
    limit: int = 50,
    cursor: str | None = None,
) -> PostingPage:
    """Newest first by creation, keyset-paginated. ``status``: active (today), upcoming,
    ended (its last day has passed), or all."""
    query = sa.select(Posting).where(visible_postings(session, actor))
    if department_id:
        query = query.where(Posting.department_id == department_id)
    if staff_user_id:
        query = query.where(Posting.staff_user_id == staff_user_id)
    if mode:
        query = query.where(Posting.mode == mode)
    if grid_id:
        query = query.where(
            sa.exists().where(PostingGrid.posting_id == Posting.id, PostingGrid.grid_id == grid_id)
        )
    if township:
        query = query.where(
            sa.exists().where(
                PostingGrid.posting_id == Posting.id,
                PostingGrid.grid_id == Grid.id,
                Grid.township_id == Unit.id,
                Unit.code == township,
            )
        )
    if status == "active":
        query = query.where(active_on(today))
    elif status == "upcoming":
        query = query.where(Posting.valid_from > today)
    elif status == "ended":
        query = query.where(Posting.valid_to < today)
    if cursor:
        at, row_id = decode_time_cursor(cursor)
        query = query.where(
            sa.or_(Posting.created_at < at, sa.and_(Posting.created_at == at, Posting.id < row_id))
        )
    rows = list(
        session.scalars(
            query.order_by(Posting.created_at.desc(), Posting.id.desc()).limit(limit + 1)
        ).unique()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return PostingPage(rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)


def field_grid_ids(
    session: Session, user: User | Actor, day: date
) -> dict[uuid.UUID, uuid.UUID | None]:
    """The grids a person works in on ``day``: their postings' grids (grid -> posting) and
    the grids they are a member of as grid worker or leader (grid -> None)."""
    user_id = user.user_id if isinstance(user, Actor) else user.id
    found: dict[uuid.UUID, uuid.UUID | None] = {}
    rows = session.execute(
        sa.select(PostingGrid.grid_id, Posting.id)
        .join(Posting, Posting.id == PostingGrid.posting_id)
        .where(Posting.staff_user_id == user_id, active_on(day))
        .order_by(Posting.created_at)
    )
    for grid_id, posting_id in rows:
        found.setdefault(grid_id, posting_id)
    for grid_id in session.scalars(
        sa.select(GridMember.grid_id).where(GridMember.user_id == user_id)
    ):
        found.setdefault(grid_id, None)
    return found


def active_version(session: Session, grid: Grid) -> Grid:
    """The active version of a grid's code if ``grid`` was replaced, else ``grid``."""
    if grid.retired_at is None:
        return grid
    active = session.scalar(sa.select(Grid).where(Grid.code == grid.code,
                                                  Grid.retired_at.is_(None)))
    return active if active is not None else grid


def version_map(session: Session, grid_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Every version of the given grids' codes -> the given grid of that code.

    Check-ins recorded before a grid was replaced name the old version, while the posting
    (moved with the grid) names the new one; compliance reads both as the posted grid.
    Several given versions of one code (an ended posting kept the old one): each keeps its
    own id, and the others map to the newest given.
    """
    ids = set(grid_ids)
    if not ids:
        return {}
    codes = sa.select(Grid.code).where(Grid.id.in_(ids))
    rows = session.execute(
        sa.select(Grid.id, Grid.code).where(Grid.code.in_(codes)).order_by(Grid.created_at)
    ).all()
    newest_given: dict[str, uuid.UUID] = {code: gid for gid, code in rows if gid in ids}
    return {gid: gid if gid in ids else newest_given[code] for gid, code in rows}


def grids_by_id(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Grid]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {g.id: g for g in session.scalars(sa.select(Grid).where(Grid.id.in_(ids)))}


def visible_people(session: Session, actor: Actor, *, today: date,
                   subject: Subject = Subject.WHEREABOUTS) -> sa.ColumnElement[bool]:
    """People whose whereabouts (or track: ``subject``) an actor may see, by the
    need-to-know table: for a command centre the users of their unit subtree (a district
    sees its departments and townships) plus staff posted to their territory's grids today;
    for a department's handlers its own staff; everyone sees themselves."""
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return sa.true()
    seen = sights(actor.roles, subject)
    clauses: list[sa.ColumnElement[bool]] = [User.id == actor.user_id]
    if seen & TERRITORY_SIGHTS:
        clauses.append(sa.exists().where(
            Posting.staff_user_id == User.id,
            active_on(today),
            PostingGrid.posting_id == Posting.id,
            PostingGrid.grid_id == Grid.id,
            Grid.township_id.in_(scope.township_ids),
        ))
        clauses.append(_user_under(scope.unit_paths or ()))
    if Sight.DEPARTMENT in seen and scope.department_path:
        clauses.append(_user_under((scope.department_path,)))
    return sa.or_(*clauses)


def _user_under(paths: Iterable[str]) -> sa.ColumnElement[bool]:
    return sa.exists().where(Unit.id == User.unit_id, sa.or_(
        sa.false(), *(Unit.path.startswith(p, autoescape=True) for p in paths)))


def get_person_for(session: Session, actor: Actor, user_id: uuid.UUID, *, today: date,
                   subject: Subject = Subject.TRACKS) -> User:
    if user_id == actor.user_id:
        user = session.get(User, user_id)
    else:
        user = session.scalar(sa.select(User).where(
            User.id == user_id, visible_people(session, actor, today=today, subject=subject)))
    if user is None:
        raise NotFound("No such person.", code="person_not_found")
    return user


@dataclass(frozen=True)
class Position:
    user: User
    source: str  # check_in | check_out | fix
    at: datetime
    lon: float
    lat: float
    accuracy_m: float | None


def latest_positions(
    session: Session, actor: Actor, *, since: datetime, today: date, field_roles: Iterable[Role]
) -> list[Position]:
    """The latest check-in, check-out or fix since ``since`` of each field person the actor
    sees (one query for checks, one for fixes, both on (user, time) indexes)."""
    people = {
        u.id: u
        for u in session.scalars(
            sa.select(User).where(
                User.is_active.is_(True), visible_people(session, actor, today=today)
            )
        ).unique()
        if u.roles & frozenset(field_roles)
    }
    if not people:
        return []
    ids = list(people)
    latest: dict[uuid.UUID, Position] = {}
    last_check = (
        sa.select(FieldCheck.user_id, sa.func.max(FieldCheck.recorded_at).label("at"))
        .where(FieldCheck.user_id.in_(ids), FieldCheck.recorded_at >= since)
        .group_by(FieldCheck.user_id)
        .subquery()
    )
    for check in session.scalars(
        sa.select(FieldCheck).join(
            last_check,
            sa.and_(
                FieldCheck.user_id == last_check.c.user_id,
                FieldCheck.recorded_at == last_check.c.at,
            ),
        )
    ):
        latest[check.user_id] = Position(
            people[check.user_id],
            check.kind.value,
            check.recorded_at,
            check.lon,
            check.lat,
            check.accuracy_m,
        )
    last_fix = (
        sa.select(TrackFix.user_id, sa.func.max(TrackFix.fixed_at).label("at"))
        .where(TrackFix.user_id.in_(ids), TrackFix.fixed_at >= since)
        .group_by(TrackFix.user_id)
        .subquery()
    )
    for fix in session.scalars(
        sa.select(TrackFix).join(
            last_fix,
            sa.and_(TrackFix.user_id == last_fix.c.user_id, TrackFix.fixed_at == last_fix.c.at),
        )
    ):
        known = latest.get(fix.user_id)
        if known is None or fix.fixed_at > known.at:
            latest[fix.user_id] = Position(
                people[fix.user_id], "fix", fix.fixed_at, fix.lon, fix.lat, fix.accuracy_m
            )
    return sorted(latest.values(), key=lambda p: (p.user.username, p.at))


def track(
    session: Session, user_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[TrackFix]:
    return session.scalars(
        sa.select(TrackFix)
        .where(TrackFix.user_id == user_id, TrackFix.fixed_at >= start, TrackFix.fixed_at < end)
        .order_by(TrackFix.fixed_at)
    ).all()


def checks(
    session: Session,
    user_ids: Iterable[uuid.UUID],
    start: datetime,
    end: datetime,
    kind: CheckKind = CheckKind.CHECK_IN,
) -> Sequence[FieldCheck]:
    ids = list(user_ids)
    if not ids:
        return []
    return session.scalars(
        sa.select(FieldCheck)
        .where(
            FieldCheck.user_id.in_(ids),
            FieldCheck.kind == kind,
            FieldCheck.recorded_at >= start,
            FieldCheck.recorded_at < end,
        )
        .order_by(FieldCheck.recorded_at)
    ).all()


def people_for(session: Session, actor: Actor, user_ids: Sequence[uuid.UUID], *, today: date,
               subject: Subject = Subject.TRACKS) -> list[User]:
    """The people of ``user_ids`` in the order asked, each as ``get_person_for`` would load
    them (oneself always); one outside sight raises ``person_not_found`` like an unknown id."""
    wanted = list(dict.fromkeys(user_ids))
    found = {u.id: u for u in session.scalars(sa.select(User).where(
        User.id.in_(wanted),
        sa.or_(User.id == actor.user_id,
               visible_people(session, actor, today=today, subject=subject))))}
    if len(found) < len(wanted):
        raise NotFound("No such person.", code="person_not_found")
    return [found[i] for i in wanted]


def count_fixes(session: Session, user_ids: Sequence[uuid.UUID], start: datetime,
                end: datetime) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(TrackFix).where(
        TrackFix.user_id.in_(list(user_ids)), TrackFix.fixed_at >= start,
        TrackFix.fixed_at < end)) or 0


def tracks(session: Session, user_ids: Sequence[uuid.UUID], start: datetime, end: datetime
           ) -> dict[uuid.UUID, list[TrackFix]]:
    """Each person's fixes in [start, end), oldest first, in one query."""
    by_user: dict[uuid.UUID, list[TrackFix]] = {u: [] for u in user_ids}
    for fix in session.scalars(sa.select(TrackFix).where(
            TrackFix.user_id.in_(list(user_ids)), TrackFix.fixed_at >= start,
            TrackFix.fixed_at < end).order_by(TrackFix.user_id, TrackFix.fixed_at)):
        by_user[fix.user_id].append(fix)
    return by_user
