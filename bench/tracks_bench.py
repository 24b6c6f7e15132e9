"""Patrol tracks at district scale on PostGIS: a day of fixes for 1,000 staff, and dwell per grid.

Builds a fresh database (bench/_support.py: BENCH_DATABASE_URL, default: the local server,
database gridops_bench_tracks; ``track_fixes`` partitioned by month as the migrations make
it) with the demo district, ``--staff`` department staff each posted (patrolling) to two
of its basic grids, and a synthetic working day per person: one fix every 10 s for 8 hours
(2,880 fixes; 2.88 million for 1,000 staff), walking between and around their two grids
at about 1.3 m/s with GPS noise. Then, in the same run, it prints:

1. the baseline: a raw binary ``COPY`` of exactly those rows into ``track_fixes`` (psycopg's
   ``copy.write_row`` with the column types set; the primary key is the only index, as in
   production); about one fix in a thousand is a 2 km GPS jump, which COPY stores as is;
2. the table emptied, the floor of one transaction per upload: each batch's rows in one
   ``INSERT … unnest`` (the service's statement) and a commit, with no checks;
3. the table emptied, the same fixes through the ingestion service
   (``server.staff.track_ingest.ingest_fixes``: the person's lock and anchor read in one
   pipeline, then one INSERT of binary arrays per batch) the way phones
   send them: one batch of an hour (360 fixes) per transaction, each person's batches in
   shuffled order (late and out of order), every batch also filtered for impossible fixes
   against the stored neighbours;
   fixes/s (fixes received, including those dropped) and the ratios to the COPY and to
   the floor;
4. a replay of 10 % of the batches (phones retrying after lost answers): nothing stored twice;
5. the time to compute time inside, distance and visits per (person, grid) for the day
   (``server.staff.compliance.dwell_for``: one query per 100 people, each track one bytea of
   binary records, then geo/track.py per person), and the table's size per fix.

Stages 1-3 run in ``--streams`` processes at once (default 2), each over its own people
on its own connection: as a server with two workers (gunicorn -w 2, as every other write
bench here) takes the uploads of different people at the same moment. The COPY runs in as
many streams, which makes the baseline faster too (11-12 s against 14-25 s in one stream on
this 2-core machine). ``--streams 1`` measures one upload after another, as this bench did
until the third session of 2026-12-03.

Run: ``.venv/bin/python bench/tracks_bench.py`` (about 5 minutes on 2 cores; ``--staff 100``
for a quick run).
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.synchronize
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from _support import BENCH_PASSWORD, fresh_database, load_demo, machine_line, postgis_url
from sqlalchemy.orm import Session

DAY_START = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 08:30 in Beijing
FIXES_PER_DAY = 8 * 360  # 8 hours, one fix every 10 s
BATCH = 360  # one hour per upload


def prepare_database(url: str) -> bool:
    """A fresh database at head (``track_fixes`` partitioned by month) with the demo district."""
    if not fresh_database(url):
        return False
    load_demo(url, password=BENCH_PASSWORD)
    return True


def create_staff(session: Session, n: int, rng: random.Random) -> dict[uuid.UUID, list]:
    """n department staff (rows written directly: hashing 1,000 passwords proves nothing),
    each with a patrolling posting to two basic grids. Returns person -> [grid, grid]."""
    from server.grids.models import Grid
    from server.grids.rules import GridKind
    from server.org.models import Unit, User, UserRole
    from server.org.rules import Role, UnitKind
    from server.staff.models import Posting, PostingGrid
    from server.staff.rules import PostingMode, VisitPeriod

    now = datetime.now(UTC)
    departments = list(session.scalars(sa.select(Unit).where(Unit.kind == UnitKind.DEPARTMENT)))
    grids = list(session.scalars(sa.select(Grid).where(Grid.kind == GridKind.BASIC)))
    creator = session.scalar(sa.select(User.id).where(User.username == "admin"))
    posted: dict[uuid.UUID, list] = {}
    for i in range(n):
        user = User(
            id=uuid.uuid4(),
            username=f"bench.staff{i:05d}",
            display_name=f"Staff {i}",
            password_hash="!",
            unit_id=departments[i % len(departments)].id,
            is_active=True,
            created_at=now,
        )
        user.role_rows = [UserRole(role=Role.DEPARTMENT_STAFF)]
        pair = rng.sample(grids, 2)
        session.add(user)
        session.add(
            Posting(
                id=uuid.uuid4(),
                staff_user_id=user.id,
                department_id=user.unit_id,
                mode=PostingMode.PATROLLING,
                visits_required=2,
                visit_period=VisitPeriod.WEEK,
                valid_from=DAY_START.date(),
                created_at=now,
                created_by_user_id=creator,
                updated_at=now,
                grid_rows=[PostingGrid(grid_id=g.id) for g in pair],
            )
        )
        posted[user.id] = pair
    session.commit()
    return posted


def synthetic_day(grids: list, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A walk at ~1.3 m/s between random points of the two grids, with 3 m GPS noise."""
    waypoints = []
    for _ in range(40):
        g = grids[len(waypoints) % 2 if rng.random() < 0.7 else rng.integers(2)]
        minx, miny, maxx, maxy = g.boundary.bounds
        waypoints.append((rng.uniform(minx, maxx), rng.uniform(miny, maxy)))
    step_deg = 13.0 / 111_000.0  # 10 s at 1.3 m/s
    lons, lats = [], []
    x, y = waypoints[0]
    target = 1
    while len(lons) < FIXES_PER_DAY:
        tx, ty = waypoints[target % len(waypoints)]
        dx, dy = tx - x, (ty - y)
        dist = (dx * dx * 0.59 + dy * dy) ** 0.5  # cos(40°)^2 ~ 0.59
        if dist < step_deg:
            target += 1
            continue
        x, y = x + dx / dist * step_deg, y + dy / dist * step_deg
        lons.append(x)
        lats.append(y)
    noise = rng.normal(0.0, 3.0 / 111_000.0, size=(2, FIXES_PER_DAY))
    return np.asarray(lons) + noise[0] / 0.77, np.asarray(lats) + noise[1]


