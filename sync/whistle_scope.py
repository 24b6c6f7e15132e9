"""Whistle calls on the phones: which calls a device holds, and how one looks on the wire.

Department staff and handlers hold the accepted calls naming their department (the calls
they must report to: 报到), and the calls their department raised (open, or closed in the
last ``history_days``, to rate them). Township dispatchers, grid leaders and district
dispatchers hold the open calls they can see (``server.whistle.queries.visible_calls``), plus
those closed in the last ``history_days`` (the caller rates departments after closing). A
call naming a department leaves that department's phones when it is closed. Registered in
``sync/scope.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from server.org.rules import Role, path_ids
from server.whistle import rules
from server.whistle.models import WhistleCall, WhistleDepartment
from server.whistle.queries import visible_calls
from server.whistle.rules import WhistleStatus
from sync.protocol import Tier
from sync.tables import SyncContext

NO_PARENT = sa.null().cast(sa.Uuid)
CALLER_SIDE = frozenset({Role.TOWNSHIP_DISPATCHER, Role.GRID_LEADER, Role.DISTRICT_DISPATCHER})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _clause(session: Session, ctx: SyncContext) -> sa.ColumnElement[bool]:
    actor = ctx.actor
    clauses: list[sa.ColumnElement[bool]] = []
    recent = sa.and_(WhistleCall.status == WhistleStatus.CLOSED,
                     WhistleCall.closed_at >= ctx.now - timedelta(days=ctx.history_days))
    if actor.has_any(rules.DEPARTMENT_ROLES):
        mine = path_ids(actor.unit_path)
        clauses.append(sa.and_(
            WhistleCall.status == WhistleStatus.ACCEPTED,
            WhistleCall.id.in_(sa.select(WhistleDepartment.call_id).where(
                WhistleDepartment.unit_id.in_(mine), WhistleDepartment.role.is_not(None)))))
        # The calls their department raised, as the township holds its own (to rate them).
        clauses.append(sa.and_(WhistleCall.raised_by_department_id.in_(mine), sa.or_(
            WhistleCall.status.in_(rules.OPEN_STATUSES), recent)))
    if actor.has_any(CALLER_SIDE):
        clauses.append(sa.and_(visible_calls(session, actor), sa.or_(
            WhistleCall.status.in_(rules.OPEN_STATUSES), recent)))
    return sa.or_(sa.false(), *clauses)


_TIER = sa.case((WhistleCall.status == WhistleStatus.CLOSED, int(Tier.HISTORY)),
                else_=int(Tier.URGENT))


def whistle_calls(session: Session, ctx: SyncContext) -> sa.Select:
    return sa.select(WhistleCall.id, _TIER, NO_PARENT).where(_clause(session, ctx))


_FIELDS = ("category_code", "description", "version", "lon", "lat", "address", "grid_code",
           "arrival_radius_m", "rejection_reason", "result", "event_count")
_TIMES = ("raised_at", "judged_at", "arrival_due_at", "completion_due_at", "closed_at",
          "updated_at")
_IDS = ("grid_id", "township_id", "district_id", "lead_unit_id", "raised_by_user_id",
        "raised_by_department_id")


def whistle_call_records(session: Session, ctx: SyncContext,
                         ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = session.scalars(sa.select(WhistleCall).where(WhistleCall.id.in_(ids))
                           .options(lazyload(WhistleCall.township)))
    return [{
        "id": str(c.id),
        **{name: getattr(c, name) for name in _FIELDS},
        **{name: _iso(getattr(c, name)) for name in _TIMES},
        **{name: _str(getattr(c, name)) for name in _IDS},
        "kind": c.kind.value, "urgency": c.urgency.value, "status": c.status.value,
        "photos": list(c.photos), "linked_case_ids": list(c.linked_case_ids),
        # Each department's part and first arrival; the phone judges on time / late against
        # arrival_due_at (server times both).
        # ``id`` is the subject of the department's arrival reminders (whistle_department).
        "departments": [{"id": str(d.id), "unit_id": str(d.unit_id), "code": d.unit.code,
                         "name": d.unit.name,
                         "role": d.role.value if d.role else None, "requested": d.requested,
                         "first_arrival_at": _iso(d.first_arrival_at),
                         "rated": d.rated_at is not None,
                         "unjustified": d.unjustified_at is not None}
                        for d in c.departments],
        "allowed_actions": [a.value for a in rules.allowed_actions(c.status)],
    } for c in rows]
