"""The topology audit finds planted overlaps, gaps and protrusions, with true geodesic areas."""

import pyproj
import pytest
import shapely

from geo.audit import Gap, TopologyReport, audit_basic_grids

GEOD = pyproj.Geod(ellps="WGS84")
STEP = 0.01  # degrees; a cell is about 850 m x 1110 m near Beijing
LON0, LAT0 = 116.30, 39.90
COLS, ROWS = 6, 5


def rect(lon_min, lat_min, lon_max, lat_max):
    return shapely.box(lon_min, lat_min, lon_max, lat_max)


def true_area_m2(lon_min, lat_min, lon_max, lat_max):
    """Independent truth: pyproj on the exact rectangle's corners."""
    lons = [lon_min, lon_max, lon_max, lon_min]
    lats = [lat_min, lat_min, lat_max, lat_max]
    return abs(GEOD.polygon_area_perimeter(lons, lats)[0])


def cell(i, j):
    return (LON0 + i * STEP, LAT0 + j * STEP, LON0 + (i + 1) * STEP, LAT0 + (j + 1) * STEP)


def tiling(replace=None):
    """(code, geometry) for every cell, with some cells' rectangles replaced."""
    replace = replace or {}
    grids = []
    for i in range(COLS):
        for j in range(ROWS):
            bounds = replace.get((i, j), cell(i, j))
            if bounds is not None:
                grids.append((f"G{i}{j}", rect(*bounds)))
    return grids


TOWNSHIP = rect(LON0, LAT0, LON0 + COLS * STEP, LAT0 + ROWS * STEP)


def test_an_exact_tiling_is_clean_although_neighbours_share_edges():
    report = audit_basic_grids(tiling(), TOWNSHIP)
    assert report == TopologyReport((), (), ())
    assert report.clean


def test_a_planted_overlap_is_found_once_with_its_true_area():
    # G21 reaches 0.003 degrees into G31.
    lon_min, lat_min, lon_max, lat_max = cell(2, 1)
    grids = tiling({(2, 1): (lon_min, lat_min, lon_max + 0.003, lat_max)})
    report = audit_basic_grids(grids, TOWNSHIP)
    assert report.gaps == ()
    assert report.protrusions == ()
    [overlap] = report.overlaps
    assert (overlap.code_a, overlap.code_b) == ("G21", "G31")
    truth = true_area_m2(lon_max, lat_min, lon_max + 0.003, lat_max)
    assert overlap.area_m2 == pytest.approx(truth, rel=0.01)
    assert overlap.geometry.equals(rect(lon_max, lat_min, lon_max + 0.003, lat_max))


def test_overlap_pairs_are_ordered_by_code_whatever_the_input_order():
    lon_min, lat_min, lon_max, lat_max = cell(2, 1)
    grids = tiling({(2, 1): (lon_min, lat_min, lon_max + 0.003, lat_max)})
    report = audit_basic_grids(list(reversed(grids)), TOWNSHIP)
    assert [(o.code_a, o.code_b) for o in report.overlaps] == [("G21", "G31")]


def test_a_grid_inside_another_is_an_overlap_of_its_whole_area():
    inner = (LON0 + 0.002, LAT0 + 0.002, LON0 + 0.004, LAT0 + 0.004)
    report = audit_basic_grids([*tiling(), ("Z1", rect(*inner))], TOWNSHIP)
    [overlap] = report.overlaps
    assert (overlap.code_a, overlap.code_b) == ("G00", "Z1")
    assert overlap.area_m2 == pytest.approx(true_area_m2(*inner), rel=0.01)


def test_a_planted_gap_is_found_with_its_true_area_and_a_point_inside_it():
    # G33 shrinks by 0.004 degrees on its right side, leaving a strip uncovered.
    lon_min, lat_min, lon_max, lat_max = cell(3, 3)
    report = audit_basic_grids(
        tiling({(3, 3): (lon_min, lat_min, lon_max - 0.004, lat_max)}), TOWNSHIP
    )
    assert report.overlaps == ()
    assert report.protrusions == ()
    [gap] = report.gaps
    assert isinstance(gap, Gap)
    assert gap.area_m2 == pytest.approx(
        true_area_m2(lon_max - 0.004, lat_min, lon_max, lat_max), rel=0.01
    )
    assert gap.geometry.contains(shapely.Point(gap.location))


def test_a_missing_grid_on_the_township_edge_is_a_gap():
    report = audit_basic_grids(tiling({(0, 0): None}), TOWNSHIP)
    [gap] = report.gaps
    assert gap.area_m2 == pytest.approx(true_area_m2(*cell(0, 0)), rel=0.01)


def test_without_a_township_only_enclosed_holes_are_gaps():
    report = audit_basic_grids(tiling({(0, 0): None, (2, 2): None}), None)
    [gap] = report.gaps  # the corner cell is not enclosed, so it is not a gap
    assert gap.area_m2 == pytest.approx(true_area_m2(*cell(2, 2)), rel=0.01)
    assert report.protrusions == ()