def make_rows(posted: dict[uuid.UUID, list], seed: int) -> dict[uuid.UUID, list[tuple]]:
    rng = np.random.default_rng(seed)
    received = DAY_START + timedelta(hours=9)
    times = [DAY_START + timedelta(seconds=10 * i) for i in range(FIXES_PER_DAY)]
    rows = {}
    for user_id, grids in posted.items():
        lons, lats = synthetic_day(grids, rng)
        acc = rng.uniform(4.0, 25.0, FIXES_PER_DAY).round(1)
        # About one fix in a thousand is a GPS jump of ~2 km (multipath near tall buildings).
        jumps = rng.random(FIXES_PER_DAY) < 0.001
        jumps[0] = False
        lats = np.where(jumps, lats + 0.02, lats)
        rows[user_id] = [
            (user_id, times[i], float(lons[i]), float(lats[i]), float(acc[i]), 1.3, received)
            for i in range(FIXES_PER_DAY)
        ]
    return rows


def copy_rows(engine: sa.Engine, rows: dict[uuid.UUID, list[tuple]], _batches: list) -> float:
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY track_fixes (user_id, fixed_at, lon, lat, accuracy_m, speed_mps, "
                "received_at) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            # Binary with the types set: three times faster than a text COPY from Python.
            copy.set_types(
                ["uuid", "timestamptz", "float8", "float8", "float8", "float8", "timestamptz"]
            )
            for person in rows.values():
                for row in person:
                    copy.write_row(row)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def insert_per_batch(engine: sa.Engine, rows: dict[uuid.UUID, list[tuple]],
                     batches: list[tuple]) -> float:
    """The floor of one transaction per upload: each batch's rows as the ingestion service
    sends them (the same ``INSERT … unnest`` of binary arrays) and a commit, nothing else:
    no lock, no anchor read, no filter. What any design with a transaction per phone upload
    pays; the ingestion service's checks are the rest."""
    from server.core import pg_arrays
    from server.staff.track_ingest import _UNNEST_INSERT

    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        started = time.perf_counter()
        with driver.cursor() as cursor:
            pg_arrays.register(cursor.adapters)
            for user_id, start in batches:
                batch = rows[user_id][start : start + BATCH]
                received = batch[0][6]
                columns = [
                    pg_arrays.timestamptz_array([r[1] for r in batch]),
                    *(pg_arrays.float8_array([r[k] for r in batch]) for k in (2, 3, 4, 5)),
                ]
                cursor.execute(_UNNEST_INSERT, (user_id, received, *columns))
                driver.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def ingest(
    engine: sa.Engine, rows: dict[uuid.UUID, list[tuple]], batches: list[tuple], limits
) -> tuple[float, int, int]:  # noqa: ANN001
    from geo.track import Fix
    from server.staff.track_ingest import ingest_fixes

    stored = dropped = 0
    started = time.perf_counter()
    with Session(engine) as session:
        for user_id, start in batches:
            batch = [
                Fix(at, lon, lat, acc, speed)
                for _, at, lon, lat, acc, speed, _ in rows[user_id][start : start + BATCH]
            ]
            result = ingest_fixes(
                session, user_id, batch, limits=limits, now=DAY_START + timedelta(hours=9)
            )
            session.commit()  # one transaction per upload, as one request each
            stored += result.stored
            dropped += len(result.dropped)
    return time.perf_counter() - started, stored, dropped


_STREAM_WORK: tuple = ()  # what the forked streams read (set just before the fork)


def _stream(i: int, n: int, start: multiprocessing.synchronize.Barrier,
            results: multiprocessing.Queue) -> None:
    """One stream: its share of the people (every n-th), on its own connection."""
    url, work, rows, batches, extra = _STREAM_WORK
    engine = sa.create_engine(url)
    people = set(list(rows)[i::n])
    mine = {u: r for u, r in rows.items() if u in people}
    my_batches = [b for b in batches if b[0] in people]
    with engine.connect() as conn:  # the connection made before the clock starts
        conn.exec_driver_sql("SELECT 1")
    start.wait()
    results.put(work(engine, mine, my_batches, *extra))
    engine.dispose()


def in_streams(n: int, url: str, work, rows: dict, batches: list, *extra) -> tuple:  # noqa: ANN001
    """``work(engine, rows, batches, *extra)`` in ``n`` forked processes at once, each over
    its own people (as phones of different people upload at the same time, each request on
    its own connection), and the wall time from their common start to the last one's end.
    Returns (seconds, [each stream's result]). With n = 1, the work runs in this process."""
    if n == 1:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        started = time.perf_counter()
        result = work(engine, rows, batches, *extra)
        elapsed = time.perf_counter() - started
        engine.dispose()
        return elapsed, [result]
    global _STREAM_WORK  # noqa: PLW0603 - handed to the forked children, not shared back
    _STREAM_WORK = (url, work, rows, batches, extra)
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(n + 1), context.Queue()
    streams = [context.Process(target=_stream, args=(i, n, start, results)) for i in range(n)]
    for stream in streams:
        stream.start()
    start.wait()
    started = time.perf_counter()
    outcomes = [results.get() for _ in streams]
    elapsed = time.perf_counter() - started
    for stream in streams:
        stream.join()
    _STREAM_WORK = ()
    return elapsed, outcomes


def empty_table(engine: sa.Engine) -> None:
    """Empty ``track_fixes`` and write out what the stage before left dirty, so that each
    stage starts alike and none pays for the last one's checkpoint."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("TRUNCATE track_fixes")
        conn.exec_driver_sql("CHECKPOINT")


def count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM track_fixes").scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--streams", type=int, default=2,
                        help="COPY, the floor and ingestion each in this many processes at "
                             "once over disjoint people (2: as gunicorn -w 2 takes uploads)")
    args = parser.parse_args()
    print(machine_line())
    url = postgis_url("gridops_bench_tracks")
    if not prepare_database(url):
        sys.exit(1)
    from server.staff.compliance import dwell_for
    from server.staff.rules import FieldLimits

    engine = sa.create_engine(url)
    rng = random.Random(args.seed)
    with Session(engine) as session:
        posted = create_staff(session, args.staff, rng)
        geometries = {g.id: g.boundary for gs in posted.values() for g in gs}
    grids_by_user = {u: [g.id for g in gs] for u, gs in posted.items()}
    t0 = time.perf_counter()
    rows = make_rows(posted, args.seed)
    total = sum(len(r) for r in rows.values())
    print(f"{args.staff} staff, {total:,} fixes generated in {time.perf_counter() - t0:.1f} s")

    limits = FieldLimits()
    batches = [(u, s) for u in rows for s in range(0, FIXES_PER_DAY, BATCH)]
    rng.shuffle(batches)  # late and out of order, interleaved across people
    print(f"COPY, floor and ingestion each in {args.streams} process(es) at once, over "
          "disjoint people")
    empty_table(engine)
    copy_s, _ = in_streams(args.streams, url, copy_rows, rows, batches)
    assert count(engine) == total
    with engine.connect() as conn:
        size = conn.exec_driver_sql(  # a partitioned table's size is its partitions'
            "SELECT pg_total_relation_size('track_fixes') + coalesce(sum("
            "pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
            "WHERE inhparent = 'track_fixes'::regclass").scalar_one()
    print(
        f"raw COPY:            {copy_s:7.1f} s  {total / copy_s:10,.0f} fixes/s   "
        f"table + index {size / 2**20:,.0f} MiB ({size / total:.0f} bytes/fix)"
    )
    empty_table(engine)
    floor_s, _ = in_streams(args.streams, url, insert_per_batch, rows, batches)
    assert count(engine) == total
    print(
        f"one INSERT a batch:  {floor_s:7.1f} s  {total / floor_s:10,.0f} fixes/s   "
        f"ratio to COPY {copy_s / floor_s:.2f} (the floor: a transaction per upload, "
        "no checks)"
    )
    empty_table(engine)
    ingest_s, outcomes = in_streams(args.streams, url, ingest, rows, batches, limits)
    stored, dropped = sum(o[1] for o in outcomes), sum(o[2] for o in outcomes)
    assert count(engine) == stored
    print(
        f"ingestion service:   {ingest_s:7.1f} s  {total / ingest_s:10,.0f} fixes/s   "
        f"ratio to COPY {copy_s / ingest_s:.2f} (target >= 0.5)  "
        f"({len(batches):,} batches of {BATCH}; "
        f"{stored:,} stored, {dropped:,} dropped as impossible)"
    )
    print(f"                     ratio to one INSERT a batch {floor_s / ingest_s:.2f} "
          "(what the lock, the anchor read and the filter cost)")
    replay = rng.sample(batches, max(1, len(batches) // 10))
    replay_s, again, _ = ingest(engine, rows, replay, limits)
    print(
        f"replayed 10 %:       {replay_s:7.1f} s  {len(replay) * BATCH / replay_s:10,.0f} fixes/s"
        f"   stored again: {again}"
    )

    with engine.connect() as conn:  # as autovacuum would after a day's inserts
        conn.exec_driver_sql("ANALYZE track_fixes")
        conn.commit()
    day_start, day_end = DAY_START - timedelta(hours=1), DAY_START + timedelta(hours=9)
    with Session(engine) as session:
        started = time.perf_counter()
        dwell = dwell_for(
            session, grids_by_user, day_start, day_end, limits=limits, geometries=geometries
        )
        dwell_s = time.perf_counter() - started
    visits = sum(len(d.visits) for d in dwell.values())
    inside_h = sum(d.seconds_inside for d in dwell.values()) / 3600
    print(
        f"dwell per grid:      {dwell_s:7.1f} s  for {len(dwell):,} (person, grid) pairs over "
        f"{stored:,} fixes: {visits:,} visits, {inside_h:,.0f} person-hours inside"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
