"""Scoped reads of cases: visibility by role, lists with filters, timeline, duplicates, privacy."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from geo.measure import degree_margin, distance_m
from server.auth.actor import Actor
from server.auth.services import scope_of
from server.cases.models import Case, CaseCooperator, CaseEvent, CaseSpecialGrid, PersonalDataAccess
from server.cases.rules import (
    DISPATCHER_ROLES,
    OPEN_STATUSES,
    CaseStatus,
    Channel,
    PersonalDataView,
    personal_data_view,
)
from server.catalogue.models import CatalogueItem
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.errors import NotFound
from server.core.i18n import _
from server.grids.models import Grid
from server.org.models import Unit
from server.org.rules import Role

DEPARTMENT_ROLES = frozenset({Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_STAFF})


def visible_cases(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """A case is visible to: admins and auditors; dispatchers and grid leaders of its
    territory; the departments that lead or cooperate on it; grid workers of its grid; and
    whoever received it."""
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return sa.true()
    clauses: list[sa.ColumnElement[bool]] = [Case.received_by_user_id == actor.user_id]
    if actor.has_any({Role.DISTRICT_DISPATCHER, Role.TOWNSHIP_DISPATCHER, Role.GRID_LEADER}):
        clauses.append(Case.township_id.in_(scope.township_ids))
    if actor.has_any({Role.DISTRICT_DISPATCHER}):
        district_ids = [uuid.UUID(p.strip("/").split("/")[-1]) for p in scope.unit_paths or ()]
        clauses.append(Case.district_id.in_(district_ids))
    if actor.has_any(DEPARTMENT_ROLES):
        clauses.append(Case.lead_unit_id == actor.unit_id)
        clauses.append(Case.id.in_(
            sa.select(CaseCooperator.case_id).where(CaseCooperator.unit_id == actor.unit_id)))
    if actor.has_any({Role.GRID_WORKER}):
        member_codes = sa.select(Grid.code).where(Grid.id.in_(scope.grid_ids))
        clauses.append(Case.basic_grid_code.in_(member_codes))
    return sa.or_(*clauses)


def get_case_for(session: Session, actor: Actor, case_id: uuid.UUID) -> Case:
    case = session.scalar(sa.select(Case).where(Case.id == case_id, visible_cases(session, actor)))
    if case is None:
        raise NotFound("No such case.", code="case_not_found")
    return case


def get_case_for_update(session: Session, actor: Actor, case_id: uuid.UUID) -> Case:
    """Like get_case_for, the case's row locked first (PostgreSQL; SQLite has one writer).

    A transition touches the case's deadlines and reminders before it writes the case row;
    a phone's push locks its cases first. Locking here too puts every writer of a case in
    the same order, so they wait for each other instead of deadlocking. The version check in
    the transition still answers a client that read an older version.
    """
    session.execute(sa.select(Case.id).where(Case.id == case_id).with_for_update())
    return get_case_for(session, actor, case_id)


@dataclass(frozen=True)
class CaseFilters:
    number: str | None = None
    city_order_number: str | None = None
    resident_phone: str | None = None
    status: tuple[CaseStatus, ...] = ()
    lead_unit_id: uuid.UUID | None = None
    grid_code: str | None = None
    category_prefix: str | None = None
    channel: Channel | None = None
    overdue: bool | None = None
    needs_triage: bool | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat


@dataclass(frozen=True)
class CasePage:
    cases: list[Case]
    next_cursor: str | None


def _in_grid(session: Session, code: str) -> sa.ColumnElement[bool]:
    """Cases whose basic grid or one of whose special grids has this code.

    Most codes name a basic grid, which no case has as a special grid: then the list query
    needs no OR with a subquery, which PostgreSQL can only check row by row along
    ix_cases_received, and it can use ix_cases_open_grid instead. For a special grid's code
    the OR stays: its cases are dense enough for that walk to stop early.
    """
    basic = Case.basic_grid_code == code
    if not session.scalar(sa.select(sa.exists().where(CaseSpecialGrid.grid_code == code))):
        return basic
    return sa.or_(basic, Case.id.in_(
        sa.select(CaseSpecialGrid.case_id).where(CaseSpecialGrid.grid_code == code)))


def _status_in(statuses: Iterable[CaseStatus]) -> sa.ColumnElement[bool]:
    """``status IN (...)`` with the statuses written into the SQL, not sent as parameters.

    The open-case indexes are partial (``WHERE status <> 'closed'``). psycopg prepares a
    statement after five runs and PostgreSQL may then plan it once for any parameters (a
    generic plan); with the statuses as parameters it cannot prove that they exclude
    'closed', so it leaves those indexes out and walks ix_cases_received: 116 ms instead of
    0.8 for open cases of one category in one grid over 1,000,000 cases (EXPLAIN of the
    generic plan). Statuses are our own enum's values, so writing them in is safe, and a
    filter has few combinations, so the plan cache stays small.
    """
    values = sorted({CaseStatus(s).value for s in statuses})
    return Case.status.in_([sa.literal(v, sa.String(), literal_execute=True) for v in values])


def _number(value: float) -> sa.ColumnElement[float]:
    """A coordinate written into the SQL (a finite float: the schema checked it)."""
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("bbox coordinates are finite numbers")
    return sa.literal(number, sa.Float(), literal_execute=True)


def list_cases(session: Session, actor: Actor, filters: CaseFilters, *, now: datetime,
               limit: int = 50, cursor: str | None = None) -> CasePage:
    """Newest first (received_at, then id), keyset-paginated: stable while cases arrive."""
    query = sa.select(Case).where(visible_cases(session, actor)).options(
        selectinload(Case.category))
    f = filters
    if f.resident_phone is not None:
        actor.require(PHONE_LOOKUP_ROLES, _("look cases up by the resident's phone"))
        query = query.where(Case.resident_phone == f.resident_phone)
    if f.number is not None:
        query = query.where(Case.number == f.number)
    if f.city_order_number is not None:
        query = query.where(Case.city_order_number == f.city_order_number)
    if f.status:
        query = query.where(_status_in(f.status))
    if f.lead_unit_id is not None:
        query = query.where(Case.lead_unit_id == f.lead_unit_id)
    if f.grid_code is not None:
        query = query.where(_in_grid(session, f.grid_code))
    if f.category_prefix is not None:
        query = query.where(
            sa.or_(
                Case.category_code == f.category_prefix,
                Case.category_code.startswith(f.category_prefix + ".", autoescape=True),
            )
        )
    if f.channel is not None:
        query = query.where(Case.channel == f.channel)
    if f.needs_triage is not None:
        query = query.where(Case.needs_triage.is_(f.needs_triage))
    if f.overdue is not None:
        late = sa.and_(_status_in([CaseStatus.DISPATCHED, CaseStatus.ACCEPTED,
                                   CaseStatus.IN_PROGRESS]), Case.completion_due_at < now)
        query = query.where(late if f.overdue else sa.not_(late))
    if f.received_from is not None:
        query = query.where(Case.received_at >= f.received_from)
    if f.received_to is not None:
        query = query.where(Case.received_at < f.received_to)
    if f.bbox is not None:
        # Written into the SQL too: a generic plan guesses a box holds 15 cases, takes
        # ix_cases_lon_lat and sorts all the box's cases (7,396 for ~500 m, 808 ms cold);
        # planned for the real box it walks ix_cases_received and stops at 51 (1.4 ms).
        # Every box is its own statement, so psycopg never prepares one.
        min_lon, min_lat, max_lon, max_lat = (_number(v) for v in f.bbox)
        query = query.where(Case.lon.between(min_lon, max_lon), Case.lat.between(min_lat, max_lat))
    if cursor is not None:
        at, after_id = decode_time_cursor(cursor)
        query = query.where(sa.or_(Case.received_at < at,
                                   sa.and_(Case.received_at == at, Case.id < after_id)))
    rows = list(session.scalars(query.order_by(Case.received_at.desc(), Case.id.desc())
                                .limit(limit + 1)))
    last = rows[limit - 1] if len(rows) > limit else None
    cases = rows[:limit]
    if f.resident_phone is not None:
        cases = _found_by_phone(session, actor, cases, now=now)
    return CasePage(cases, encode_cursor(last.received_at, last.id) if last else None)


# Roles that may see residents' data on some cases (personal_data_view): only they may look a
# phone up, and only among the cases whose data they see.
PHONE_LOOKUP_ROLES = DISPATCHER_ROLES | {Role.DEPARTMENT_HANDLER}


def _found_by_phone(session: Session, actor: Actor, cases: list[Case], *,
                    now: datetime) -> list[Case]:
    """The cases a phone lookup may answer: those whose resident data the actor sees unmasked
    (a masked or hidden case would tie the phone to it). Each is logged, purpose ``lookup``.
    A page may so hold fewer cases than ``limit``; the cursor still goes on."""
    shown = [c for c in cases
             if personal_data_view_for(session, actor, c) is PersonalDataView.SHOWN]
    for case in shown:
        log_personal_data_access(session, actor, case, "lookup", now=now)
    return shown


def timeline(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(
        sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))


# Keys of event data that name units: one unit, or a list of them.
EVENT_UNIT_KEYS = ("lead_unit_id", "community_unit_id")
EVENT_UNIT_LIST_KEYS = ("cooperating_unit_ids",)


def _event_unit_ids(event: CaseEvent) -> set[uuid.UUID]:
    ids = {event.actor_unit_id} if event.actor_unit_id else set()
    ids |= {uuid.UUID(event.data[k]) for k in EVENT_UNIT_KEYS if event.data.get(k)}
    ids |= {uuid.UUID(u) for k in EVENT_UNIT_LIST_KEYS for u in event.data.get(k) or ()}
    return ids


@dataclass(frozen=True)
class TimelineNames:
    """What a timeline's ids and codes are called: its units, and catalogue items by code."""

    units: dict[uuid.UUID, Unit]
    items: dict[str, str]


