"""Point-to-grid assignment at city scale: our paths as ratios to baselines run alongside.

Builds 10,000 basic grids (a Voronoi tiling, so polygons are irregular like real ones) and
1,000 special grids over Beijing's extent, draws 100,000 random points, and prints:

1. the batch assignment rate of ``GridIndex.assign_many`` against raw shapely STRtree
   ``query(points, predicate="intersects")`` on the same polygons (target >= 0.8);
2. the PostGIS SQL path's rate (``assign_in_database``, batches of 10,000), if PostGIS is
   reachable at BENCH_DATABASE_URL (default: the local server, database gridops_bench);
3. the single-point HTTP endpoint's requests/s under gunicorn against a bare Flask JSON
   endpoint under the same gunicorn settings (target >= 0.5).

Run: ``.venv/bin/python bench/assign_bench.py`` (add ``--skip-http`` or ``--skip-postgis``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import shapely
from shapely import STRtree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.assign import GridIndex, GridShape  # noqa: E402

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


def postgis_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/gridops_bench")


def prepare_postgis(shapes: list[GridShape]) -> str | None:
    """A fresh bench database holding the grids; None if PostGIS is not reachable."""
    import sqlalchemy as sa

    url = postgis_url()
    db_name = sa.engine.make_url(url).database
    try:
        admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {db_name}")
        admin.dispose()
    except Exception as exc:  # noqa: BLE001
        print(f"PostGIS path skipped: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        return None
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
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
""")


def _serve(app_spec: str, port: int, workers: int, env: dict, cwd: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", app_spec],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)  # noqa: S310
            break
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    return proc


def _load(url: str, body: dict, headers: dict, seconds: float, threads: int) -> float:
    data = json.dumps(body).encode()
    deadline = time.perf_counter() + seconds

    def worker() -> int:
        done = 0
        while time.perf_counter() < deadline:
            request = urllib.request.Request(
                url,
                data=data,
                method="POST",  # noqa: S310
                headers={"Content-Type": "application/json", **headers},
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()
                assert response.status == 200
            done += 1
        return done

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: worker(), range(threads)))
    return total / (time.perf_counter() - start)


def bench_http(url: str, workers: int, seconds: float) -> None:
    """Both servers: same gunicorn, same workers, same client; only the endpoint differs."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bare_app.py").write_text(
            BARE_APP + "\n@app.get('/health')\ndef h():\n    return {}\n"
        )
        bare = _serve("bare_app:app", 18081, workers, {**env, "PYTHONPATH": tmp}, Path(tmp))
        try:
            bare_rate = _load("http://127.0.0.1:18081/bare", {"lon": 116.4, "lat": 39.9}, {},
                              seconds, threads=8)
        finally:
            bare.terminate()
            bare.wait()
    token = _bench_token(url)
    ours = _serve("server.app:create_app()", 18082, workers, env, ROOT)
    try:
        ours_rate = _load("http://127.0.0.1:18082/api/v1/assign",
                          {"lon": 116.4, "lat": 39.9, "crs": "wgs84"},
                          {"Authorization": f"Bearer {token}"}, seconds, threads=8)
    finally:
        ours.terminate()
        ours.wait()
    print(f"bare Flask JSON (gunicorn -w {workers}): {bare_rate:10,.0f} req/s")
    print(f"POST /api/v1/assign (same)     : {ours_rate:10,.0f} req/s  "
          f"ratio {ours_rate / bare_rate:.2f} (target >= 0.5)")


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
    args = parser.parse_args()

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
        bench_http(url, args.workers, args.seconds)


if __name__ == "__main__":
    main()
