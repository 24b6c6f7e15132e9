"""Point-to-grid assignment at city scale: our paths as ratios to baselines run alongside.

Builds 10,000 basic grids (a Voronoi tiling, so polygons are irregular like real ones) and
1,000 special grids over Beijing's extent, draws 100,000 random points, and prints:

1. the batch assignment rate of ``GridIndex.assign_many`` against raw shapely STRtree
   ``query(points, predicate="intersects")`` on the same polygons (target >= 0.8);
2. the PostGIS SQL path's rate (``assign_in_database``, batches of 10,000), if PostGIS is
   reachable at BENCH_DATABASE_URL (default: the local server, database gridops_bench);
3. the single-point HTTP endpoint's requests/s under gunicorn against a bare Flask JSON
   endpoint under the same gunicorn settings, after a 2 s warm-up reported apart (target
   >= 0.8), as before (each worker loads the index on its first request), with
   ``deploy/gunicorn.conf.py`` (built once in the master, shared copy-on-write) but the fast
   lane off (``GRID_ASSIGN_FAST_LANE=0``: every request through the Flask route), and as
   deployed (the plain single point answered beneath Flask, server/api/assign/fast_lane.py);
4. the memory of master + workers (PSS from /proc/<pid>/smaps_rollup) with 1, 2 and 4
   workers, both ways: what each worker beyond the first adds (target <= +20 MB).

Run: ``.venv/bin/python bench/assign_bench.py`` (add ``--skip-http`` or ``--skip-postgis``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import shapely
from _support import (
    ROOT,
    closed_loop,
    fresh_database,
    gunicorn,
    machine_line,
    postgis_url,
)
from shapely import STRtree

from geo.assign import GridIndex, GridShape

WEST, SOUTH, EAST, NORTH = 115.4, 39.4, 117.5, 41.1
TOLERANCE_M = 50.0


def build_grids(n_basic: int, n_special: int, seed: int = 7) -> list[GridShape]:
    rng = np.random.default_rng(seed)
    extent = shapely.box(WEST, SOUTH, EAST, NORTH)
    seeds = shapely.multipoints(
        np.column_stack([rng.uniform(WEST, EAST, n_basic), rng.uniform(SOUTH, NORTH, n_basic)])
    )
    cells = shapely.voronoi_polygons(seeds, extend_to=extent)
    basic = [shapely.intersection(c, extent) for c in shapely.get_parts(cells)]
    shapes = [GridShape(str(uuid.uuid4()), f"B{i:05d}", "basic", g) for i, g in enumerate(basic)]
    # Special grids: campuses and sites of 200-800 m, as 16-sided polygons.
    centres = np.column_stack(
        [rng.uniform(WEST, EAST, n_special), rng.uniform(SOUTH, NORTH, n_special)]
    )
    radii_deg = rng.uniform(200, 800, n_special) / 90_000
    for i, ((x, y), r) in enumerate(zip(centres, radii_deg, strict=True)):
        shape = shapely.Point(x, y).buffer(r, quad_segs=4)
        shapes.append(GridShape(str(uuid.uuid4()), f"S{i:04d}", "special", shape))
    return shapes


def random_points(n: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(WEST, EAST, n), rng.uniform(SOUTH, NORTH, n)


def best_of(runs: int, fn) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_in_memory(shapes: list[GridShape], lons: np.ndarray, lats: np.ndarray) -> GridIndex:
    n = len(lons)
    polygons = [s.geometry for s in shapes]
    points = shapely.points(lons, lats)
    raw_tree = STRtree(polygons)
    raw_s = best_of(3, lambda: raw_tree.query(points, predicate="intersects"))
    index = GridIndex(shapes)
    ours_s = best_of(3, lambda: index.assign_many(lons, lats, tolerance_m=TOLERANCE_M))
    build_s = best_of(1, lambda: GridIndex(shapes))
    print(f"raw STRtree query           : {n / raw_s:12,.0f} points/s")
    print(f"GridIndex.assign_many       : {n / ours_s:12,.0f} points/s  "
          f"ratio {raw_s / ours_s:.2f} (target >= 0.8)")
    print(f"GridIndex build ({len(shapes)} grids): {build_s * 1000:.0f} ms")
    return index


def prepare_postgis(shapes: list[GridShape]) -> str | None:
    """A fresh bench database holding the grids; None if PostGIS is not reachable."""
    url = postgis_url("gridops_bench")
    if not fresh_database(url):
        return None
    load_grids(url, shapes)
    return url


def load_grids(url: str, shapes: list[GridShape]) -> None:
    """Bulk-load the bench grids under one district and township, bypassing the import checks."""
    from datetime import UTC, datetime

    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from geo.measure import area_m2
    from server.grids.models import Grid
    from server.grids.rules import GridKind
    from server.grids.services import bump_generation
    from server.org.rules import UnitKind
    from server.org.services import create_unit

    now = datetime.now(UTC)
    engine = sa.create_engine(url)
    with Session(engine) as session:
        create_unit(session, code="BJ", name="Beijing bench district", kind=UnitKind.DISTRICT,
                    parent_code=None, now=now)
        township = create_unit(session, code="BJ-T", name="Bench township",
                               kind=UnitKind.TOWNSHIP, parent_code="BJ", now=now)
        rows = []
        for s in shapes:
            mp = (
                shapely.MultiPolygon([s.geometry])
                if s.geometry.geom_type == "Polygon"
                else s.geometry
            )
            x0, y0, x1, y1 = mp.bounds
            rows.append(Grid(id=uuid.UUID(s.id), code=s.code, name=s.code, kind=GridKind(s.kind),
                             township_id=township.id, boundary=mp, min_lon=x0, min_lat=y0,
                             max_lon=x1, max_lat=y1, area_m2=area_m2(mp), created_at=now))
        session.add_all(rows)
        bump_generation(session)
        session.commit()
        session.execute(sa.text("ANALYZE grids"))
        session.commit()
    engine.dispose()


def bench_postgis(url: str, lons: np.ndarray, lats: np.ndarray, index: GridIndex) -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from server.grids.assignment import assign_in_database

    engine = sa.create_engine(url)
    n = len(lons)
    chunk = 10_000
    with Session(engine) as session:
        start = time.perf_counter()
        found = []
        for i in range(0, n, chunk):
            found += assign_in_database(session, lons[i:i + chunk].tolist(),
                                        lats[i:i + chunk].tolist(), tolerance_m=TOLERANCE_M)
        elapsed = time.perf_counter() - start
    engine.dispose()
    mine = list(index.assign_many(lons, lats, tolerance_m=TOLERANCE_M))
    agree = sum(1 for a, b in zip(found, mine, strict=True)
                if (a.basic, a.method, a.special) == (b.basic, b.method, b.special))
    print(f"PostGIS assign_in_database  : {n / elapsed:12,.0f} points/s  "
          f"(batches of {chunk}; agrees with the index on {agree}/{n} points)")


BARE_APP = textwrap.dedent("""
    from flask import Flask, request
    app = Flask(__name__)
    @app.post("/bare")
    def bare():
        body = request.get_json()
        return {"lon": body["lon"], "lat": body["lat"], "ok": True}
    @app.get("/health")
    def health():
        return {}
