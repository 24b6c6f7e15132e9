"""Cases at scale on PostGIS: list queries over 1,000,000 cases, and intake over HTTP.

Builds a fresh database (BENCH_DATABASE_URL, default: the local server, database
gridops_bench_cases) with the demo district, bulk-loads ``--cases`` cases over its two
townships' grids, and prints:

1. a township dispatcher's filtered list queries: ``server.cases.queries.list_cases`` called
   directly (not over HTTP), with a real Actor from ``server.auth.services.authenticate``
   made afresh for each run so its scope query is paid as once per request; the time is the
   call (the page's SQL and ORM loading), not the JSON rendering. p50/p95/max over ``--runs``
   runs each (target p95 <= 100 ms). The last three filters are narrow on purpose: fewer
   than 51 matches make PostgreSQL walk far back through history unless an index helps;
2. SQL statements per intake (counted with a ``before_cursor_execute`` listener);
3. case intake over HTTP under gunicorn (POST /api/v1/cases: assignment, auto-dispatch, two
   supervised deadlines, the nearby-duplicate check) against the 1M-case table, as a ratio to
   a bare Flask JSON endpoint (target >= 0.5) and to a bare Flask endpoint that INSERTs one
   row into PostgreSQL per request, all under the same gunicorn settings in the same run.

Run: ``.venv/bin/python bench/cases_bench.py`` (about 2 minutes; ``--cases 0`` skips the
bulk load; ``--skip-list``, ``--skip-http``; ``--workers 2``, ``--seconds 8``, ``--runs 30``;
``--show-statements`` prints one intake's SQL).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-pass-123"  # noqa: S105 - a throwaway database
DISPATCHER = "wj.dispatcher"  # the demo's township dispatcher of 望京示范街道
# Where intake points fall: the demo townships' grid lattices, kept 1 m inside the edges.
TOWNSHIP_BOXES = ((116.40001, 39.98001, 116.45999, 40.01999),
                  (116.46001, 39.98001, 116.49999, 40.01199))
INTAKE_CATEGORIES = ("01.01", "01.02", "01.04", "02.02", "04.01", "04.02", "06.03", "07.01")


def postgis_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/gridops_bench_cases")


def prepare_database(url: str) -> bool:
    """A fresh database with the schema and the demo district; False if PostGIS is absent."""
    db_name = sa.engine.make_url(url).database
    try:
        admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {db_name}")
        admin.dispose()
    except Exception as exc:  # noqa: BLE001
        print(f"PostGIS not reachable: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        return False
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-c", "from server.cli import main; main()", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    from server.auth.passwords import Passwords
    from server.demo import load_demo_district

    engine = sa.create_engine(url)
    with Session(engine) as session:
        load_demo_district(session, Passwords(time_cost=1, memory_kib=64), password=PASSWORD,
                           now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    return True


def sign_in(url: str, username: str = DISPATCHER) -> str:
    from server.auth.passwords import Passwords
    from server.auth.services import login

    engine = sa.create_engine(url)
    with Session(engine) as session:
        issued = login(session, Passwords(time_cost=1, memory_kib=64), username, PASSWORD,
                       now=datetime.now(UTC), lifetime=timedelta(hours=2))
        session.commit()
    engine.dispose()
    return issued.token


# --- 1,000,000 cases -------------------------------------------------------------------------

# One statement builds every case: a point inside a random basic grid of the demo (the grids
# are a lattice of boxes), received over the last 365 days in insert order (as a live table
# is), a catalogue leaf item, and a status that depends on the age: cases still within their
# completion limit are mostly open, older ones closed except ~5% stuck overdue, 1% awaiting
# callback and a few awaiting a decision. Queues a dispatcher works through stay short: a few
# dozen cases in triage, a few hundred return requests. Leads follow the item: the township
# (属地) or the department it names.
_LOAD_CASES = """
WITH g AS (
    SELECT row_number() OVER (ORDER BY code) - 1 AS k, id, code, township_id, min_lon, min_lat,
           max_lon, max_lat
    FROM grids WHERE kind = 'basic' AND retired_at IS NULL
), raw AS MATERIALIZED (
    SELECT i, floor(random() * :n_grids)::int AS k_grid, random() AS r_x, random() AS r_y,
           floor(random() * :n_categories)::int AS k_category, random() AS r_status,
           random() AS r_who, random() AS r_misc
    FROM generate_series(1, :n) AS i
), placed AS (
    SELECT raw.*, g.id AS grid_id, g.code AS grid_code, g.township_id,
           g.min_lon + r_x * (g.max_lon - g.min_lon) AS lon,
           g.min_lat + r_y * (g.max_lat - g.min_lat) AS lat,
           CAST(:now AS timestamptz) - (:n - i + r_misc) * (interval '365 days' / :n)
             AS received_at,
           c.code AS category_code, c.department_id, c.completion_h, c.returnable
    FROM raw
    JOIN g ON g.k = k_grid
    JOIN bench_categories c ON c.k = k_category
), aged AS (
    SELECT placed.*, received_at + completion_h * interval '1 hour' AS completion_due_at,
           CASE
             WHEN received_at + completion_h * interval '1 hour' > CAST(:now AS timestamptz) THEN
               CASE WHEN r_status < 0.003 THEN 'received' WHEN r_status < 0.300 THEN 'dispatched'
                    WHEN r_status < 0.500 THEN 'accepted' WHEN r_status < 0.720 THEN 'in_progress'
                    WHEN r_status < 0.727 THEN 'return_requested'
                    WHEN r_status < 0.732 THEN 'escalated' WHEN r_status < 0.880 THEN 'completed'
                    ELSE 'closed' END
             ELSE
               CASE WHEN r_status < 0.0200 THEN 'dispatched' WHEN r_status < 0.0350 THEN 'accepted'
                    WHEN r_status < 0.0500 THEN 'in_progress'
                    WHEN r_status < 0.0600 THEN 'completed'
                    WHEN r_status < 0.0601 THEN 'return_requested'
                    WHEN r_status < 0.0602 THEN 'escalated'
                    WHEN r_status < 0.0605 THEN 'handed_down'
                    ELSE 'closed' END
           END AS status
    FROM placed
)
INSERT INTO cases (
    id, number, channel, appeal_type, category_code, title, description, urgency, status,
    lon, lat, location, input_crs, input_lon, input_lat, address, basic_grid_id, basic_grid_code,
    assignment_method, assignment_distance_m, township_id, district_id, resident_name,
    resident_phone, confidential, attachments, lead_unit_id, returnable, needs_triage,
    triage_reason, received_at, received_by_user_id, received_by_unit_id, dispatched_at,
    dispatched_by_unit_id, response_due_at, completion_due_at, responded_at, completed_at,
    closed_at, result, resolved, satisfaction, rehandle_count, event_count, version, updated_at)
