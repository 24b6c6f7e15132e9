"""Check-ins and check-outs on site: where the phone was, and whether that is inside the grid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo.crs import CRS
from geo.measure import point_to_geometry_distance_m
from server.auth.actor import Actor
from server.core.errors import Conflict, Invalid
from server.core.i18n import gettext
from server.core.points import wgs84_in_china
from server.grids.models import Grid
from server.grids.queries import visible_grids
from server.staff import queries
from server.staff.models import FieldCheck
from server.staff.rules import (
    FIELD_ROLES,
    NO_POSTING,
    OUTSIDE_GRID,
    CheckKind,
    CheckVia,
    FieldLimits,
    checkin_tolerance_m,
    is_inside,
    local_date,
)


@dataclass
class CheckRequest:
    id: uuid.UUID  # minted by the phone: the idempotency key
    kind: CheckKind
    lon: float
    lat: float
    crs: CRS = CRS.WGS84
    accuracy_m: float | None = None
    device_time: datetime | None = None
    grid_id: uuid.UUID | None = None
    check_in_id: uuid.UUID | None = None
    note: str | None = None


def record_check(
    session: Session,
    actor: Actor,
    req: CheckRequest,
    *,
    limits: FieldLimits,
    via: CheckVia,
    now: datetime,
) -> tuple[FieldCheck, bool]:
    """Record a check-in or check-out; (the check, True if new). The same id again answers
    the first record unchanged. The server decides whether the point is inside the grid
    (distance <= tolerance, see ``checkin_tolerance_m``); outside is recorded and flagged.

    The grid is the one named, else the nearest of the person's field grids that day
    (postings; grid membership for grid workers and leaders).
    """
    actor.require(FIELD_ROLES, gettext("check in"))
    existing = session.get(FieldCheck, req.id)
    if existing is not None:
        return _replayed(actor, existing), False
    lon, lat = wgs84_in_china(req.lon, req.lat, req.crs)
    field_grids = queries.field_grid_ids(session, actor, local_date(now))
    grid, distance, flags = _grid_for(session, actor, req, lon, lat, field_grids)
    tolerance = checkin_tolerance_m(req.accuracy_m, limits)
    inside = distance is not None and is_inside(distance, tolerance)
    if grid is not None and not inside:
        flags.append(OUTSIDE_GRID)
    check = FieldCheck(
        id=req.id,
        user_id=actor.user_id,
        kind=req.kind,
        grid_id=grid.id if grid else None,
        posting_id=field_grids.get(grid.id) if grid else None,
        check_in_id=req.check_in_id,
        lon=lon,
        lat=lat,
        input_crs=req.crs.value,
        input_lon=req.lon,
        input_lat=req.lat,
        accuracy_m=req.accuracy_m,
        distance_m=None if distance is None else round(distance, 2),
        tolerance_m=tolerance,
        inside=inside,
        flags=flags,
        device_time=req.device_time,
        recorded_at=now,
        via=via,
        device_id=actor.device_id,
        note=req.note,
    )
    try:
        with session.begin_nested():  # the same id sent twice at once: one wins
            session.add(check)
    except IntegrityError:
        existing = session.get(FieldCheck, req.id)
        if existing is None:
            raise
        return _replayed(actor, existing), False
    return check, True


def _replayed(actor: Actor, existing: FieldCheck) -> FieldCheck:
    if existing.user_id != actor.user_id:
        raise Conflict(
            gettext("This check id was already used by someone else; make a new one."),
            code="check_id_taken"
        )
    return existing


def _grid_for(
    session: Session,
    actor: Actor,
    req: CheckRequest,
    lon: float,
    lat: float,
    field_grids: dict[uuid.UUID, uuid.UUID | None],
) -> tuple[Grid | None, float | None, list[str]]:
    flags: list[str] = []
    if req.grid_id is not None:
        grid = session.scalar(
            sa.select(Grid).where(Grid.id == req.grid_id, visible_grids(session, actor))
        )
        if grid is None:
            raise Invalid.for_field(
                "grid_id", gettext("No such grid in your territory."), code="grid_not_found"
            )
        # A phone that cached a grid before its boundary was replaced names the retired
        # version: the check is judged against (and recorded on) the active one.
        grid = queries.active_version(session, grid)
        if grid.id not in field_grids:
            flags.append(NO_POSTING)
        return grid, point_to_geometry_distance_m(lon, lat, grid.boundary), flags
    grids = queries.grids_by_id(session, field_grids)
    if not grids:
        return None, None, [NO_POSTING]
    measured = sorted(
        ((point_to_geometry_distance_m(lon, lat, g.boundary), g.code, g) for g in grids.values()),
        key=lambda t: (t[0], t[1]),
    )
    return measured[0][2], measured[0][0], flags