""")
CONF = str(ROOT / "deploy" / "gunicorn.conf.py")
PORTS = iter(range(int(os.environ.get("BENCH_PORT", "18081")), 65535))


def _memory(pid: int) -> dict[str, int]:
    """KiB from /proc/<pid>/smaps_rollup: Rss, Pss, and Private (clean + dirty)."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0])
    return {"rss": values["Rss"], "pss": values["Pss"],
            "private": values["Private_Clean"] + values["Private_Dirty"]}


def _workers_of(pid_file: Path) -> tuple[int, list[int]]:
    master = int(pid_file.read_text())
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return master, sorted(int(c) for c in children)


def _first_answer_ms(url: str, body: dict, headers: dict, n: int) -> list[float]:
    """Latency of the first ``n`` requests one after another (each worker's first one pays
    for building the index when it is not built before the fork)."""
    import json

    times = []
    for _ in range(n):
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _serve_and_measure(label: str, spec: str, env: dict, cwd: Path, path: str, body: dict,
                       headers: dict, workers: int, seconds: float, extra: tuple = ()) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        pid_file = Path(tmp, "master.pid")
        started = time.perf_counter()
        with gunicorn(spec, next(PORTS), workers=workers, env=env, cwd=cwd,
                      extra=(*extra, "-p", str(pid_file)), wait_s=120) as base:
            up_s = time.perf_counter() - started
            first = _first_answer_ms(base + path, body, headers, 4 * workers)
            warm = closed_loop(base + path, lambda _t, _n: body, headers=headers,
                               seconds=2.0, threads=8)  # warm-up, reported apart
            load = closed_loop(base + path, lambda _t, _n: body, headers=headers,
                               seconds=seconds, threads=8)
            master, children = _workers_of(pid_file)
            memory = {"master": _memory(master), "workers": [_memory(c) for c in children]}
    return {"label": label, "up_s": up_s, "first_ms": first, "warm": warm, "load": load,
            "memory": memory}


def _print_run(run: dict, baseline: float | None) -> None:
    first = run["first_ms"]
    print(f"  {run['label']}: up in {run['up_s']:.1f} s; first requests max {max(first):,.0f} ms "
          f"(median {sorted(first)[len(first) // 2]:.0f} ms); warm-up 2 s "
          f"{run['warm'].rate:,.0f} req/s")
    ratio = f"  ratio {run['load'].rate / baseline:.2f} (target >= 0.8)" if baseline else ""
    print("  " + run["load"].line(run["label"] + " after warm-up") + ratio)
    m = run["memory"]
    workers = " ".join(f"[rss {w['rss'] / 1024:.0f} pss {w['pss'] / 1024:.0f} "
                       f"private {w['private'] / 1024:.0f}]" for w in m["workers"])
    total_pss = m["master"]["pss"] + sum(w["pss"] for w in m["workers"])
    master = m["master"]
    print(f"    MiB master [rss {master['rss'] / 1024:.0f} pss {master['pss'] / 1024:.0f}]"
          f" workers {workers}; PSS of all {total_pss / 1024:.0f}")


