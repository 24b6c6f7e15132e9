"""What a department staff member's phone holds of staff in grids: their own postings.

A posting is on the phone from its creation until the day after its last day (ended
postings leave on the next reconcile). Grids travel in the ``grids`` table already (a
department's staff see their district's grids).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.staff.models import Posting
from server.staff.rules import local_date
from sync.protocol import Tier
from sync.tables import SyncContext


def postings(session: Session, ctx: SyncContext) -> sa.Select:
    yesterday = local_date(ctx.now) - timedelta(days=1)
    return sa.select(
        Posting.id, sa.literal(int(Tier.REFERENCE), sa.Integer), sa.null().cast(sa.Uuid)
    ).where(
        Posting.staff_user_id == ctx.actor.user_id,
        sa.or_(Posting.valid_to.is_(None), Posting.valid_to >= yesterday),
    )


def posting_records(session: Session, ctx: SyncContext, ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = session.scalars(sa.select(Posting).where(Posting.id.in_(ids))).unique()
    return [
        {
            "id": str(p.id),
            "staff_user_id": str(p.staff_user_id),
            "department_id": str(p.department_id),
            "mode": p.mode.value,
            "grid_ids": [str(g.grid_id) for g in p.grid_rows],
            "grid_codes": [g.grid.code for g in p.grid_rows],
            "weekdays": p.weekdays,
            "day_start": p.day_start.strftime("%H:%M") if p.day_start else None,
            "day_end": p.day_end.strftime("%H:%M") if p.day_end else None,
            "visits_required": p.visits_required,
            "visit_period": p.visit_period.value if p.visit_period else None,
            "valid_from": p.valid_from.isoformat(),
            "valid_to": p.valid_to.isoformat() if p.valid_to else None,
            "note": p.note,
            "updated_at": p.updated_at.isoformat(),
            "ended_at": p.ended_at.isoformat() if p.ended_at else None,
        }
        for p in rows
    ]
