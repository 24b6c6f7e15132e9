"""The STRtree path and the SQL path (PostGIS, or bounding boxes on SQLite) agree on every point."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.grids.assignment import GridIndexCache, assign_in_database, assign_with_index

TOLERANCE_M = 50.0

# The world spans lon 116.30-116.51; draw around it, with snapping to the 0.01-degree lattice
# so that shared edges and vertices are hit exactly, not just approached.
coordinate = st.one_of(
    st.floats(min_value=116.295, max_value=116.515, allow_nan=False),
    st.integers(min_value=11629, max_value=11652).map(lambda i: i / 100),
)
latitude = st.one_of(
    st.floats(min_value=39.895, max_value=39.925, allow_nan=False),
    st.integers(min_value=3989, max_value=3993).map(lambda i: i / 100),
    st.integers(min_value=39895, max_value=39925).map(lambda i: i / 1000),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(points=st.lists(st.tuples(coordinate, latitude), min_size=1, max_size=40))
def test_index_and_database_paths_give_identical_answers(db_session, world, points):
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    by_index = assign_with_index(db_session, GridIndexCache(), lons, lats, tolerance_m=TOLERANCE_M)
    by_database = assign_in_database(db_session, lons, lats, tolerance_m=TOLERANCE_M)
    for point, a, b in zip(points, by_index, by_database, strict=True):
        assert (a.basic, a.method, a.boundary_codes, a.special) == \
            (b.basic, b.method, b.boundary_codes, b.special), point
        if a.distance_m is not None:
            assert abs(a.distance_m - b.distance_m) <= 0.02, point


def test_a_fresh_cache_rebuilds_only_when_the_generation_moves(db_session, world):
    from server.grids.models import Grid
    from server.grids.services import retire_grid
    from tests.fixtures.world import NOW

    cache = GridIndexCache()
    first = cache.get(db_session)
    assert cache.get(db_session) is first
    assert cache.rebuilds == 1
    retire_grid(db_session, db_session.get(Grid, world.grids["T2-B1"].id), now=NOW)
    second = cache.get(db_session)
    assert second is not first
    assert cache.rebuilds == 2
    assert len(second) == len(first) - 1


def test_a_cache_allowed_to_be_stale_skips_the_check_until_marked(db_session, world):
    from server.grids.models import Grid
    from server.grids.services import retire_grid
    from tests.fixtures.world import NOW

    cache = GridIndexCache(max_stale_s=3600)
    first = cache.get(db_session)
    retire_grid(db_session, db_session.get(Grid, world.grids["T2-B1"].id), now=NOW)
    assert cache.get(db_session) is first  # within max_stale_s: no database read at all
    cache.mark_stale()
    assert len(cache.get(db_session)) == len(first) - 1
