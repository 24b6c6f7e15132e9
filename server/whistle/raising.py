"""吹哨: raising a whistle call, with the checks on who raises it, for which place and which
departments. Nothing here commits; the later steps of a call are ``server.whistle.services``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from shapely.geometry import Point
from sqlalchemy.orm import Session, defer

from geo.crs import CRS
from server.auth.actor import Actor
from server.auth.services import scope_of
from server.cases.models import Case
from server.cases.queries import visible_cases
from server.cases.rules import Urgency
from server.catalogue.queries import get_item
from server.core.errors import Conflict, Invalid, PermissionDenied
from server.core.i18n import _
from server.core.ids import new_id
from server.core.points import wgs84_in_china
from server.grids.assignment import GridIndexCache, assign_with_index
from server.grids.models import Grid
from server.org.models import Unit
from server.org.rules import UnitKind
from server.whistle import rules
from server.whistle.models import WhistleCall, WhistleDepartment
from server.whistle.rules import Action, WhistleKind, WhistleStatus
from server.whistle.services import (
    MAX_DEPARTMENTS,
    Outcome,
    department_units,
    new_event,
    normalise_photos,
    notify_unit,
    parent_path,
)


@dataclass(frozen=True)
class RaiseRequest:
    kind: WhistleKind
    description: str
    lon: float
    lat: float
    crs: CRS = CRS.WGS84
    address: str | None = None
    category_code: str | None = None
    urgency: Urgency = Urgency.NORMAL
    department_ids: Sequence[uuid.UUID] = ()
    linked_case_ids: Sequence[uuid.UUID] = ()
    photos: Sequence[str] = ()
    client_request_id: str | None = None


def _raising_department(session: Session, actor: Actor) -> Unit | None:
    """The department a department user raises for (their own unit); None for a township's
    dispatcher or grid leader, whose township's rules apply."""
    if actor.has_any(rules.TOWNSHIP_RAISE_ROLES) or actor.unit_id is None:
        return None
    unit = session.get(Unit, actor.unit_id)
    if unit is None or unit.kind is not UnitKind.DEPARTMENT:
        raise PermissionDenied("Only a department's own users may raise a whistle call for it.")
    return unit


def _check_place(session: Session, actor: Actor, grid: Grid | None,
                 department: Unit | None) -> None:
    """A township raises for a place in a basic grid of its own township (tolerance 0); a
    department for a place in a basic grid of a township it serves (a district's department:
    the district's townships)."""
    if department is not None:
        if grid is None or not rules.serves_township(parent_path(department),
                                                     grid.township.path):
            raise Invalid("This place is not inside a grid of the area your department "
                          "serves.", code="outside_served_area",
                          errors={"json": {"lon": ["outside the area you serve"],
                                           "lat": ["outside the area you serve"]}})
        return
    scope = scope_of(session, actor)
    if grid is None or (scope.township_ids is not None
                        and grid.township_id not in scope.township_ids):
        raise Invalid("This place is not inside your township's grids: a whistle call is "
                      "about a place in the caller's own territory.", code="outside_township",
                      errors={"json": {"lon": ["outside your township"],
                                       "lat": ["outside your township"]}})


def retried_raise(session: Session, actor: Actor, client_request_id: str) -> Outcome | None:
    """The call an earlier request with this id made, or None; someone else's id is refused
    (409), never shared."""
    existing = session.scalar(sa.select(WhistleCall).where(
        WhistleCall.client_request_id == client_request_id))
    if existing is None:
        return None
    if existing.raised_by_user_id != actor.user_id:
        raise Conflict.for_field("client_request_id",
                                 _("This request id was already used by someone else."),
                                 code="idempotency_key_reused")
    return Outcome(existing, created=False)


def raise_call(session: Session, actor: Actor, request: RaiseRequest, *,
               grid_index: GridIndexCache, tolerance_m: float, now: datetime) -> Outcome:
    """吹哨: a township dispatcher or grid leader calls the departments to a place in its
    township; a department's handler or staff to a place in a township the department serves
    (Yicheng: "由镇街或部门提出申请"). Either way the call belongs to the township of the basic
    grid it lies in, whose command centre judges it. A retried request (same
    ``client_request_id``) returns the call it made."""
    actor.require(rules.RAISE_ROLES, _("raise whistle calls"))
    if request.client_request_id:
        retried = retried_raise(session, actor, request.client_request_id)
        if retried is not None:
            return retried
    if request.category_code is not None:
        get_item(session, request.category_code)  # unknown_category for a code it lacks
    lon, lat = wgs84_in_china(request.lon, request.lat, request.crs)
    [found] = assign_with_index(session, grid_index, [lon], [lat], tolerance_m=tolerance_m)
    grid = (session.get(Grid, uuid.UUID(found.basic), options=[defer(Grid.boundary)])
            if found.basic is not None else None)
    department = _raising_department(session, actor)
    _check_place(session, actor, grid, department)
    township = grid.township
    department_ids = list(dict.fromkeys(request.department_ids))
    if len(department_ids) > MAX_DEPARTMENTS:
        raise Invalid.for_field("department_ids", f"Call at most {MAX_DEPARTMENTS} departments.")
    department_units(session, department_ids, township, "department_ids")
    linked = list(dict.fromkeys(request.linked_case_ids))
    if linked:
        seen = set(session.scalars(sa.select(Case.id).where(
            Case.id.in_(linked), visible_cases(session, actor))))
        missing = [str(c) for c in linked if c not in seen]
        if missing:
            raise Invalid.for_field("linked_case_ids", f"No such case: {', '.join(missing)}.",
                                    code="unknown_case")

    call = WhistleCall(
        id=new_id(), client_request_id=request.client_request_id, kind=request.kind,
        category_code=request.category_code, description=request.description,
        urgency=request.urgency, status=WhistleStatus.RAISED,
        lon=lon, lat=lat, location=Point(lon, lat), input_crs=request.crs.value,
        input_lon=request.lon, input_lat=request.lat, address=request.address,
        grid_id=grid.id, grid_code=grid.code, township_id=township.id,
        district_id=township.parent_id, linked_case_ids=[str(c) for c in linked],
        photos=normalise_photos(request.photos), raised_at=now,
        raised_by_user_id=actor.user_id, raised_by_unit_id=actor.unit_id,
        raised_by_department_id=department.id if department is not None else None,
        event_count=0, updated_at=now,
    )
    call.township = township
    call.departments = [WhistleDepartment(unit_id=u, position=i, requested=True)
                        for i, u in enumerate(department_ids)]
    with session.no_autoflush:
        session.add(call)
        session.add(new_event(call, actor, Action.RAISE.value, None, WhistleStatus.RAISED, now, {
            "kind": call.kind.value, "grid": call.grid_code,
            "raised_by_department_id": str(department.id) if department is not None else None,
            "department_ids": [str(u) for u in department_ids],
            "linked_case_ids": call.linked_case_ids, "photos": call.photos}))
        notify_unit(session, township.id, call, "whistle_raised",
                _("Whistle call: {text}").format(text=call.description[:60]), now)
    session.flush()
    return Outcome(call, created=True)
