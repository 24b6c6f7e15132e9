"""Importing, replacing and retiring grids: all-or-nothing, with a per-feature report."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from geo import geojson as gj
from geo.crs import CRS, geometry_to_wgs84
from geo.limits import DEFAULT_VERTEX_CAPS, VertexCaps
from geo.measure import area_m2
from geo.validate import as_multipolygon, check_grid_geometry, repair_grid_geometry
from server.core.clock import LOCAL_TZ
from server.core.errors import Conflict, Invalid, NotFound
from server.core.ids import new_id
from server.core.trail import ActorLike, record_change, state_of
from server.core.vertex_caps import check_vertex_caps
from server.grids.models import Grid, GridGeneration, GridImport, GridMember
from server.grids.rules import (
    FeatureProblem,
    GridKind,
    grid_code_problem,
    special_kind_problem,
)
from server.grids.tiling import DEFAULT_TOLERANCES, NewGrid, Tolerances, tiling_problems
from server.org.models import Unit, User
from server.org.rules import Role, UnitKind

# Postings (an area above grids) name grid versions too; they move with the grid, in its
# transaction, next to its workers (issue 11: postings follow grid changes).
from server.staff.models import Posting, PostingGrid  # noqa: I001

MAX_FEATURES_PER_IMPORT = 20_000
# Problems repair can fix; anything else (outside China, empty, not a polygon) stays an error.
REPAIRABLE = frozenset({"geometry_invalid"})
# Where a structural problem found by the GeoJSON parser lies; the rest are geometry problems.
STRUCTURAL_FIELD = {"feature_malformed": "feature", "properties_malformed": "properties"}


@dataclass
class ImportResult:
    record: GridImport
    created: list[Grid] = field(default_factory=list)
    replaced_codes: list[str] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Candidate:
    index: int
    code: str
    name: str
    kind: GridKind
    township: Unit
    community: Unit | None
    owner_unit: Unit | None
    geometry: BaseGeometry
    special_kind: str | None = None


GRIDS_CHANGED = "gridops.grids_changed"  # session.info flag, read after the commit


def bump_generation(session: Session) -> None:
    """Tell every server process that its in-memory grid index is stale (same transaction).

    The flag in ``session.info`` lets the entry point refresh its own process's index right
    after the commit instead of waiting for the next periodic check.
    """
    session.execute(sa.update(GridGeneration).values(value=GridGeneration.value + 1))
    session.info[GRIDS_CHANGED] = True


def import_grids(
    session: Session,
    doc: dict[str, Any],
    *,
    crs: CRS,
    repair: bool,
    replace_existing: bool,
    allowed_township_ids: frozenset[uuid.UUID] | None,
    now: datetime,
    tolerances: Tolerances = DEFAULT_TOLERANCES,
    override_reason: str | None = None,
    imported_by_user_id: uuid.UUID | None = None,
    source: str = "api",
    actor: ActorLike | None = None,
    vertex_caps: VertexCaps = DEFAULT_VERTEX_CAPS,
) -> ImportResult:
    """Import a GeoJSON FeatureCollection of grids, all or nothing.

    Every feature is checked before anything is written, and every problem is reported with
    its feature index. ``repair`` fixes invalid rings with make_valid and reports the change;
    ``replace_existing`` retires the active grid of the same code and links the new version
    to it (its members move over), instead of refusing the duplicate.
    ``allowed_township_ids`` (None = any) limits the townships the importer may write to;
    others are reported as unknown, so the answer does not reveal that they exist.

    Once every feature is sound, the tiling is checked (``server.grids.tiling``): basic
    grids overlapping active basic grids or each other, basic grids outside their township,
    special grids outside their district, each beyond ``tolerances``. Those problems refuse
    the file too, unless ``override_reason`` is given: then they are let through and kept,
    with the reason and who imported, on the import's :class:`GridImport` record.
    """
    try:
        parsed = gj.parse_feature_collection(doc)
    except gj.GeoJSONError as exc:
        raise Invalid.for_field("type", str(exc), code="geojson_invalid") from exc
    if not parsed:
        raise Invalid.for_field("features", "The collection has no features.", code="geojson_empty")
    if len(parsed) > MAX_FEATURES_PER_IMPORT:
        raise Invalid.for_field(
            "features",
            f"At most {MAX_FEATURES_PER_IMPORT} features per import; split the file.",
            code="too_many_features",
        )
    check_vertex_caps(parsed, vertex_caps)

    units = _units_by_code(session, parsed)
    codes = [f.properties.get("code") for f in parsed if isinstance(f.properties.get("code"), str)]
    active = {
        g.code: g
        for g in session.scalars(
            sa.select(Grid).where(Grid.code.in_(codes), Grid.retired_at.is_(None))
        )
    }
    problems: list[FeatureProblem] = []
    candidates: list[_Candidate] = []
    repairs: list[dict[str, Any]] = []
    first_index_of: dict[str, int] = {}
    for feature in parsed:
        found = _check_feature(
            feature, units, active, first_index_of, crs, repair, replace_existing,
            allowed_township_ids,
        )
        if isinstance(found, list):
            problems.extend(found)
            continue
        candidate, changes = found
        candidates.append(candidate)
        if changes:
            repairs.append(
                {"index": candidate.index, "grid_code": candidate.code, "changes": changes}
            )
    if problems:
        raise _rejection(problems, total=len(parsed))
    replaced = [c.code for c in candidates if c.code in active]
    tiling = tiling_problems(
        session,
        [NewGrid(c.index, c.code, c.kind, c.township, c.geometry) for c in candidates],
        replaced_codes=replaced, tolerances=tolerances,
        visible_township_ids=allowed_township_ids,
    )
    if tiling and override_reason is None:
        raise _rejection(tiling, total=len(parsed))

    record = GridImport(
        imported_at=now, imported_by_user_id=imported_by_user_id,
        source=source, feature_count=len(parsed), replaced_codes=replaced,
        topology_override=override_reason is not None, override_reason=override_reason,
        overridden_problems=[p.as_dict() for p in tiling],
    )
    session.add(record)
    session.flush()
    result = ImportResult(record=record, replaced_codes=replaced, repairs=repairs)
    for code in replaced:
        active[code].retired_at = now
    if replaced:
        session.flush()  # free the active codes before their successors are inserted
    for candidate in candidates:
        # Ids given here, not at flush, so that all rows go in one batched INSERT.
        grid = _new_grid(candidate, now, replaces=active.get(candidate.code))
        grid.id, grid.import_id = new_id(), record.id
        session.add(grid)
        result.created.append(grid)
    session.flush()
    for grid in result.created:
        previous = active.get(grid.code) if grid.replaces_id is not None else None
        if previous is not None:
            _move_members(session, previous.id, grid.id, now=now)
        record_change(session, actor, "grid.replaced" if previous else "grid.imported", grid,
                      before=state_of("grid", previous), after=state_of("grid", grid),
                      note=override_reason, now=now, flush=False)
    session.flush()
    bump_generation(session)
    return result


def _units_by_code(session: Session, parsed: Iterable[gj.ParsedFeature]) -> dict[str, Unit]:
    wanted: set[str] = set()
    for feature in parsed:
        for key in ("township", "community", "owner_unit"):
            value = feature.properties.get(key)
            if isinstance(value, str):
                wanted.add(value)
    if not wanted:
        return {}
    return {u.code: u for u in session.scalars(sa.select(Unit).where(Unit.code.in_(wanted)))}


def _check_feature(
    feature: gj.ParsedFeature,
    units: dict[str, Unit],
    active: dict[str, Grid],
    first_index_of: dict[str, int],
    crs: CRS,
    repair: bool,
    replace_existing: bool,
    allowed_township_ids: frozenset[uuid.UUID] | None,
) -> list[FeatureProblem] | tuple[_Candidate, list[str]]:
    props = feature.properties
    code = props.get("code")
    label = code if isinstance(code, str) else None
    problems: list[FeatureProblem] = []

    def problem(field_name: str, slug: str, reason: str, location: Any = None) -> None:
        problems.append(FeatureProblem(feature.index, label, field_name, slug, reason, location))

    code_problem = grid_code_problem(code)
    if code_problem:
        problem("properties.code", "grid_code_invalid", f"Grid code {code_problem}.")
    elif code in first_index_of:
        problem("properties.code", "duplicate_grid_code",
                f"Code {code!r} also used by feature {first_index_of[code]} of this file.")
    else:
        first_index_of[code] = feature.index
        if code in active and not replace_existing:
            problem("properties.code", "duplicate_grid_code",
                    f"An active grid already has code {code!r}; import with replace_existing "
                    "to replace it (the old version is kept in history).")
    name = props.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        problem("properties.name", "grid_name_invalid", "A name of 1-120 characters is required.")
    try:
        kind = GridKind(props.get("kind", GridKind.BASIC))
    except ValueError:
        kind = GridKind.BASIC
        problem("properties.kind", "grid_kind_invalid", "Kind must be 'basic' or 'special'.")

    township = _unit_of_kind(units, props.get("township"), UnitKind.TOWNSHIP)
    if township is None or (
        allowed_township_ids is not None and township.id not in allowed_township_ids
    ):
        problem("properties.township", "unknown_township",
                f"No township you manage has code {props.get('township')!r}.")
    community = None
    if props.get("community") is not None:
        community = _unit_of_kind(units, props.get("community"), UnitKind.COMMUNITY)
        if community is None or (township is not None and community.parent_id != township.id):
            problem("properties.community", "unknown_community",
                    f"No community of this township has code {props.get('community')!r}.")
    owner = None
    if props.get("owner_unit") is not None:
        owner = units.get(props["owner_unit"]) if isinstance(props["owner_unit"], str) else None
        if owner is None:
            problem("properties.owner_unit", "unknown_owner_unit",
                    f"No unit has code {props.get('owner_unit')!r}.")
        elif kind is GridKind.BASIC:
            problem("properties.owner_unit", "owner_unit_not_allowed",
                    "Only special grids have an owner unit.")
    special_kind = props.get("special_kind")
    if why := special_kind_problem(special_kind, kind):
        problem("properties.special_kind", "special_kind_invalid", why)

    changes: list[str] = []
    geometry = None
    for p in feature.problems:
        problem(STRUCTURAL_FIELD.get(p.code, "geometry"), p.code, p.reason, p.location)
    if not feature.problems and feature.geometry is not None:
        geometry = geometry_to_wgs84(feature.geometry, crs)
        found = check_grid_geometry(geometry)
        if found and repair and all(p.code in REPAIRABLE for p in found):
            geometry, changes = repair_grid_geometry(geometry)
            found = check_grid_geometry(geometry)
        for p in found:
            problem("geometry", p.code, p.reason, p.location)
    if problems or geometry is None or township is None:
        return problems
    return (
        _Candidate(feature.index, code, name.strip(), kind, township, community, owner,
                   as_multipolygon(geometry), special_kind),
        changes,
    )


def _unit_of_kind(units: dict[str, Unit], code: Any, kind: UnitKind) -> Unit | None:
    unit = units.get(code) if isinstance(code, str) else None
    return unit if unit is not None and unit.kind is kind else None


def _rejection(problems: list[FeatureProblem], *, total: int) -> Invalid:
    by_feature: dict[str, dict[str, list[str]]] = {}
    for p in problems:
        by_feature.setdefault(str(p.index), {}).setdefault(p.field, []).append(
            f"{p.code}: {p.reason}"
        )
    bad = len(by_feature)
    return Invalid(
        f"{bad} of {total} features have problems; nothing was imported.",
        code="grid_import_rejected",
        errors={"json": {"features": by_feature}},
        details=[p.as_dict() for p in problems],
    )


def _new_grid(c: _Candidate, now: datetime, *, replaces: Grid | None) -> Grid:
    min_lon, min_lat, max_lon, max_lat = c.geometry.bounds
    return Grid(
        code=c.code,
        name=c.name,
        kind=c.kind,
        township_id=c.township.id,
        community_id=c.community.id if c.community else None,
        owner_unit_id=c.owner_unit.id if c.owner_unit else None,
        special_kind=c.special_kind,
        boundary=c.geometry,
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
        area_m2=area_m2(c.geometry),
        created_at=now,
        replaces_id=replaces.id if replaces else None,
    )


def _move_members(
    session: Session, old_id: uuid.UUID, new_id: uuid.UUID, *, now: datetime
) -> None:
    """The replaced grid's workers, and the postings not yet ended, move to its new version.

    Ended postings keep the version they were honoured on (their history); a posting still
    running or upcoming follows the grid, so check-ins and compliance judge the new boundary.
    """
    session.execute(
        sa.update(GridMember).where(GridMember.grid_id == old_id).values(grid_id=new_id)
    )
    running = sa.select(Posting.id).where(
        sa.or_(Posting.valid_to.is_(None), Posting.valid_to >= now.astimezone(LOCAL_TZ).date())
    )
    session.execute(
        sa.update(PostingGrid)
        .where(PostingGrid.grid_id == old_id, PostingGrid.posting_id.in_(running))
        .values(grid_id=new_id)
        .execution_options(synchronize_session=False)
    )
    # Rows of the old version already loaded would now name a row that is gone: reload them.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, PostingGrid) and obj.grid_id == old_id:
            session.expunge(obj)
        elif isinstance(obj, Posting):
            session.expire(obj, ["grid_rows"])


def retire_grid(session: Session, grid: Grid, *, now: datetime,
                actor: ActorLike | None = None) -> Grid:
    """Stop using a grid for new assignments; cases already assigned keep pointing at it."""
    if grid.retired_at is not None:
        raise Conflict(f"Grid {grid.code} was already retired.", code="grid_already_retired")
    grid.retired_at = now
    record_change(session, actor, "grid.retired", grid, before={"retired_at": None},
                  after={"retired_at": now}, now=now)
    bump_generation(session)
    return grid


def add_grid_member(session: Session, grid: Grid, user: User, *, now: datetime) -> None:
    """Make a grid worker or grid leader responsible for an active grid (idempotent)."""
    if grid.retired_at is not None:
        raise Conflict(f"Grid {grid.code} is retired.", code="grid_retired")
    if not user.roles & {Role.GRID_WORKER, Role.GRID_LEADER}:
        raise Invalid.for_field("user_id", "Only grid workers and grid leaders join grids.",
                                code="not_a_grid_worker")
    if session.get(GridMember, (grid.id, user.id)) is None:
        session.add(GridMember(grid_id=grid.id, user_id=user.id, created_at=now))
        session.flush()


def get_active_grid_by_code(session: Session, code: str) -> Grid:
    grid = session.scalar(sa.select(Grid).where(Grid.code == code, Grid.retired_at.is_(None)))
    if grid is None:
        raise NotFound(f"No active grid has code {code!r}.", code="grid_not_found")
    return grid