SELECT
    gen_random_uuid(),
    to_char(received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY') || '-'
      || lpad((:first + i)::text, 7, '0'),
    (ARRAY['city_direct', 'district_forward', 'internet', 'patrol', 'department'])
      [1 + floor(r_who * 5)],
    (ARRAY['complaint', 'report', 'help', 'consultation', 'suggestion'])[1 + floor(r_misc * 5)],
    category_code, 'bench case ' || i, 'generated by bench/cases_bench.py', 'normal', status,
    lon, lat, ST_SetSRID(ST_MakePoint(lon, lat), 4326), 'wgs84', lon, lat, NULL, grid_id, grid_code,
    'inside', 0, township_id, :district_id, '张三', '13812341234', false, '[]',
    CASE WHEN status = 'received' THEN NULL ELSE coalesce(department_id, township_id) END,
    returnable, status = 'received', CASE WHEN status = 'received' THEN 'no_dispatch_rule' END,
    received_at,
    CASE WHEN r_who < 0.4 THEN :district_user
         WHEN township_id = :wj_id AND r_who < 0.5 THEN :wj_user
         WHEN township_id <> :wj_id AND r_who < 0.5 THEN :sy_user END,
    NULL,
    CASE WHEN status <> 'received' THEN received_at + interval '10 minutes' END,
    CASE WHEN status <> 'received' THEN township_id END,
    CASE WHEN status <> 'received' THEN received_at + interval '24 hours' END,
    CASE WHEN status <> 'received' THEN completion_due_at END,
    CASE WHEN status NOT IN ('received', 'dispatched') THEN received_at + interval '3 hours' END,
    CASE WHEN status IN ('completed', 'closed') THEN received_at + interval '2 days' END,
    CASE WHEN status = 'closed' THEN received_at + interval '3 days' END,
    CASE WHEN status IN ('completed', 'closed') THEN 'handled' END,
    CASE WHEN status = 'closed' THEN r_misc < 0.9 END,
    CASE WHEN status = 'closed' THEN (ARRAY['satisfied', 'basically_satisfied', 'dissatisfied'])
      [1 + floor(r_misc * 3)] END,
    0, 2, 1, received_at
FROM aged
"""


def load_cases(url: str, n: int) -> None:
    """Bulk-load ``n`` cases in one INSERT ... SELECT, link special grids, ANALYZE."""
    from server.catalogue.demo_items import ITEMS
    from server.org.models import Unit, User

    engine = sa.create_engine(url)
    start = time.perf_counter()
    with Session(engine) as session:
        units = {u.code: u for u in session.scalars(sa.select(Unit))}
        departments = {u.department_kind: u.id for u in units.values() if u.department_kind}
        users = {u.username: u.id for u in session.scalars(sa.select(User))}
        # Numbers above any the demo's sample intakes took, in every year.
        first = session.scalar(sa.text("SELECT coalesce(max(value), 0) FROM case_number_counters"))
        n_grids = session.scalar(sa.text("SELECT count(*) FROM grids WHERE kind = 'basic' "
                                         "AND retired_at IS NULL"))
        session.execute(sa.text(
            "CREATE TEMP TABLE bench_categories (k int, code text, department_id uuid, "
            "completion_h float8, returnable boolean)"))
        leaves = [item for item in ITEMS if item[2] is not None and item[6]]
        for k, (code, _name, lead, _coop, limits, returnable, _active) in enumerate(leaves):
            kind, _, value = lead.partition(":")
            department = (departments.get(value) if kind == "department"
                          else units[value].id if kind == "unit" else None)
            session.execute(sa.text("INSERT INTO bench_categories VALUES (:k, :c, :d, :h, :r)"),
                            {"k": k, "c": code, "d": department, "h": limits[1], "r": returnable})
        session.execute(sa.text("SELECT setseed(0.42)"))
        # A bulk load's usual shortcuts: build the secondary indexes once afterwards, and skip
        # the per-row foreign-key triggers (every reference comes from the tables just read).
        indexes = session.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases' AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint)")).all()
        for name, _ in indexes:
            session.execute(sa.text(f'DROP INDEX "{name}"'))
        session.execute(sa.text("SET LOCAL session_replication_role = replica"))
        session.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        session.execute(sa.text(_LOAD_CASES), {
            "n": n, "first": first, "n_grids": n_grids, "n_categories": len(leaves),
            "now": datetime.now(UTC),
            "district_id": units["110199"].id,
            "wj_id": units["110199001"].id, "district_user": users["district.dispatcher"],
            "wj_user": users["wj.dispatcher"], "sy_user": users["sy.dispatcher"]})
        for _, definition in indexes:
            session.execute(sa.text(definition))
        # Special grids are boxes too: a box test is the exact containment test.
        session.execute(sa.text(
            "INSERT INTO case_special_grids (case_id, grid_id, grid_code) "
            "SELECT c.id, g.id, g.code FROM grids g JOIN cases c "
            "ON c.lon BETWEEN g.min_lon AND g.max_lon AND c.lat BETWEEN g.min_lat AND g.max_lat "
            "WHERE g.kind = 'special' ON CONFLICT DO NOTHING"))
        # Intake numbers go on after the loaded ones.
        session.execute(sa.text(
            "INSERT INTO case_number_counters (year, value) "
            "SELECT CAST(split_part(number, '-', 1) AS int), "
            "max(CAST(split_part(number, '-', 2) AS int)) FROM cases GROUP BY 1 "
            "ON CONFLICT (year) DO UPDATE "
            "SET value = greatest(case_number_counters.value, excluded.value)"))
        session.commit()
    loaded_s = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        summary = conn.exec_driver_sql(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'closed'), "
            "count(*) FILTER (WHERE status IN ('dispatched', 'accepted', 'in_progress') "
            "AND completion_due_at < now()), (SELECT count(*) FROM case_special_grids) "
            "FROM cases").one()
    engine.dispose()
    total, open_, overdue, special = summary
    vacuum_s = time.perf_counter() - start - loaded_s
    print(f"loaded {total:,} cases in {loaded_s:.0f} s (+ VACUUM ANALYZE {vacuum_s:.0f} s): "
          f"{open_:,} open ({open_ / total:.1%}), {overdue:,} overdue ({overdue / total:.1%}), "
          f"{special:,} special-grid links")


def bench_list(url: str, runs: int, username: str = DISPATCHER) -> None:
    """Each run: a fresh Actor (so the scope query is paid, as once per request) and one page."""
    from server.cases.queries import CaseFilters
    from server.cases.rules import OPEN_STATUSES, CaseStatus

    token = sign_in(url, username)
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    month_start = (now - timedelta(days=120)).replace(day=1, hour=0, minute=0, second=0,
                                                      microsecond=0)
    open_ = tuple(sorted(OPEN_STATUSES))
    filters = {
        "open, newest first": CaseFilters(status=open_),
        "overdue": CaseFilters(overdue=True),
        "basic grid WJ-007": CaseFilters(grid_code="WJ-007"),
        "special grid WJ-S02": CaseFilters(grid_code="WJ-S02"),
        "category prefix 04": CaseFilters(category_prefix="04"),
        "bbox ~500 m": CaseFilters(bbox=(116.420, 39.990, 116.426, 39.9945)),
        "one month, 4 months ago": CaseFilters(received_from=month_start,
                                               received_to=month_start + timedelta(days=30)),
        "return requests": CaseFilters(status=(CaseStatus.RETURN_REQUESTED,)),
        "awaiting callback": CaseFilters(status=(CaseStatus.COMPLETED,)),
        "triage queue": CaseFilters(needs_triage=True),
        "open, category 01, grid WJ-012": CaseFilters(status=open_, category_prefix="01",
                                                      grid_code="WJ-012"),
        "open, category 08.01, grid WJ-012": CaseFilters(status=open_, category_prefix="08.01",
                                                         grid_code="WJ-012"),
        "overdue, category 03, grid WJ-003": CaseFilters(overdue=True, category_prefix="03",
                                                         grid_code="WJ-003"),
    }
    print(f"{username}: list_cases() called directly, limit 50, {runs} runs each (ms)")
    print(f"  {'filter':34} {'rows':>4} {'p50':>7} {'p95':>7} {'max':>7}")
    with Session(engine) as session:
        for label, f in filters.items():
            _time_list(session, token, label, f, runs, now)
        first = _page(session, token, filters["open, newest first"], now, None)[1]
        _time_list(session, token, "open, second page (cursor)", filters["open, newest first"],
                   runs, now, cursor=first.next_cursor)
    engine.dispose()


def _page(session: Session, token: str, f, now: datetime, cursor: str | None):  # noqa: ANN001, ANN202
    from server.auth.services import authenticate
    from server.cases.queries import list_cases

    actor = authenticate(session, token, now=now)
    start = time.perf_counter()
    page = list_cases(session, actor, f, now=now, limit=50, cursor=cursor)
    elapsed = time.perf_counter() - start
    session.rollback()  # end the read transaction
    session.expunge_all()  # and start cold: the next run loads every row again
    return elapsed, page


def _time_list(session: Session, token: str, label: str, f, runs: int, now: datetime,  # noqa: ANN001
               cursor: str | None = None) -> None:
    _page(session, token, f, now, cursor)  # warm the plan cache and buffers alike for all
    times, rows = [], 0
    for _ in range(runs):
        elapsed, page = _page(session, token, f, now, cursor)
        times.append(elapsed * 1000)
        rows = len(page.cases)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    flag = "" if p95 <= 100 else "  MISSES 100 ms"
    p50 = statistics.median(times)
    print(f"  {label:34} {rows:4d} {p50:7.1f} {p95:7.1f} {times[-1]:7.1f}{flag}")


# --- intake ----------------------------------------------------------------------------------

def intake_body(rng: random.Random) -> dict:
    west, south, east, north = rng.choice(TOWNSHIP_BOXES)
    return {
        "client_request_id": uuid.uuid4().hex,
        "channel": "city_direct", "appeal_type": "complaint",
        "category_code": rng.choice(INTAKE_CATEGORIES),
        "title": "门口占道摆摊", "description": "小区门口每天晚上有人占道经营，影响通行。",
        "lon": round(rng.uniform(west, east), 6), "lat": round(rng.uniform(south, north), 6),
        "address": "示范区望京某小区南门", "resident_name": "张三", "resident_phone": "13812341234",
    }


def count_statements(url: str, n: int, show: bool) -> float:
    """Average SQL statements per intake, through the real app in this process."""
    from config import Config
    from server.app import create_app
    from server.extensions import db

    app = create_app(type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url}))
    token = sign_in(url)
    seen: list[str] = []
    rng = random.Random(5)
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        seen.append(statement)

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # warm: grid index, token cache
        client.post("/api/v1/cases", json=intake_body(rng), headers=headers)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for i in range(n):
            before = len(seen)
            response = client.post("/api/v1/cases", json=intake_body(rng), headers=headers)
            assert response.status_code == 201, response.get_json()
            assert response.get_json()["status"] == "dispatched", response.get_json()
            if show and i == 0:
                for statement in seen[before:]:
                    print("   ", " ".join(statement.split())[:160])
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    with app.app_context():
        db.engine.dispose()
    return len(seen) / n


BARE_APP = textwrap.dedent("""
    import json
    import os
    import uuid

    import psycopg
    from flask import Flask, request

    app = Flask(__name__)
    _conn = None

    def conn():
        global _conn  # one connection per gunicorn worker, opened after the fork
        if _conn is None:
            _conn = psycopg.connect(os.environ["BARE_PG_DSN"])
        return _conn

    @app.get("/health")
    def health():
        return {}

    @app.post("/bare")
    def bare():
        body = request.get_json()
        return {"id": str(uuid.uuid4()), "client_request_id": body["client_request_id"],
                "status": "received"}, 201

    @app.post("/insert")
    def insert():
        body = request.get_json()
        case_id = uuid.uuid4()
        with conn().transaction():
            conn().execute(
                "INSERT INTO bench_rows (id, client_request_id, body) VALUES (%s, %s, %s)",
                (case_id, body["client_request_id"], json.dumps(body)))
        return {"id": str(case_id), "client_request_id": body["client_request_id"],
                "status": "received"}, 201
""")


def _serve(app_spec: str, port: int, workers: int, env: dict, cwd: Path,
           log: Path) -> subprocess.Popen:
    with log.open("wb") as stderr:  # a file, not a pipe nobody reads: a chatty server never blocks
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", app_spec],
            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)  # noqa: S310
            return proc
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    proc.terminate()
    proc.wait()
    raise RuntimeError(f"{app_spec} did not start: {log.read_text()[-2000:]}")


def _load(url: str, headers: dict, seconds: float, threads: int) -> float:
    """Requests/s of ``threads`` clients posting distinct intakes for ``seconds``."""
    deadline = time.perf_counter() + seconds

    def worker(seed: int) -> int:
        rng = random.Random(seed)
        done = 0
        while time.perf_counter() < deadline:
            data = json.dumps(intake_body(rng)).encode()
            request = urllib.request.Request(  # noqa: S310
                url, data=data, method="POST",
                headers={"Content-Type": "application/json", **headers})
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
                assert response.status == 201, response.status
            done += 1
        return done

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(worker, range(threads)))
    return total / (time.perf_counter() - start)


def _run_server(app_spec: str, port: int, workers: int, env: dict, cwd: Path, path: str,
                headers: dict, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp, "gunicorn.log")
        server = _serve(app_spec, port, workers, env, cwd, log)
        try:
            return _load(f"http://127.0.0.1:{port}{path}", headers, seconds, threads=8)
        except Exception:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait()


def bench_http(url: str, workers: int, seconds: float) -> None:
    """Three servers, one after another: same gunicorn, workers and client; only the app differs."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_rows")
        conn.exec_driver_sql("CREATE TABLE bench_rows (id uuid PRIMARY KEY, client_request_id "
                             "text UNIQUE, body jsonb, created_at timestamptz DEFAULT now())")
        before = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar()
    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bare_app.py").write_text(BARE_APP)
        bare_env = {**env, "PYTHONPATH": tmp, "BARE_PG_DSN": dsn}
        bare = _run_server("bare_app:app", 18091, workers, bare_env, Path(tmp), "/bare", {},
                           seconds)
        insert = _run_server("bare_app:app", 18092, workers, bare_env, Path(tmp), "/insert", {},
                             seconds)
    token = sign_in(url)
    ours = _run_server("server.app:create_app()", 18093, workers, env, ROOT, "/api/v1/cases",
                       {"Authorization": f"Bearer {token}"}, seconds)
    with engine.begin() as conn:
        added = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar() - before
        undispatched = conn.exec_driver_sql(
            "SELECT count(*) FROM cases WHERE title = '门口占道摆摊' "
            "AND status <> 'dispatched'").scalar()
        deadlines = conn.exec_driver_sql("SELECT count(*) FROM deadlines").scalar()
    engine.dispose()
    print(f"gunicorn -w {workers}, 8 client threads, {seconds:.0f} s each, 127.0.0.1:")
    print(f"  bare Flask JSON (no database)       : {bare:8,.0f} req/s")
    print(f"  bare Flask + one INSERT (psycopg)   : {insert:8,.0f} req/s")
    print(f"  POST /api/v1/cases (intake)         : {ours:8,.0f} req/s  "
          f"({added:,} cases, {undispatched} not dispatched, {deadlines:,} deadlines)")
    print(f"  ratio to bare JSON                  : {ours / bare:8.2f}   (target >= 0.5)")
    print(f"  ratio to bare INSERT                : {ours / insert:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--show-statements", action="store_true")
    args = parser.parse_args()

    url = postgis_url()
    start = time.perf_counter()
    if not prepare_database(url):
        return
    print(f"database {sa.engine.make_url(url).database}: schema + demo district "
          f"({time.perf_counter() - start:.1f} s)")
    if args.cases:
        load_cases(url, args.cases)
    if not args.skip_list:
        bench_list(url, args.runs)
    per_intake = count_statements(url, 20, args.show_statements)
    print(f"SQL statements per intake (POST /api/v1/cases, in-process): {per_intake:.1f}")
    if not args.skip_http:
        bench_http(url, args.workers, args.seconds)


if __name__ == "__main__":
    main()