def _total_pss(run: dict) -> float:
    m = run["memory"]
    return (m["master"]["pss"] + sum(w["pss"] for w in m["workers"])) / 1024


def bench_http(url: str, workers: int, seconds: float, memory_workers: tuple[int, ...]) -> None:
    """Same gunicorn, same workers, same client; the bare endpoint, then ours as before
    (each worker loads the index on its first request) and with deploy/gunicorn.conf.py
    (built once in the master before the fork). Then PSS with 1..N workers."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    point = {"lon": 116.4, "lat": 39.9}
    token = _bench_token(url)
    auth = {"Authorization": f"Bearer {token}"}
    ours_spec = "server.app:create_app()"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bare_app.py").write_text(BARE_APP)
        bare = _serve_and_measure("bare Flask JSON", "bare_app:app",
                                  {**env, "PYTHONPATH": tmp}, Path(tmp), "/bare", point, {},
                                  workers, seconds)
    before = _serve_and_measure("assign, no preload", ours_spec, env, ROOT, "/api/v1/assign",
                                {**point, "crs": "wgs84"}, auth, workers, seconds)
    route = _serve_and_measure("assign, Flask route only", ours_spec,
                               {**env, "GRID_ASSIGN_FAST_LANE": "0"}, ROOT, "/api/v1/assign",
                               {**point, "crs": "wgs84"}, auth, workers, seconds,
                               extra=("-c", CONF))
    after = _serve_and_measure("assign, -c gunicorn.conf", ours_spec, env, ROOT,
                               "/api/v1/assign", {**point, "crs": "wgs84"}, auth, workers,
                               seconds, extra=("-c", CONF))
    rate = bare["load"].rate
    print(f"HTTP, gunicorn -w {workers}, 8 client threads, {seconds:g} s after a 2 s warm-up:")
    for run in (bare, before, route, after):
        _print_run(run, None if run is bare else rate)
    print("memory per worker (PSS of master + workers, MiB), after the same load:")
    for extra, label in (((), "no preload"), (("-c", CONF), "preload (gunicorn.conf)")):
        totals = []
        for n in memory_workers:
            run = _serve_and_measure(label, ours_spec, env, ROOT, "/api/v1/assign",
                                     {**point, "crs": "wgs84"}, auth, n, 2.0, extra=extra)
            totals.append(_total_pss(run))
        steps = [(b - a) / (nb - na) for a, b, na, nb
                 in zip(totals, totals[1:], memory_workers, memory_workers[1:], strict=False)]
        print(f"  {label:<24} " + "  ".join(f"-w {n}: {t:,.0f}" for n, t in
                                            zip(memory_workers, totals, strict=True))
              + "   each worker beyond the first: +" + ", +".join(f"{s:.0f}" for s in steps)
              + " MiB (target <= +20)")


def _bench_token(url: str) -> str:
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from server.auth.passwords import Passwords
    from server.auth.services import login
    from server.org.models import Unit
    from server.org.rules import Role
    from server.org.services import create_user

    engine = sa.create_engine(url)
    with Session(engine) as session:
        passwords = Passwords(time_cost=1, memory_kib=64)
        unit = session.scalar(sa.select(Unit).where(Unit.code == "BJ-T"))
        now = datetime.now(UTC)
        create_user(
            session,
            passwords,
            username="bench",
            password="bench-pass-1",
            display_name="bench",
            unit_id=unit.id,
            roles=[Role.TOWNSHIP_DISPATCHER],
            now=now,
        )
        issued = login(session, passwords, "bench", "bench-pass-1", now=now,
                       lifetime=timedelta(hours=1))
        session.commit()
    engine.dispose()
    return issued.token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--basic", type=int, default=10_000)
    parser.add_argument("--special", type=int, default=1_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--skip-postgis", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--memory-workers", default="1,2,4",
                        help="worker counts whose memory is compared")
    args = parser.parse_args()
    print(machine_line())

    start = time.perf_counter()
    shapes = build_grids(args.basic, args.special)
    lons, lats = random_points(args.points)
    print(
        f"{args.basic} basic + {args.special} special grids over lon {WEST}-{EAST}, "
        f"lat {SOUTH}-{NORTH}; {args.points} points (built in {time.perf_counter() - start:.1f} s)"
    )
    index = bench_in_memory(shapes, lons, lats)
    if args.skip_postgis:
        return
    url = prepare_postgis(shapes)
    if url is None:
        return
    bench_postgis(url, lons, lats, index)
    if not args.skip_http:
        bench_http(url, args.workers, args.seconds,
                   tuple(int(n) for n in args.memory_workers.split(",")))
    print(machine_line())


if __name__ == "__main__":
    main()
