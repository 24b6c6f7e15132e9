"""Kinds of units and roles of users, and which territory each role sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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


# ---- need to know: what each role may read (docs/scope.md is this table) ------------------


class Subject(StrEnum):
    """What is read."""

    UNITS = "units"
    USERS = "users"  # user records (/users)
    GRIDS = "grids"
    CASES = "cases"
    POSTINGS = "postings"  # department staff posted to grids
    WHISTLE_CALLS = "whistle_calls"
    WHEREABOUTS = "whereabouts"  # who is where now (/whereabouts)
    TRACKS = "tracks"  # a person's GPS track (/people/{id}/track)
    COMPLIANCE = "compliance"  # postings honoured, field days (/compliance)
    EVALUATION = "evaluation"  # 三率, rankings, statistics (server/reports/access.py)


class Sight(StrEnum):
    """How much of a subject a role sees."""

    ALL = "all"  # everything
    DISTRICT = "district"  # their district's territory (a district command centre)
    TOWNSHIP = "township"  # their township's territory
    # Units only: the township's territory plus the departments that serve it (those of the
    # district and city above it), which a township calls to a whistle call or a case.
    TOWNSHIP_DEPARTMENTS = "township_departments"
    OWN_GRIDS = "own_grids"  # the grids they are a member of (+ special grids over them)
    DEPARTMENT = "department"  # their own department: its staff, their postings
    INVOLVED = "involved"  # cases they lead or cooperate on; calls they raised or are named in
    SELF = "self"  # themselves only
    NONE = "none"  # nothing (403 on the endpoints that serve only this subject)


# The one table of need-to-know. Everyone also sees what they made themselves (a case they
# received, a call they raised) and their own user record and track.
_S = Subject
# A township command centre blows the whistle and the departments report (吹哨报到): it names
# the departments it calls, so it sees the departments serving it (names and codes, not
# their people).
_COMMAND = {s: Sight.TOWNSHIP for s in Subject} | {Subject.UNITS: Sight.TOWNSHIP_DEPARTMENTS}
NEED_TO_KNOW: dict[Role, dict[Subject, Sight]] = {
    Role.ADMIN: dict.fromkeys(Subject, Sight.ALL),
    Role.AUDITOR: dict.fromkeys(Subject, Sight.ALL),
    Role.DISTRICT_DISPATCHER: dict.fromkeys(Subject, Sight.DISTRICT),
    Role.TOWNSHIP_DISPATCHER: dict(_COMMAND),
    Role.GRID_LEADER: dict(_COMMAND),
    Role.DEPARTMENT_HANDLER: {
        _S.UNITS: Sight.DISTRICT, _S.USERS: Sight.DEPARTMENT, _S.GRIDS: Sight.DISTRICT,
        _S.CASES: Sight.INVOLVED, _S.POSTINGS: Sight.DEPARTMENT,
        _S.WHISTLE_CALLS: Sight.INVOLVED, _S.WHEREABOUTS: Sight.NONE,
        _S.TRACKS: Sight.DEPARTMENT, _S.COMPLIANCE: Sight.DEPARTMENT,
        _S.EVALUATION: Sight.DEPARTMENT,
    },
    Role.DEPARTMENT_STAFF: {
        _S.UNITS: Sight.DISTRICT, _S.USERS: Sight.SELF, _S.GRIDS: Sight.DISTRICT,
        _S.CASES: Sight.INVOLVED, _S.POSTINGS: Sight.SELF, _S.WHISTLE_CALLS: Sight.INVOLVED,
        _S.WHEREABOUTS: Sight.NONE, _S.TRACKS: Sight.SELF, _S.COMPLIANCE: Sight.NONE,
        _S.EVALUATION: Sight.DEPARTMENT,
    },
    Role.GRID_WORKER: {
        _S.UNITS: Sight.TOWNSHIP, _S.USERS: Sight.SELF, _S.GRIDS: Sight.OWN_GRIDS,
        _S.CASES: Sight.OWN_GRIDS, _S.POSTINGS: Sight.SELF, _S.WHISTLE_CALLS: Sight.NONE,
        _S.WHEREABOUTS: Sight.NONE, _S.TRACKS: Sight.SELF, _S.COMPLIANCE: Sight.NONE,
        _S.EVALUATION: Sight.NONE,
    },
}
TERRITORY_SIGHTS = frozenset({Sight.ALL, Sight.DISTRICT, Sight.TOWNSHIP})


def sights(roles: frozenset[Role], subject: Subject) -> frozenset[Sight]:
    """What a user with ``roles`` sees of ``subject``: the union of their roles' sights."""
    return frozenset(NEED_TO_KNOW[r][subject] for r in roles)


