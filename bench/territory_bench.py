"""A real district's grid import with the tiling checks on, on PostGIS: how long it takes.

Builds a fresh database (BENCH_DATABASE_URL, default: the local server, database
gridops_bench_territory) with ``gridops db upgrade``, then a Yicheng-sized district: 12
townships whose boundaries are a Voronoi tiling of a 40 x 30 km district, densified to a
vertex every ~50 m as surveyed boundaries are (about 900 vertices each), and a GeoJSON file of
438 basic grids (a Voronoi tiling inside each township, clipped to its boundary, so they
tile it and touch its edge) plus 118 special grids (16-sided campuses and sites of 100-400 m
radius, anywhere in the district). It then times ``server.grids.services.import_grids`` of
the whole file with the overlap and boundary checks on (the default), in one transaction,
``--runs`` times (each run in a rolled-back transaction, so each starts from the same
empty district), and prints min / median / max against the target (< 10 s), with the time
spent in each part of one run (cProfile, by function) so it says what dominates.

A second figure replaces all 438 basic grids (``replace_existing``) over the imported
district, which compares them against 438 active grids instead of none.

Run: ``.venv/bin/python bench/territory_bench.py`` (``--runs 5``; ``--profile`` prints the
top functions of one run).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from datetime import UTC, datetime

import numpy as np
import shapely
import sqlalchemy as sa
from _support import fresh_database, machine_line, postgis_url
from shapely.geometry import mapping
from sqlalchemy.orm import Session

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
WEST, SOUTH = 111.80, 31.60  # roughly where Yicheng (宜城市, Hubei) lies
EAST, NORTH = WEST + 0.47, SOUTH + 0.27  # ~44 km x 30 km
TOWNSHIPS = 12
BASIC, SPECIAL = 438, 118
TARGET_S = 10.0


def township_boundaries(rng: np.random.Generator) -> list[shapely.Polygon]:
    extent = shapely.box(WEST, SOUTH, EAST, NORTH)
    seeds = shapely.multipoints(np.column_stack([rng.uniform(WEST, EAST, TOWNSHIPS),
                                                 rng.uniform(SOUTH, NORTH, TOWNSHIPS)]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=extent))
    return [shapely.segmentize(shapely.intersection(c, extent), 0.0005) for c in cells]


def grid_features(rng: np.random.Generator, townships: list[shapely.Polygon]) -> list[dict]:
    areas = np.array([t.area for t in townships])
    counts = np.maximum(1, np.round(BASIC * areas / areas.sum()).astype(int))
    counts[np.argmax(counts)] += BASIC - counts.sum()
    features = []
    for t, (township, count) in enumerate(zip(townships, counts, strict=True)):
        seeds = _points_inside(rng, township, int(count))
        cells = shapely.get_parts(shapely.voronoi_polygons(
            shapely.multipoints(seeds), extend_to=shapely.envelope(township).buffer(0.01)))
        for i, cell in enumerate(cells):
            features.append(_feature(f"T{t:02d}-B{i:03d}", f"T{t:02d}", "basic",
                                     shapely.intersection(cell, township)))
    for s in range(SPECIAL):
        t = int(rng.integers(TOWNSHIPS))
        [(x, y)] = _points_inside(rng, townships[t].buffer(-0.005), 1)
        site = shapely.Point(x, y).buffer(rng.uniform(100, 400) / 90_000, quad_segs=4)
        features.append(_feature(f"T{t:02d}-S{s:03d}", f"T{t:02d}", "special", site,
                                 owner_unit=f"T{t:02d}-OWN"))
    return features


def _points_inside(rng: np.random.Generator, area, n: int) -> np.ndarray:  # noqa: ANN001
    x0, y0, x1, y1 = area.bounds
    found: list[tuple[float, float]] = []
    while len(found) < n:
        xs, ys = rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)
        inside = shapely.contains_xy(area, xs, ys)
        found += list(zip(xs[inside], ys[inside], strict=True))
    return np.array(found[:n])


def _feature(code: str, township: str, kind: str, geometry, **extra) -> dict:  # noqa: ANN001, ANN003
    return {"type": "Feature", "geometry": mapping(geometry),
            "properties": {"code": code, "name": code, "kind": kind, "township": township,
                           **extra}}


def load_district(session: Session, townships: list[shapely.Polygon]) -> None:
    from server.org.rules import UnitKind
    from server.org.services import create_unit

    create_unit(session, code="D", name="宜城市", kind=UnitKind.DISTRICT, parent_code=None,
                now=NOW)
    for t, boundary in enumerate(townships):
        create_unit(session, code=f"T{t:02d}", name=f"第{t + 1}镇", kind=UnitKind.TOWNSHIP,
                    parent_code="D", boundary=boundary, now=NOW)
        create_unit(session, code=f"T{t:02d}-OWN", name="学校", kind=UnitKind.OWNER_UNIT,
                    parent_code=f"T{t:02d}", now=NOW)


def run_import(session: Session, features: list[dict], *, replace: bool) -> float:
    from geo.crs import CRS
    from server.grids.services import import_grids

    started = time.perf_counter()
    result = import_grids(session, {"type": "FeatureCollection", "features": features},
                          crs=CRS.WGS84, repair=False, replace_existing=replace,
                          allowed_township_ids=None, now=NOW)
    session.flush()
    elapsed = time.perf_counter() - started
    assert not result.record.overridden_problems
    assert len(result.created) == len(features), len(result.created)
    return elapsed


def timed(engine: sa.Engine, features: list[dict], runs: int, *, base: list[dict] | None,
          profile: bool) -> list[float]:
    times = []
    for run in range(runs):
        with Session(engine) as session:
            if base is not None:
                run_import(session, base, replace=False)
            profiler = cProfile.Profile() if profile and run == 0 else None
            if profiler:
                profiler.enable()
            times.append(run_import(session, features, replace=base is not None))
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            session.rollback()
    return times


def report(label: str, times: list[float]) -> None:
    verdict = "meets" if statistics.median(times) < TARGET_S else "MISSES"
    print(f"{label}: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s ({verdict} the {TARGET_S:.0f} s target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(machine_line())
    url = postgis_url("gridops_bench_territory")
    if not fresh_database(url):
        raise SystemExit("this bench needs PostGIS")
    rng = np.random.default_rng(11)
    townships = township_boundaries(rng)
    features = grid_features(rng, townships)
    engine = sa.create_engine(url)
    with Session(engine) as session:
        load_district(session, townships)
        session.commit()
    vertices = sum(len(shapely.get_coordinates(t)) for t in townships)
    print(f"district: {TOWNSHIPS} townships ({vertices} boundary vertices), {BASIC} basic + "
          f"{SPECIAL} special grids, PostGIS at {sa.engine.make_url(url).host}")
    report("import 556 grids, checks on", timed(engine, features, args.runs, base=None,
                                                  profile=args.profile))
    basic = [f for f in features if f["properties"]["kind"] == "basic"]
    report("replace 438 basic grids over them", timed(engine, basic, args.runs, base=features,
                                                        profile=False))
    engine.dispose()


if __name__ == "__main__":
    main()
