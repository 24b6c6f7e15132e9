"""Counts the evaluation needs from cases: returns per unit and month (退单, 有责退单)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.cases.models import CaseReturn
from server.core.clock import LOCAL_TZ
from server.org.models import Unit


def return_counts(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Per unit and local month: returns requested, approved, and approved with fault."""
    scope = scope_of(session, actor)
    query = sa.select(CaseReturn, Unit).join(Unit, CaseReturn.unit_id == Unit.id)
    if scope.unit_paths is not None:
        query = query.where(sa.or_(*(Unit.path.startswith(p, autoescape=True)
                                     for p in scope.unit_paths)))
    counts: Counter[tuple[Any, str, str]] = Counter()
    units: dict[Any, Unit] = {}
    for ret, unit in session.execute(query):
        month = ret.requested_at.astimezone(LOCAL_TZ).strftime("%Y-%m")
        units[unit.id] = unit
        counts[(unit.id, month, "requested")] += 1
        if ret.approved:
            counts[(unit.id, month, "approved")] += 1
            if ret.with_fault:
                counts[(unit.id, month, "with_fault")] += 1
    keys = sorted({(u, m) for u, m, _ in counts}, key=lambda k: (units[k[0]].code, k[1]))
    return [
        {"unit_id": u, "unit_code": units[u].code, "month": m,
         "requested": counts[(u, m, "requested")], "approved": counts[(u, m, "approved")],
         "with_fault": counts[(u, m, "with_fault")]}
        for u, m in keys
    ]