def roles_seeing(subject: Subject, beyond: frozenset[Sight] = frozenset({Sight.NONE})
                 ) -> frozenset[Role]:
    """The roles whose sight of ``subject`` is not one of ``beyond`` (a role-level gate)."""
    return frozenset(r for r, row in NEED_TO_KNOW.items() if row[subject] not in beyond)


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


# ---- populations add up (万人诉求比 divides by these) --------------------------------------

# The territorial chain: a unit's population should be the sum of its children of the next
# kind down. Other kinds (command centres, departments, owner units) have no residents.
TERRITORIAL_CHILD: dict[UnitKind, UnitKind] = {
    UnitKind.CITY: UnitKind.DISTRICT,
    UnitKind.DISTRICT: UnitKind.TOWNSHIP,
    UnitKind.TOWNSHIP: UnitKind.COMMUNITY,
}


class PopulationStatus(StrEnum):
    CONSISTENT = "consistent"  # recorded = the sum of every child's
    MISMATCH = "mismatch"  # both known and different (census vs registry, or a typo)
    CHILDREN_INCOMPLETE = "children_incomplete"  # some child has no population: sum partial
    MISSING = "missing"  # the unit has none recorded
    NO_CHILDREN = "no_children"  # nothing to add up (a community, or no children yet)


# What the population check counts as a problem to look at (never a refusal).
POPULATION_PROBLEMS = frozenset({PopulationStatus.MISMATCH, PopulationStatus.CHILDREN_INCOMPLETE,
                                 PopulationStatus.MISSING})


@dataclass(frozen=True)
class PopulationNode:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: UnitKind
    population: int | None


@dataclass(frozen=True)
class PopulationCheck:
    """One territorial unit's recorded figure against its children's sum.

    ``figure_used`` is what the 万人诉求比 divides by: the unit's own recorded population
    ("recorded"), never the children's sum, or "none" when nothing (or 0) is recorded (then
    the ratio is not computed). Mismatches are reported, not refused: the census and the
    registry legitimately differ.
    """

    unit_id: uuid.UUID
    population: int | None
    children: int
    children_with_population: int
    children_sum: int
    status: PopulationStatus

    @property
    def difference(self) -> int | None:
        """Recorded minus the children's sum (only when both are complete)."""
        if self.status not in (PopulationStatus.MISMATCH, PopulationStatus.CONSISTENT):
            return None
        return (self.population or 0) - self.children_sum

    @property
    def figure_used(self) -> str:
        # The ratio is not computed for 0 either (evaluation: no residents, no ratio).
        return "recorded" if self.population else "none"


def check_populations(nodes: list[PopulationNode]) -> list[PopulationCheck]:
    """Each territorial unit of ``nodes`` against the sum of its territorial children."""
    children: dict[uuid.UUID, list[PopulationNode]] = {}
    for node in nodes:
        if node.parent_id is not None:
            children.setdefault(node.parent_id, []).append(node)
    checks = []
    for node in nodes:
        if node.kind not in (*TERRITORIAL_CHILD, UnitKind.COMMUNITY):
            continue
        kids = [c for c in children.get(node.id, ()) if c.kind is TERRITORIAL_CHILD.get(node.kind)]
        known = [c.population for c in kids if c.population is not None]
        total = sum(known)
        if node.population is None:
            status = PopulationStatus.MISSING
        elif not kids:
            status = PopulationStatus.NO_CHILDREN
        elif len(known) < len(kids):
            status = PopulationStatus.CHILDREN_INCOMPLETE
        elif total != node.population:
            status = PopulationStatus.MISMATCH
        else:
            status = PopulationStatus.CONSISTENT
        checks.append(PopulationCheck(node.id, node.population, len(kids), len(known), total,
                                      status))
    return checks