def test_a_grid_sticking_out_of_the_township_is_a_protrusion_of_the_outside_part():
    lon_min, lat_min, lon_max, lat_max = cell(COLS - 1, 0)
    report = audit_basic_grids(
        tiling({(COLS - 1, 0): (lon_min, lat_min, lon_max + 0.002, lat_max)}), TOWNSHIP
    )
    [protrusion] = report.protrusions
    assert protrusion.code == f"G{COLS - 1}0"
    assert protrusion.area_m2 == pytest.approx(
        true_area_m2(lon_max, lat_min, lon_max + 0.002, lat_max), rel=0.01
    )
    assert report.overlaps == ()
    assert report.gaps == ()


def test_pieces_at_or_below_the_minimum_area_are_ignored():
    lon_min, lat_min, lon_max, lat_max = cell(3, 3)
    sliver = 5e-9  # degrees: 0.4 mm wide, about 0.5 m² over the cell's height
    grids = tiling(
        {
            (3, 3): (lon_min, lat_min, lon_max - sliver, lat_max),
            (1, 1): (*cell(1, 1)[:2], cell(1, 1)[2] + sliver, cell(1, 1)[3]),
        }
    )
    assert audit_basic_grids(grids, TOWNSHIP).clean
    assert not audit_basic_grids(grids, TOWNSHIP, min_area_m2=0.01).clean


def test_invalid_grids_are_audited_as_repaired_instead_of_failing():
    lon_min, lat_min, lon_max, lat_max = cell(1, 1)
    bowtie = shapely.Polygon(
        [(lon_min, lat_min), (lon_max, lat_max), (lon_max, lat_min), (lon_min, lat_max)]
    )
    report = audit_basic_grids(tiling({(1, 1): None}) + [("G11", bowtie)], TOWNSHIP)
    assert len(report.gaps) == 2  # the two triangles the bowtie leaves uncovered
    assert report.overlaps == ()


def test_a_large_township_is_audited_quickly_without_comparing_every_pair():
    step = 0.002
    grids = [
        (
            f"{i:03d}{j:03d}",
            rect(LON0 + i * step, LAT0 + j * step, LON0 + (i + 1) * step, LAT0 + (j + 1) * step),
        )
        for i in range(40)
        for j in range(40)
    ]
    township = rect(LON0, LAT0, LON0 + 40 * step, LAT0 + 40 * step)
    assert audit_basic_grids(grids, township).clean


# --- the import's tiling checks (geo.audit.overlaps_of_new_grids, parts_outside) ----------

def test_a_new_grid_overlapping_two_existing_ones_names_each_with_its_area():
    from geo.audit import overlaps_of_new_grids

    existing = [(f"G{i}", rect(*cell(i, 0))) for i in range(3)]
    # Covers the east 30 % of G0 and the west 40 % of G1 (rectangles, so the truth is exact).
    new = [("N", rect(LON0 + 0.7 * STEP, LAT0, LON0 + 1.4 * STEP, LAT0 + STEP))]
    found = overlaps_of_new_grids(new, existing, tolerance_m2=1.0)
    assert [(c.index, c.other) for c in found] == [(0, "G0"), (0, "G1")]
    g0, g1 = found
    assert g0.area_m2 == pytest.approx(
        true_area_m2(LON0 + 0.7 * STEP, LAT0, LON0 + STEP, LAT0 + STEP), rel=1e-4)
    assert g1.area_m2 == pytest.approx(
        true_area_m2(LON0 + STEP, LAT0, LON0 + 1.4 * STEP, LAT0 + STEP), rel=1e-4)


def test_neighbours_sharing_an_edge_and_slivers_under_the_tolerance_pass():
    from geo.audit import overlaps_of_new_grids

    existing = [("G0", rect(*cell(0, 0)))]
    neighbour = ("N1", rect(*cell(1, 0)))
    # 1e-8 degree into G0 over 1.1 km: about 1 mm wide, ~1 m² in all.
    sliver = ("N2", rect(LON0 - STEP, LAT0, LON0 + 1e-8, LAT0 + STEP))
    assert overlaps_of_new_grids([neighbour, sliver], existing, tolerance_m2=2.0) == []
    assert [c.other for c in overlaps_of_new_grids([sliver], existing, tolerance_m2=0.5)] == ["G0"]


def test_two_new_grids_overlapping_each_other_are_both_reported():
    from geo.audit import overlaps_of_new_grids

    a = ("A", rect(*cell(0, 0)))
    b = ("B", rect(LON0 + 0.5 * STEP, LAT0, LON0 + 1.5 * STEP, LAT0 + STEP))
    found = overlaps_of_new_grids([a, b], [], tolerance_m2=1.0)
    assert [(c.index, c.other) for c in found] == [(0, "B"), (1, "A")]
    assert found[0].area_m2 == found[1].area_m2


def test_parts_outside_an_area_are_measured_and_a_grid_on_its_edge_passes():
    from geo.audit import parts_outside

    township = rect(LON0, LAT0, LON0 + 2 * STEP, LAT0 + STEP)
    on_edge = rect(*cell(1, 0))
    sticking_out = rect(LON0 + 1.5 * STEP, LAT0, LON0 + 2.5 * STEP, LAT0 + STEP)
    found = parts_outside([on_edge, sticking_out], township, tolerance_m2=100.0)
    assert [c.index for c in found] == [1]
    assert found[0].area_m2 == pytest.approx(
        true_area_m2(LON0 + 2 * STEP, LAT0, LON0 + 2.5 * STEP, LAT0 + STEP), rel=1e-4)
