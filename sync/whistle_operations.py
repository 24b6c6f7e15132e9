"""Whistle-call operations a phone may push, through the same services as the web.

- ``whistle_arrival`` (报到): a department's staff member checks in near the call's place.
  The operation's id is the arrival's id, so the same check-in sent through the web
  endpoint and through sync is one arrival. Too far away: applied, recorded, flagged
  ``outside_radius``.
- ``whistle_action``: a joint-action record (what was done, photos, result); its id is the
  operation's.
- ``whistle_rating``: the caller rates a named department (满意 / 基本满意 / 不满意).
- ``whistle_unjustified``: a named department marks the call unjustified.

Like the case operations each runs in the push's savepoint and is stored in the ledger
exactly once. Times are the server's: an arrival pushed after the deadline is late even if
the phone was there earlier (phones' clocks are wrong); the skew-corrected time the worker
acted is kept as the arrival's ``device_time``. A call that moved on (closed, rejected) while
the phone was offline rejects arrivals and actions with ``illegal_transition``.

``OpContext`` is only named here for typing: ``sync.operations`` imports this module to list
these handlers in ``OPERATIONS``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from geo.crs import CRS
from server.cases.rules import Satisfaction
from server.whistle import queries, services
from server.whistle.models import WhistleCall
from sync.photos import link_photos

if TYPE_CHECKING:
    from sync.operations import OpContext


def _call(ctx: OpContext, call_id: uuid.UUID) -> WhistleCall:
    return queries.get_call_for_update(ctx.session, ctx.actor, call_id)


def _result(call: WhistleCall, **extra: Any) -> dict[str, Any]:
    return {"call_id": str(call.id), "status": call.status.value, "version": call.version,
            **extra}


def whistle_arrival(ctx: OpContext, *, call_id: uuid.UUID, lon: float, lat: float,
                    accuracy_m: float | None, crs: CRS) -> dict[str, Any]:
    call = _call(ctx, call_id)
    outcome = services.arrive(ctx.session, ctx.actor, call, arrival_id=ctx.op_id, lon=lon,
                              lat=lat, accuracy_m=accuracy_m, crs=crs, device_time=ctx.acted_at,
                              via="sync", now=ctx.now)
    ctx.flags.extend(outcome.flags)
    arrival = outcome.record
    return _result(call, arrival_id=str(arrival.id), within=arrival.within,
                   distance_m=arrival.distance_m, late=arrival.late)


def whistle_action(ctx: OpContext, *, call_id: uuid.UUID, description: str,
                   result: str | None, photos: list[str]) -> dict[str, Any]:
    call = _call(ctx, call_id)
    outcome = services.record_action(ctx.session, ctx.actor, call, action_id=ctx.op_id,
                                     description=description, result=result, photos=photos,
                                     device_time=ctx.acted_at, via="sync", now=ctx.now)
    link_photos(ctx.session, outcome.record.photos, subject_type="whistle_call",
                subject_id=call.id, user_id=ctx.actor.user_id, now=ctx.now)
    return _result(call, action_id=str(outcome.record.id))


def whistle_rating(ctx: OpContext, *, call_id: uuid.UUID, department_id: uuid.UUID,
                   satisfaction: Satisfaction, comment: str | None) -> dict[str, Any]:
    call = _call(ctx, call_id)
    services.rate(ctx.session, ctx.actor, call, version=None, department_id=department_id,
                  satisfaction=satisfaction, comment=comment, now=ctx.now)
    return _result(call, department_id=str(department_id))


def whistle_unjustified(ctx: OpContext, *, call_id: uuid.UUID, reason: str) -> dict[str, Any]:
    call = _call(ctx, call_id)
    services.mark_unjustified(ctx.session, ctx.actor, call, reason=reason, now=ctx.now)
    return _result(call)
