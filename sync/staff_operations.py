"""Phone operations of staff in grids: check in, check out, upload a batch of track fixes.

Each goes through the same services as the web endpoints (server.staff.checkins,
server.staff.track_ingest). A check
made offline is recorded at the server's estimate of when it happened (the device time
corrected by the phone's measured clock skew, ``OpContext.acted_at``), with the device time
kept next to it: presence on a day is judged by when the person was there, not when the
phone found a network. The check's own id makes a replay through the web or a second
operation harmless, on top of the ledger's exactly-once per operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geo.track import Fix
from server.staff.checkins import CheckRequest, record_check
from server.staff.models import FieldCheck
from server.staff.rules import CheckKind, CheckVia
from server.staff.track_ingest import ingest_for

if TYPE_CHECKING:
    from sync.operations import OpContext


def _check(ctx: OpContext, kind: CheckKind, args: dict[str, Any]) -> dict[str, Any]:
    check, created = record_check(
        ctx.session,
        ctx.actor,
        CheckRequest(kind=kind, **args),
        limits=ctx.limits.staff,
        via=CheckVia.SYNC,
        now=ctx.acted_at,
    )
    ctx.flags.extend(check.flags)
    return _result(check, created)


def _result(check: FieldCheck, created: bool) -> dict[str, Any]:
    return {
        "check_id": str(check.id),
        "kind": check.kind.value,
        "inside": check.inside,
        "grid_id": str(check.grid_id) if check.grid_id else None,
        "distance_m": check.distance_m,
        "tolerance_m": check.tolerance_m,
        "flags": list(check.flags),
        "recorded_at": check.recorded_at.isoformat(),
        "first_time": created,
    }


def check_in(ctx: OpContext, **args: Any) -> dict[str, Any]:
    """签到 on site; outside the grid is recorded and flagged ``outside_grid``."""
    return _check(ctx, CheckKind.CHECK_IN, args)


def check_out(ctx: OpContext, **args: Any) -> dict[str, Any]:
    return _check(ctx, CheckKind.CHECK_OUT, args)


def upload_track(ctx: OpContext, *, crs: Any, fixes: list[dict[str, Any]]) -> dict[str, Any]:
    """A batch of GPS fixes; impossible ones are dropped and counted in the result."""
    batch = [Fix(**f) for f in fixes]
    result = ingest_for(
        ctx.session, ctx.actor, batch, crs=crs, limits=ctx.limits.staff, now=ctx.now
    )
    return result.as_dict(batch)
