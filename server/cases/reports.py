"""Counts the evaluation needs from cases: returns per unit in a period (退单, 有责退单)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.cases.models import CaseReturn
from server.org.models import Unit
from server.reports.periods import Period


def return_counts(session: Session, actor: Actor, period: Period) -> list[dict[str, Any]]:
    """Per unit: returns requested in the period (Beijing days), and of those the approved and
    the approved with fault. A return belongs to the period of its request, so a month's
    figures do not change when a late decision comes in, only its approved counts."""
    scope = scope_of(session, actor)
    approved = sa.func.sum(sa.case((CaseReturn.approved.is_(True), 1), else_=0))
    with_fault = sa.func.sum(sa.case(
        (sa.and_(CaseReturn.approved.is_(True), CaseReturn.with_fault.is_(True)), 1), else_=0))
    query = (
        sa.select(Unit.id, Unit.code, Unit.name, sa.func.count(CaseReturn.id), approved,
                  with_fault)
        .join(Unit, CaseReturn.unit_id == Unit.id)
        .where(CaseReturn.requested_at >= period.start_utc,
               CaseReturn.requested_at < period.end_utc)
        .group_by(Unit.id, Unit.code, Unit.name)
        .order_by(Unit.code)
    )
    if scope.unit_paths is not None:
        query = query.where(sa.or_(*(Unit.path.startswith(p, autoescape=True)
                                     for p in scope.unit_paths)))
    return [
        {"unit_id": unit_id, "unit_code": code, "unit_name": name, "period": period.label,
         "requested": requested, "approved": int(n_approved or 0),
         "with_fault": int(n_fault or 0)}
        for unit_id, code, name, requested, n_approved, n_fault in session.execute(query)
    ]
