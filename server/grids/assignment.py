"""Point-to-grid assignment: the in-memory STRtree path and the database path, one rule.

Both paths only gather facts (which active grids cover a point, which basic grids lie
within the tolerance and how far) and hand them to ``geo.assign.decide``, so they agree by
construction; ``tests/integration/test_assignment_paths.py`` checks it on both databases.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence

import numpy as np
import shapely
import sqlalchemy as sa
from shapely import Point
from sqlalchemy.orm import Session

from geo.assign import Assignment, GridIndex, GridShape, decide
from geo.measure import degree_margin, point_to_geometry_distance_m
from server.core.db import is_postgres
from server.grids.models import Grid, GridGeneration
from server.grids.rules import GridKind

# The SQL distance filter is widened a little so that metre rounding never drops a grid the
# rule (which rounds to the centimetre) would keep; ``decide`` applies the exact tolerance.
SQL_TOLERANCE_SLACK_M = 1.0


def current_generation(session: Session) -> int:
    return session.scalar(sa.select(GridGeneration.value).where(GridGeneration.id == 1)) or 0


def load_active_shapes(session: Session) -> list[GridShape]:
    rows = session.execute(
        sa.select(Grid.id, Grid.code, Grid.kind, Grid.boundary).where(Grid.retired_at.is_(None))
    )
    return [GridShape(str(r.id), r.code, r.kind.value, r.boundary) for r in rows]


class GridIndexCache:
    """One STRtree per server process, rebuilt when the grid generation moves.

    Every grid change bumps the generation row in its own transaction. A process compares
    that row with the number its index was built at, at most once per ``max_stale_s``
    (0 = on every call), so a change committed by any process on any host reaches every
    other process within ``max_stale_s``; the process that made it marks its index stale
    right after its commit (``mark_stale``) and sees it at once. Between checks a request
    costs no database round trip at all, which is what makes the single-point endpoint fast.

    The generation is read *before* the grids: if a change commits in between, the index
    holds newer grids under an older number and is merely rebuilt once more; it can never
    hold older grids under a newer number.
    """

    def __init__(self, max_stale_s: float = 0.0) -> None:
        self.max_stale_s = max_stale_s
        self._lock = threading.Lock()
        self._index: GridIndex | None = None
        self._generation: int | None = None
        self._checked_at = -math.inf
        self.rebuilds = 0

    def clear(self) -> None:
        """Forget the index (tests roll back, so a generation number can come back)."""
        with self._lock:
            self._index = None
            self._generation = None
            self._checked_at = -math.inf

    def mark_stale(self) -> None:
        """Check the generation on the next call (this process just committed a change)."""
        self._checked_at = -math.inf

    def fresh(self) -> GridIndex | None:
        """The index if it needs no generation check now; None if it does (or is unbuilt).
        For callers that hold no database session and answer only from memory."""
        index = self._index
        if index is not None and time.monotonic() - self._checked_at < self.max_stale_s:
            return index
        return None

    def get(self, session: Session) -> GridIndex:
        fresh = self.fresh()
        if fresh is not None:
            return fresh
        index = self._index
        checked = time.monotonic()
        generation = current_generation(session)
        if index is not None and generation == self._generation:
            self._checked_at = checked
            return index
        with self._lock:  # one rebuild per process, not one per thread
            if self._index is None or self._generation != generation:
                shapes = load_active_shapes(session)
                self._index = GridIndex(shapes)
                self._generation = generation
                self.rebuilds += 1
            self._checked_at = checked
            return self._index


def assign_with_index(
    session: Session,
    cache: GridIndexCache,
    lons: Sequence[float],
    lats: Sequence[float],
    *,
    tolerance_m: float,
) -> list[Assignment]:
    index = cache.get(session)
    if len(lons) == 1:  # one point: the plain STRtree query beats the batch machinery
        return [index.assign(float(lons[0]), float(lats[0]), tolerance_m=tolerance_m)]
    batch = index.assign_many(
        np.asarray(lons, dtype=float), np.asarray(lats, dtype=float), tolerance_m=tolerance_m
    )
    return list(batch)


def assign_in_database(
    session: Session,
    lons: Sequence[float],
    lats: Sequence[float],
    *,
    tolerance_m: float,
) -> list[Assignment]:
    """The SQL path: PostGIS with its GiST index, or bounding-box columns on SQLite."""
    if is_postgres(session):
        return _assign_postgis(session, list(lons), list(lats), tolerance_m)
    return [_assign_sqlite(session, x, y, tolerance_m) for x, y in zip(lons, lats, strict=True)]


_POSTGIS_COVERING = sa.text(
    """
    WITH pts AS (
        SELECT t.ord, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS geom
        FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY
             AS t(lon, lat, ord)
    )
    SELECT pts.ord, g.id, g.code, g.kind
    FROM pts JOIN grids g ON g.retired_at IS NULL AND ST_Intersects(g.boundary, pts.geom)
    """
)

# Only for points no basic grid covers: SQL picks the candidates (the bounding-box test &&
# uses the GiST index; ST_DWithin on geography keeps those within the tolerance plus slack),
# and the metres are measured in Python exactly as the index measures them. PostGIS measures
# geography along geodesic edges while grids are stored with straight lon/lat edges; the two
# differ by up to ~1.6 cm per km, enough to flip a tie or the tolerance edge.
_POSTGIS_NEARBY = sa.text(
    """
    WITH pts AS (
        SELECT t.ord, t.dlon, t.dlat, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS geom
        FROM unnest(CAST(:ords AS bigint[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]),
                    CAST(:dlons AS float8[]), CAST(:dlats AS float8[]))
             AS t(ord, lon, lat, dlon, dlat)
    )
    SELECT pts.ord, g.id, g.code, ST_AsBinary(g.boundary) AS boundary
    FROM pts JOIN grids g
      ON g.retired_at IS NULL AND g.kind = 'basic'
     AND g.boundary && ST_Expand(pts.geom, pts.dlon, pts.dlat)
     AND ST_DWithin(g.boundary::geography, pts.geom::geography, :within_m)
    """
)


def _assign_postgis(
    session: Session, lons: list[float], lats: list[float], tolerance_m: float
) -> list[Assignment]:
    n = len(lons)
    basic: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    special: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    nearby: list[list[tuple[str, str, float]]] = [[] for _ in range(n)]
    for ord_, grid_id, code, kind in session.execute(
        _POSTGIS_COVERING, {"lons": lons, "lats": lats}
    ):
        target = basic if kind == GridKind.BASIC.value else special
        target[ord_ - 1].append((str(grid_id), code))
    uncovered = [i for i in range(n) if not basic[i]]
    if uncovered:
        within_m = tolerance_m + SQL_TOLERANCE_SLACK_M
        margins = [degree_margin(lats[i], within_m) for i in uncovered]
        rows = session.execute(
            _POSTGIS_NEARBY,
            {
                "ords": [i + 1 for i in uncovered],
                "lons": [lons[i] for i in uncovered],
                "lats": [lats[i] for i in uncovered],
                "dlons": [m[0] for m in margins],
                "dlats": [m[1] for m in margins],
                "within_m": within_m,
            },
        )
        for ord_, grid_id, code, boundary in rows:
            i = ord_ - 1
            distance_m = point_to_geometry_distance_m(lons[i], lats[i], shapely.from_wkb(boundary))
            nearby[i].append((str(grid_id), code, distance_m))
    return [
        decide(basic[i], nearby[i], special[i], tolerance_m=tolerance_m) for i in range(n)
    ]


def _assign_sqlite(session: Session, lon: float, lat: float, tolerance_m: float) -> Assignment:
    dlon, dlat = degree_margin(lat, tolerance_m + SQL_TOLERANCE_SLACK_M)
    candidates = session.execute(
        sa.select(Grid.id, Grid.code, Grid.kind, Grid.boundary).where(
            Grid.retired_at.is_(None),
            Grid.min_lon <= lon + dlon,
            Grid.max_lon >= lon - dlon,
            Grid.min_lat <= lat + dlat,
            Grid.max_lat >= lat - dlat,
        )
    ).all()
    point = Point(lon, lat)
    basic: list[tuple[str, str]] = []
    special: list[tuple[str, str]] = []
    nearby: list[tuple[str, str, float]] = []
    for grid_id, code, kind, boundary in candidates:
        if boundary.intersects(point):
            (basic if kind is GridKind.BASIC else special).append((str(grid_id), code))
        elif kind is GridKind.BASIC:
            nearby.append((str(grid_id), code, point_to_geometry_distance_m(lon, lat, boundary)))
    return decide(basic, [] if basic else nearby, special, tolerance_m=tolerance_m)