def timeline_names(session: Session, events: list[CaseEvent]) -> TimelineNames:
    """Two queries for the whole timeline: the units its events name, and the names of the
    catalogue items the automatic dispatches used (for events written before the name was
    kept with them)."""
    unit_ids = set().union(*(_event_unit_ids(e) for e in events)) if events else set()
    units = {u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(unit_ids)))
             } if unit_ids else {}
    codes = {e.data["item"] for e in events if e.data.get("item") and not e.data.get("item_name")}
    items = dict(session.execute(sa.select(CatalogueItem.code, CatalogueItem.name).where(
        CatalogueItem.code.in_(codes))).all()) if codes else {}
    return TimelineNames(units, items)


@dataclass(frozen=True)
class NearbyCase:
    case: sa.Row  # id, number, status, received_at, lon, lat: what the answer names
    distance_m: float


def nearby_duplicates(session: Session, case: Case, *, within_m: float, period: timedelta,
                      limit: int = 20) -> list[NearbyCase]:
    """Open cases of the same category within ``within_m`` metres and ``period`` before it."""
    if case.lon is None or case.category_code is None:
        return []
    dlon, dlat = degree_margin(case.lat, within_m)
    candidates = session.execute(
        sa.select(Case.id, Case.number, Case.status, Case.received_at, Case.lon, Case.lat).where(
            Case.id != case.id, Case.category_code == case.category_code,
            Case.status.in_(OPEN_STATUSES), Case.received_at >= case.received_at - period,
            Case.lon.between(case.lon - dlon, case.lon + dlon),
            Case.lat.between(case.lat - dlat, case.lat + dlat),
        # Only the columns the answer names: no case objects (and their ~70 columns) built.
        )
    )
    found = [NearbyCase(c, round(distance_m(case.lon, case.lat, c.lon, c.lat), 1))
             for c in candidates]
    found = [n for n in found if n.distance_m <= within_m]
    return sorted(found, key=lambda n: (n.distance_m, n.case.number))[:limit]


def personal_data_view_for(session: Session, actor: Actor, case: Case) -> PersonalDataView:
    scope = scope_of(session, actor)
    dispatcher_here = actor.has_any(DISPATCHER_ROLES) and (
        scope.township_ids is None or case.township_id in scope.township_ids
        or (actor.has_any({Role.DISTRICT_DISPATCHER}) and case.district_id is not None and any(
            f"/{case.district_id.hex}/" in p for p in scope.unit_paths or ())))
    lead_handler = (case.lead_unit_id is not None and actor.has_any(
        {Role.DEPARTMENT_HANDLER, Role.TOWNSHIP_DISPATCHER})
        and f"/{case.lead_unit_id.hex}/" in actor.unit_path)
    return personal_data_view(
        confidential=case.confidential,
        is_receiving_dispatcher=actor.user_id == case.received_by_user_id
        and actor.has_any(DISPATCHER_ROLES),
        is_dispatcher_in_scope=dispatcher_here,
        is_lead_handler=lead_handler,
    )


def log_personal_data_access(session: Session, actor: Actor, case: Case, purpose: str, *,
                             now: datetime) -> None:
    session.add(PersonalDataAccess(case_id=case.id, user_id=actor.user_id, at=now, purpose=purpose))
