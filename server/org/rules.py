"""Kinds of units and roles of users, and which territory each role sees."""

from __future__ import annotations

import uuid
from enum import StrEnum


class UnitKind(StrEnum):
    CITY = "city"  # 市
    DISTRICT = "district"  # 区/县
    TOWNSHIP = "township"  # 街道/乡镇
    COMMUNITY = "community"  # 社区/村
    COMMAND_CENTRE = "command_centre"  # 指挥中心 / 分中心 (under a district or a township)
    DEPARTMENT = "department"  # 职能部门 (under a district)
    OWNER_UNIT = "owner_unit"  # owner of a special grid: a school, hospital, market, park...


# Which kinds may sit under which: keeps the tree meaningful for scope and reporting.
ALLOWED_PARENTS: dict[UnitKind, frozenset[UnitKind | None]] = {
    UnitKind.CITY: frozenset({None}),
    UnitKind.DISTRICT: frozenset({UnitKind.CITY, None}),
    UnitKind.TOWNSHIP: frozenset({UnitKind.DISTRICT}),
    UnitKind.COMMUNITY: frozenset({UnitKind.TOWNSHIP}),
    UnitKind.COMMAND_CENTRE: frozenset({UnitKind.CITY, UnitKind.DISTRICT, UnitKind.TOWNSHIP}),
    UnitKind.DEPARTMENT: frozenset({UnitKind.CITY, UnitKind.DISTRICT, UnitKind.TOWNSHIP}),
    UnitKind.OWNER_UNIT: frozenset({UnitKind.DISTRICT, UnitKind.TOWNSHIP, UnitKind.COMMUNITY}),
}


class Role(StrEnum):
    GRID_WORKER = "grid_worker"  # 网格员
    GRID_LEADER = "grid_leader"  # 网格长
    DEPARTMENT_STAFF = "department_staff"  # 部门下沉人员 (stationed / patrolling)
    DEPARTMENT_HANDLER = "department_handler"  # 部门承办人
    TOWNSHIP_DISPATCHER = "township_dispatcher"  # 街乡指挥中心派单员
    DISTRICT_DISPATCHER = "district_dispatcher"  # 区 12345 分中心派单员
    ADMIN = "admin"
    AUDITOR = "auditor"  # read-only, everything


class Reach(StrEnum):
    """How far a role sees: the whole system, its district, its township, or its own grids."""

    ALL = "all"
    DISTRICT = "district"
    TOWNSHIP = "township"
    OWN_GRIDS = "own_grids"


ROLE_REACH: dict[Role, Reach] = {
    Role.ADMIN: Reach.ALL,
    Role.AUDITOR: Reach.ALL,
    Role.DISTRICT_DISPATCHER: Reach.DISTRICT,
    # Departments serve the whole district they belong to.
    Role.DEPARTMENT_HANDLER: Reach.DISTRICT,
    Role.DEPARTMENT_STAFF: Reach.DISTRICT,
    Role.TOWNSHIP_DISPATCHER: Reach.TOWNSHIP,
    Role.GRID_LEADER: Reach.TOWNSHIP,
    Role.GRID_WORKER: Reach.OWN_GRIDS,
}

_REACH_ORDER = [Reach.OWN_GRIDS, Reach.TOWNSHIP, Reach.DISTRICT, Reach.ALL]


def path_ids(path: str) -> list[uuid.UUID]:
    """The unit ids of a materialised path (``/root/…/unit/``), root first."""
    return [uuid.UUID(part) for part in path.strip("/").split("/") if part]


def widest_reach(roles: frozenset[Role]) -> Reach:
    """A user with several roles sees the union; the widest reach decides."""
    if not roles:
        return Reach.OWN_GRIDS
    return max((ROLE_REACH[r] for r in roles), key=_REACH_ORDER.index)


# Roles that may change reference data (units, users, grids).
MANAGE_GRIDS = frozenset({Role.ADMIN, Role.DISTRICT_DISPATCHER})
MANAGE_USERS = frozenset({Role.ADMIN})
MANAGE_UNITS = frozenset({Role.ADMIN})
# Importing grids that overlap or leave their township despite the tiling checks.
OVERRIDE_TOPOLOGY = frozenset({Role.ADMIN})
MANAGE_CATALOGUE = frozenset({Role.ADMIN, Role.DISTRICT_DISPATCHER})  # the dispatch catalogue
RUN_AUDIT = frozenset(
    {Role.ADMIN, Role.AUDITOR, Role.DISTRICT_DISPATCHER, Role.TOWNSHIP_DISPATCHER, Role.GRID_LEADER}
)
