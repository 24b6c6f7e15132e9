"""The assignment rule, and the in-memory index that must agree with it point for point."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.assign import Assignment, AssignMethod, GridIndex, GridShape, decide
from geo.measure import point_to_geometry_distance_m

# --- the rule -------------------------------------------------------------------------


def test_one_covering_basic_grid_is_inside():
    result = decide([("b1", "A")], [], [], tolerance_m=10)
    assert result == Assignment("b1", "A", AssignMethod.INSIDE, None, (), (), ())


def test_several_covering_basic_grids_are_a_boundary_won_by_the_smallest_code():
    result = decide([("b2", "C"), ("b1", "B"), ("b3", "A")], [], [], tolerance_m=10)
    assert (result.basic, result.basic_code, result.method) == ("b3", "A", AssignMethod.BOUNDARY)
    assert result.boundary_codes == ("A", "B", "C")
    assert result.distance_m is None


def test_codes_compare_as_strings():
    result = decide([("b1", "10"), ("b2", "9")], [], [], tolerance_m=0)
    assert result.basic_code == "10"


def test_the_same_grid_reported_twice_is_still_inside():
    assert decide([("b1", "A"), ("b1", "A")], [], [], tolerance_m=0).method is AssignMethod.INSIDE


def test_without_cover_the_nearest_grid_within_tolerance_wins_with_its_distance():
    result = decide([], [("b1", "A", 7.5), ("b2", "B", 3.333)], [], tolerance_m=10)
    assert (result.basic, result.method, result.distance_m) == ("b2", AssignMethod.NEAREST, 3.33)


def test_distances_equal_to_the_centimetre_tie_to_the_smallest_code():
    # 3.004 and 2.996 both round to 3.00; the rule compares rounded distances.
    result = decide([], [("b1", "Z", 2.996), ("b2", "M", 3.004)], [], tolerance_m=10)
    assert (result.basic_code, result.distance_m) == ("M", 3.0)


def test_tolerance_is_compared_after_rounding_to_the_centimetre():
    assert decide([], [("b1", "A", 5.004)], [], tolerance_m=5).method is AssignMethod.NEAREST
    assert decide([], [("b1", "A", 5.006)], [], tolerance_m=5).method is AssignMethod.NONE


def test_nothing_within_tolerance_is_none_for_manual_triage():
    result = decide([], [("b1", "A", 12.0)], [("s1", "S")], tolerance_m=10)
    assert result == Assignment(None, None, AssignMethod.NONE, None, (), ("s1",), ("S",))


def test_every_covering_special_grid_is_listed_by_code_whatever_the_basic_outcome():
    specials = [("s9", "Y"), ("s1", "X"), ("s5", "Z")]
    for covering, nearby in (([("b1", "A")], []), ([], [("b1", "A", 1.0)]), ([], [])):
        result = decide(covering, nearby, specials, tolerance_m=5)
        assert result.special == ("s1", "s9", "s5")
        assert result.special_codes == ("X", "Y", "Z")


@pytest.mark.parametrize("tolerance_m", [-1.0, math.nan, math.inf, "5"])
def test_a_bad_tolerance_is_refused(tolerance_m):
    with pytest.raises(ValueError, match="tolerance_m"):
        decide([], [], [], tolerance_m=tolerance_m)


# --- a tiling to test the index on -------------------------------------------------------

# Uneven columns and rows near Beijing, so that edges are exact floats shared by neighbours.
XS = [116.40, 116.4071, 116.4153, 116.4200, 116.4317, 116.4392, 116.4450]
YS = [39.900, 39.9062, 39.9110, 39.9191, 39.9240, 39.9305]
GAP_CELL = (2, 2)  # no basic grid: a hole in the tiling
OVERLAP_CELL = (3, 3)  # reaches 30 % into the cell to its right
EXCLAVE = ((0, 4), (5, 0))  # one grid made of two far-apart cells


def _cell(i, j, stretch=0.0):
    right = XS[i + 1] + stretch * (XS[i + 2] - XS[i + 1]) if stretch else XS[i + 1]
    return shapely.box(XS[i], YS[j], right, YS[j + 1])


def _tiling() -> list[GridShape]:
    shapes = []
    cells = [
        (i, j)
        for i in range(len(XS) - 1)
        for j in range(len(YS) - 1)
        if (i, j) != GAP_CELL and (i, j) not in EXCLAVE
    ]
    for k, (i, j) in enumerate(cells):
        stretch = 0.3 if (i, j) == OVERLAP_CELL else 0.0
        # Codes deliberately out of step with ids and positions.
        shapes.append(GridShape(f"b{k}", f"C{(7 * k) % 31:02d}", "basic", _cell(i, j, stretch)))
    shapes.append(
        GridShape(
            "bx", "C99", "basic", shapely.MultiPolygon([_cell(*EXCLAVE[0]), _cell(*EXCLAVE[1])])
        )
    )
    shapes.append(GridShape("s1", "S2", "special", shapely.box(XS[1], YS[1], XS[4], YS[3])))
    shapes.append(GridShape("s2", "S1", "special", shapely.box(XS[2], YS[0], XS[3], YS[5])))
    shapes.append(GridShape("s3", "S3", "special", shapely.Point(116.43, 39.92).buffer(0.004)))
    return shapes


SHAPES = _tiling()
INDEX = GridIndex(SHAPES)


def brute_force(lon, lat, tolerance_m, shapes=SHAPES) -> Assignment:
    """The rule applied to facts gathered by looking at every shape, one by one."""
    point = shapely.Point(lon, lat)
    covering_basic, nearby_basic, covering_special = [], [], []
    for shape in shapes:
        covers = shapely.intersects(shape.geometry, point)
        if shape.kind == "special":
            if covers:
                covering_special.append((shape.id, shape.code))
        elif covers:
            covering_basic.append((shape.id, shape.code))
        else:
            nearby_basic.append(
                (shape.id, shape.code, point_to_geometry_distance_m(lon, lat, shape.geometry))
            )
    return decide(covering_basic, nearby_basic, covering_special, tolerance_m=tolerance_m)


lon_anywhere = st.floats(XS[0] - 0.003, XS[-1] + 0.003)
lat_anywhere = st.floats(YS[0] - 0.003, YS[-1] + 0.003)
points = st.one_of(
    st.tuples(lon_anywhere, lat_anywhere),
    st.tuples(st.sampled_from(XS), lat_anywhere),  # exactly on a vertical edge
    st.tuples(lon_anywhere, st.sampled_from(YS)),  # exactly on a horizontal edge
    st.tuples(st.sampled_from(XS), st.sampled_from(YS)),  # exactly on a vertex
    st.tuples(
        st.floats(XS[GAP_CELL[0]], XS[GAP_CELL[0] + 1]),  # in the planted gap
        st.floats(YS[GAP_CELL[1]], YS[GAP_CELL[1] + 1]),
    ),
    st.tuples(st.floats(XS[-1], XS[-1] + 0.0005), lat_anywhere),  # just outside
    st.tuples(st.floats(115.0, 118.0), st.floats(39.0, 41.0)),  # far outside, mostly
)
tolerances = st.sampled_from([0.0, 5.0, 30.0, 120.0])


@settings(max_examples=200, deadline=None, database=None)
@given(point=points, tolerance_m=tolerances)
def test_index_single_batch_and_brute_force_agree_on_every_point(point, tolerance_m):
    lon, lat = point
    expected = brute_force(lon, lat, tolerance_m)
    assert INDEX.assign(lon, lat, tolerance_m=tolerance_m) == expected
    assert INDEX.assign_many([lon], [lat], tolerance_m=tolerance_m)[0] == expected


@settings(max_examples=40, deadline=None, database=None)
@given(batch=st.lists(points, min_size=1, max_size=60), tolerance_m=tolerances)
def test_a_batch_of_points_agrees_with_brute_force_point_by_point(batch, tolerance_m):
    lons = np.array([lon for lon, _ in batch])
    lats = np.array([lat for _, lat in batch])
    result = INDEX.assign_many(lons, lats, tolerance_m=tolerance_m)
    assert len(result) == len(batch)
    assert list(result) == [brute_force(lon, lat, tolerance_m) for lon, lat in batch]


def test_a_point_on_a_shared_edge_is_a_boundary_case_between_both_grids():
    lon, lat = XS[1], (YS[0] + YS[1]) / 2
    result = INDEX.assign(lon, lat, tolerance_m=0)
    assert result.method is AssignMethod.BOUNDARY
    assert len(result.boundary_codes) == 2
    assert result.basic_code == result.boundary_codes[0]


def test_a_point_on_an_inner_vertex_touches_four_grids():
    result = INDEX.assign(XS[1], YS[1], tolerance_m=0)
    assert result.method is AssignMethod.BOUNDARY
    assert len(result.boundary_codes) == 4


def test_a_point_in_the_overlap_is_a_boundary_case():
    i, j = OVERLAP_CELL
    result = INDEX.assign(XS[i + 1] + 0.0001, (YS[j] + YS[j + 1]) / 2, tolerance_m=0)
    assert result.method is AssignMethod.BOUNDARY


def test_a_point_in_the_gap_goes_to_the_nearest_grid_only_within_tolerance():
    i, j = GAP_CELL
    lon, lat = XS[i] + 0.0002, (YS[j] + YS[j + 1]) / 2  # about 17 m from the left edge
    near = INDEX.assign(lon, lat, tolerance_m=30)
    assert near.method is AssignMethod.NEAREST
    assert 15 < near.distance_m < 19
    assert INDEX.assign(lon, lat, tolerance_m=10).method is AssignMethod.NONE


def test_special_grids_are_listed_by_code_alongside_the_basic_grid():
    result = INDEX.assign((XS[2] + XS[3]) / 2, (YS[1] + YS[2]) / 2, tolerance_m=0)
    assert result.special == ("s2", "s1")
    assert result.special_codes == ("S1", "S2")


def test_the_exclave_grid_covers_both_of_its_parts():
    for i, j in EXCLAVE:
        result = INDEX.assign((XS[i] + XS[i + 1]) / 2, (YS[j] + YS[j + 1]) / 2, tolerance_m=0)
        assert (result.basic, result.method) == ("bx", AssignMethod.INSIDE)


def test_batch_columns_describe_the_results():
    lons = np.array([(XS[0] + XS[1]) / 2, XS[1], 100.0, np.nan])
    lats = np.array([(YS[1] + YS[2]) / 2, YS[1], 30.0, 39.9])
    result = INDEX.assign_many(lons, lats, tolerance_m=5)
    assert result.methods().tolist() == [
        AssignMethod.INSIDE,
        AssignMethod.BOUNDARY,
        AssignMethod.NONE,
        AssignMethod.NONE,
    ]
    assert result.basic_index.dtype == np.int32
    assert result.basic_index[2] == -1
    ids = result.basic_ids()
    assert ids[0] == result[0].basic
    assert ids[2] is None
    assert result.basic_codes()[1] == result[1].basic_code
    assert np.isnan(result.distance_m).all()
    assert result[-1] == result[3]
    with pytest.raises(IndexError):
        result[4]


def test_non_finite_coordinates_are_none():
    assert INDEX.assign(math.nan, 39.9, tolerance_m=5).method is AssignMethod.NONE
    assert INDEX.assign(116.41, math.inf, tolerance_m=5).method is AssignMethod.NONE


def test_a_huge_tolerance_still_agrees_with_brute_force():
    lons = np.linspace(115.9, 116.9, 40)
    lats = np.linspace(39.5, 40.3, 40)
    result = INDEX.assign_many(lons, lats, tolerance_m=60_000)
    expected = [brute_force(lon, lat, 60_000) for lon, lat in zip(lons, lats, strict=True)]
    assert list(result) == expected
    assert sum(r.method is AssignMethod.NEAREST for r in result) > 30


def test_a_search_wider_than_the_lattice_can_enumerate_falls_back_to_the_strtree():
    edges = [116.0 + 0.005 * k for k in range(61)]
    shapes = [
        GridShape(
            f"b{i}-{j}",
            f"{i:02d}{j:02d}",
            "basic",
            shapely.box(
                edges[i], 39.6 + edges[j] - 116.0, edges[i + 1], 39.6 + edges[j + 1] - 116.0
            ),
        )
        for i in range(60)
        for j in range(60)
    ]
    index = GridIndex(shapes)
    queried = []
    lattice = index._basic.lattice
    tree = lattice.tree

    class SpyTree:
        def query(self, *args, **kwargs):
            queried.append(kwargs.get("predicate"))
            return tree.query(*args, **kwargs)

    lattice.tree = SpyTree()
    lons = np.linspace(115.5, 116.8, 40)
    lats = np.full(40, 39.5)  # all south of the tiling
    result = index.assign_many(lons, lats, tolerance_m=80_000)
    assert queried == ["dwithin"]
    assert list(result) == [
        index.assign(lon, lat, tolerance_m=80_000) for lon, lat in zip(lons, lats, strict=True)
    ]


def test_an_index_without_grids_assigns_nothing():
    empty = GridIndex([])
    assert len(empty) == 0
    assert empty.assign(116.4, 39.9, tolerance_m=5).method is AssignMethod.NONE
    assert [r.method for r in empty.assign_many([116.4, 116.5], [39.9, 39.9], tolerance_m=5)] == [
        AssignMethod.NONE,
        AssignMethod.NONE,
    ]


def test_grids_with_empty_geometry_are_never_assigned():
    shapes = [
        GridShape("b1", "A", "basic", shapely.Polygon()),
        GridShape("b2", "B", "basic", shapely.box(116.40, 39.90, 116.41, 39.91)),
    ]
    index = GridIndex(shapes)
    for lon, lat in ((116.405, 39.905), (116.4101, 39.905), (116.5, 39.9)):
        expected = brute_force(lon, lat, 50, shapes)
        assert index.assign(lon, lat, tolerance_m=50) == expected
        assert index.assign_many([lon], [lat], tolerance_m=50)[0] == expected


def test_index_length_counts_both_kinds():
    assert len(INDEX) == len(SHAPES)


def test_unknown_kinds_and_duplicate_ids_are_refused():
    square = shapely.box(116.40, 39.90, 116.41, 39.91)
    with pytest.raises(ValueError, match="kind"):
        GridIndex([GridShape("b1", "A", "other", square)])
    with pytest.raises(ValueError, match="more than once"):
        GridIndex([GridShape("b1", "A", "basic", square), GridShape("b1", "B", "special", square)])
