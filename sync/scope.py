"""What a device should hold now, per role, and how each synced record looks on the wire.

Grid workers (reach: their own grids) hold their grids (basic, and the special grids of
their townships: ``server.grids.queries.visible_grids``), the units of their townships'
subtrees, the active catalogue, the cases they can see (``visible_cases``) that are open or
were closed in the last ``history_days``, those cases' events, and their inbox of the last
``history_days``. Everyone else who syncs (dispatchers, grid leaders, department staff and
handlers) holds only the *open* cases they can see, with the same reference data for their
territory (the grids of their townships, their district's or township's unit subtree):
their territory's open work bounds it, history stays on the web. Admins and auditors, who
see everything, do not sync (``sync.pull`` refuses them).

Retired grid versions and inactive catalogue items leave the phone. Personal data is masked
exactly as ``server.api.cases.routes.case_view`` masks it for the actor; an unmasked
delivery is written to the personal-data access log (purpose ``sync``), a masked one is not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry import mapping
from sqlalchemy.orm import Session, aliased, lazyload

from server.auth.services import scope_of
from server.cases.models import Case, CaseEvent
from server.cases.queries import log_personal_data_access, personal_data_view_for, visible_cases
from server.cases.rules import CaseStatus, PersonalDataView, allowed_actions, mask_name, mask_phone
from server.cases.standing import standings_of
from server.catalogue.models import CatalogueItem
from server.catalogue.rules import hours_from_minutes
from server.grids.models import Grid, GridMember
from server.grids.queries import visible_grids
from server.org.models import Unit, User, UserRole
from server.org.rules import Reach
from server.staff.models import Posting
from server.supervision.models import Notification
from server.supervision.queries import visible_notifications
from server.whistle.models import WhistleCall
from sync.protocol import Tier
from sync.staff_scope import posting_records, postings
from sync.tables import SyncContext, SyncedTable, register, watch
from sync.whistle_scope import whistle_call_records, whistle_calls

NO_PARENT = sa.null().cast(sa.Uuid)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _tier(tier: Tier) -> sa.ColumnElement[int]:
    return sa.literal(int(tier), sa.Integer)


def holds_history(ctx: SyncContext) -> bool:
    return ctx.actor.reach is Reach.OWN_GRIDS


def _since(ctx: SyncContext) -> datetime:
    return ctx.now - timedelta(days=ctx.history_days)


# --- units -----------------------------------------------------------------------------

def _units(session: Session, ctx: SyncContext) -> sa.Select:
    scope = scope_of(session, ctx.actor)
    query = sa.select(Unit.id, _tier(Tier.REFERENCE), NO_PARENT)
    if holds_history(ctx):
        township = aliased(Unit)
        return query.where(sa.exists().where(township.id.in_(scope.township_ids),
                                             Unit.path.startswith(township.path)))
    return query.where(sa.or_(sa.false(), *(Unit.path.startswith(p, autoescape=True)
                                            for p in scope.unit_paths or ())))


def _unit_records(session: Session, ctx: SyncContext, ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = session.scalars(sa.select(Unit).where(Unit.id.in_(ids)).options(lazyload("*")))
    return [{"id": str(u.id), "code": u.code, "name": u.name, "kind": u.kind.value,
             "parent_id": _str(u.parent_id), "population": u.population,
             "department_kind": u.department_kind} for u in rows]


# --- grids -----------------------------------------------------------------------------

def _grids(session: Session, ctx: SyncContext) -> sa.Select:
    return sa.select(Grid.id, _tier(Tier.REFERENCE), NO_PARENT).where(
        visible_grids(session, ctx.actor), Grid.retired_at.is_(None))


def _grid_records(session: Session, ctx: SyncContext, ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = session.scalars(sa.select(Grid).where(Grid.id.in_(ids)).options(lazyload("*")))
    return [{"id": str(g.id), "code": g.code, "name": g.name, "kind": g.kind.value,
             "township_id": str(g.township_id), "community_id": _str(g.community_id),
             "owner_unit_id": _str(g.owner_unit_id), "area_m2": g.area_m2,
             "bbox": [g.min_lon, g.min_lat, g.max_lon, g.max_lat],
             # RFC 7946 ring orientation, WGS-84 lon/lat, as the grids API exports.
             "boundary": mapping(shapely.orient_polygons(g.boundary)),
             "created_at": _iso(g.created_at)} for g in rows]


# --- catalogue -------------------------------------------------------------------------

def _catalogue(session: Session, ctx: SyncContext) -> sa.Select:
    return sa.select(CatalogueItem.id, _tier(Tier.REFERENCE), NO_PARENT).where(
        CatalogueItem.active.is_(True))


def _catalogue_records(session: Session, ctx: SyncContext,
                       ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = session.scalars(sa.select(CatalogueItem).where(CatalogueItem.id.in_(ids)))
    return [{"id": str(i.id), "code": i.code, "parent_code": i.parent_code, "name": i.name,
             "description": i.description, "lead": i.lead, "cooperating": list(i.cooperating),
             "response_limit_hours": hours_from_minutes(i.response_limit_minutes),
             "completion_limit_hours": hours_from_minutes(i.completion_limit_minutes),
             "returnable": i.returnable, "updated_at": _iso(i.updated_at)} for i in rows]


# --- cases and their events ------------------------------------------------------------

def _case_clause(session: Session, ctx: SyncContext) -> sa.ColumnElement[bool]:
    still_open = Case.status != CaseStatus.CLOSED
    if holds_history(ctx):
        recent = sa.and_(Case.status == CaseStatus.CLOSED, Case.closed_at >= _since(ctx))
        return sa.and_(visible_cases(session, ctx.actor), sa.or_(still_open, recent))
    return sa.and_(visible_cases(session, ctx.actor), still_open)


_CASE_TIER = sa.case((Case.status == CaseStatus.CLOSED, int(Tier.HISTORY)),
                     else_=int(Tier.URGENT))


def _cases(session: Session, ctx: SyncContext) -> sa.Select:
    return sa.select(Case.id, _CASE_TIER, NO_PARENT).where(_case_clause(session, ctx))


def _resident(session: Session, ctx: SyncContext, case: Case) -> dict[str, Any]:
    view = personal_data_view_for(session, ctx.actor, case)
    name = phone = None
    if view is PersonalDataView.SHOWN:
        name, phone = case.resident_name, case.resident_phone
        if name or phone:
            log_personal_data_access(session, ctx.actor, case, "sync", now=ctx.now)
    elif view is PersonalDataView.MASKED:
        name, phone = mask_name(case.resident_name), mask_phone(case.resident_phone)
    return {"resident_view": view.value, "resident_name": name, "resident_phone": phone}


_CASE_FIELDS = ("number", "category_code", "title", "description", "version", "address", "lon",
                "lat", "input_crs", "basic_grid_code", "confidential", "attachments",
                "needs_triage", "triage_reason", "result", "resolved", "rehandle_count",
                "extension_state", "exemption_state", "event_count")
_CASE_TIMES = ("received_at", "dispatched_at", "response_due_at", "completion_due_at",
               "responded_at", "completed_at", "closed_at", "updated_at")
_CASE_IDS = ("basic_grid_id", "township_id", "district_id", "lead_unit_id", "master_case_id")


def _case_records(session: Session, ctx: SyncContext, ids: Sequence[uuid.UUID]) -> list[dict]:
    # Units travel as ids: no joined lead unit or township per case.
    rows = session.scalars(sa.select(Case).where(Case.id.in_(ids))
                           .options(lazyload(Case.lead_unit), lazyload(Case.township))).all()
    # What this phone's user may do, by the same rule the transitions enforce.
    standings = standings_of(session, ctx.actor, rows)
    return [{
        "id": str(c.id),
        **{name: getattr(c, name) for name in _CASE_FIELDS},
        **{name: _iso(getattr(c, name)) for name in _CASE_TIMES},
        **{name: _str(getattr(c, name)) for name in _CASE_IDS},
        "channel": c.channel.value, "appeal_type": c.appeal_type.value,
        "urgency": c.urgency.value, "status": c.status.value,
        "satisfaction": c.satisfaction.value if c.satisfaction else None,
        "special_grid_codes": [g.grid_code for g in c.special_grids],
        "cooperating_unit_ids": [str(u.unit_id) for u in c.cooperators],
        "allowed_actions": [a.value for a in allowed_actions(standings[c.id])],
        **_resident(session, ctx, c),
    } for c in rows]


def _events(session: Session, ctx: SyncContext) -> sa.Select:
    return (sa.select(CaseEvent.id, _CASE_TIER, CaseEvent.case_id)
            .join(Case, Case.id == CaseEvent.case_id).where(_case_clause(session, ctx)))


def _event_records(session: Session, ctx: SyncContext, ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = session.scalars(sa.select(CaseEvent).where(CaseEvent.id.in_(ids))
                           .order_by(CaseEvent.case_id, CaseEvent.seq))
    return [{"id": str(e.id), "case_id": str(e.case_id), "seq": e.seq, "at": _iso(e.at),
             "action": e.action, "from_status": e.from_status, "to_status": e.to_status,
             "actor_username": e.actor_username, "actor_roles": list(e.actor_roles),
             "actor_unit_id": _str(e.actor_unit_id), "data": e.data} for e in rows]


# --- the inbox -------------------------------------------------------------------------

def _notifications(session: Session, ctx: SyncContext) -> sa.Select:
    return sa.select(Notification.id, _tier(Tier.URGENT), NO_PARENT).where(
        visible_notifications(session, ctx.actor), Notification.created_at >= _since(ctx))


def _notification_records(session: Session, ctx: SyncContext,
                          ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = session.scalars(sa.select(Notification).where(Notification.id.in_(ids))
                           .options(lazyload(Notification.reminder)))
    return [{"id": str(n.id), "kind": n.kind, "subject_type": n.subject_type,
             "subject_id": _str(n.subject_id), "title": n.title, "body": n.body,
             "unit_id": _str(n.unit_id), "user_id": _str(n.user_id),
             "created_at": _iso(n.created_at), "acknowledged_at": _iso(n.acknowledged_at)}
            for n in rows]


# --- scope groups: what the reference scopes above depend on (sync.held) ----------------

def _ids(values: frozenset[uuid.UUID] | None) -> str:
    return ",".join(sorted(map(str, values or ())))


def _unit_group(session: Session, ctx: SyncContext) -> str:
    scope = scope_of(session, ctx.actor)
    if holds_history(ctx):
        return f"townships:{_ids(scope.township_ids)}"
    return "paths:" + ",".join(sorted(scope.unit_paths or ()))


def _grid_group(session: Session, ctx: SyncContext) -> str:
    scope = scope_of(session, ctx.actor)
    if scope.township_ids is None:
        return "all"
    if scope.reach is Reach.OWN_GRIDS:
        return f"grids:{_ids(scope.grid_ids)};townships:{_ids(scope.township_ids)}"
    return f"townships:{_ids(scope.township_ids)}"


def _catalogue_group(session: Session, ctx: SyncContext) -> str:
    return "all"


# Parents before their children (the registry requires it); rank orders tables in a tier.
register(SyncedTable("units", Unit, _units, _unit_records, rank=10, scope_trigger=True,
                     group=_unit_group))
register(SyncedTable("grids", Grid, _grids, _grid_records, rank=20, group=_grid_group))
register(SyncedTable("catalogue_items", CatalogueItem, _catalogue, _catalogue_records, rank=30,
                     group=_catalogue_group))
register(SyncedTable("cases", Case, _cases, _case_records, rank=40))
register(SyncedTable("case_events", CaseEvent, _events, _event_records, rank=41,
                     parent="cases"))
register(SyncedTable("whistle_calls", WhistleCall, whistle_calls, whistle_call_records, rank=45))
register(SyncedTable("notifications", Notification, _notifications, _notification_records,
                     rank=50))
register(SyncedTable("postings", Posting, postings, posting_records, rank=25))
# Not sent, but they decide what a user's phone should hold.
watch(GridMember, name="grid_members", user_key="user_id")
watch(UserRole, name="user_roles", user_key="user_id")
watch(User, name="users", user_key="id")
