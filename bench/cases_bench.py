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
2. SQL statements per intake (counted with a ``before_cursor_execute`` listener), by kind;
3. case intake over HTTP under gunicorn (POST /api/v1/cases: assignment, auto-dispatch, two
   supervised deadlines with their reminders, the lead's notification, the change feed, the
   nearby-duplicate check) against the 1M-case table, as a ratio to a bare Flask endpoint
   that INSERTs one full ``cases`` row (every column, into the real table with all its
   indexes) per request through psycopg (target >= 0.5), and to a bare Flask JSON endpoint;
   and three floors: one real intake's own statements (captured in process in step 2, with
   their parameters) replayed through psycopg in one transaction, with fresh ids, no ORM and
   no rules; its writes alone (the case number and the INSERTs, every read left out); and
   those writes replayed inside this app's own stack (auth, the request parser and
   CaseCreateSchema, the transaction per request, the answer through IntakeResultSchema).
   The first says what share of intake's time is Python, the second the most any intake
   writing these rows in one transaction could reach, the third the most an intake on
   Flask, webargs, marshmallow and SQLAlchemy could. All under the same gunicorn settings
   in the same run.

Run: ``.venv/bin/python bench/cases_bench.py`` (about 4 minutes; ``--reuse`` keeps a
database already loaded with at least ``--cases`` cases, upgrading its schema, instead of
building it again; ``--cases 0`` skips the bulk load; ``--skip-list``, ``--skip-http``;
``--workers 2``, ``--seconds 8``, ``--runs 30``; ``--show-statements`` prints one intake's
SQL; ``--port-base`` moves the six servers' ports, default 18901-18906;
``--writes-without reminders,case_cooperators`` leaves those tables' INSERTs out of the two
writes floors, to see what an intake that stopped writing them could gain).

The intake comparison alone, on a small fresh database (the demo district, no bulk load;
about 1.5 minutes): ``--cases 0 --skip-list``, with ``BENCH_DATABASE_URL`` naming a database
of its own. Both sides of the ratio write into the same ``cases`` table, so its size moves
them together; the 1M table is what the list queries need.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pickle
import random
import statistics
import tempfile
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from _support import (
    BENCH_PASSWORD,
    ROOT,
    Load,
    closed_loop,
    fresh_database,
    gunicorn,
    load_demo,
    machine_line,
    postgis_url,
    psycopg_dsn,
    upgrade_schema,
)
from sqlalchemy.orm import Session

PASSWORD = BENCH_PASSWORD
DISPATCHER = "wj.dispatcher"  # the demo's township dispatcher of 望京示范街道
# Where intake points fall: the demo townships' grid lattices, kept 1 m inside the edges.
TOWNSHIP_BOXES = ((116.40001, 39.98001, 116.45999, 40.01999),
                  (116.46001, 39.98001, 116.49999, 40.01199))
INTAKE_CATEGORIES = ("01.01", "01.02", "01.04", "02.02", "04.01", "04.02", "06.03", "07.01")
PORT_BASE = 18901  # --port-base: the six servers take this port and the next five
PORT_OFFSETS = {"bare": 0, "insert": 1, "intake": 2, "floor": 3, "writes": 4, "stack": 5}
# Each server first takes WARM_S seconds of the same load, not measured: every worker has
# built its grid index, prepared its statements and filled its caches before the count.
WARM_S = 3.0


def prepare_database(url: str, *, reuse_with: int | None = None) -> bool:
    """A fresh database with the schema and the demo district; False if PostGIS is absent.

    ``reuse_with``: keep the database if it already holds that many cases (its schema is
    upgraded to head; intakes of earlier runs stay)."""
    if reuse_with is not None:
        try:
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                held = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar()
            engine.dispose()
        except sa.exc.SQLAlchemyError:
            held = -1
        if held >= reuse_with:
            upgrade_schema(url)
            print(f"reusing {sa.engine.make_url(url).database}: {held:,} cases")
            return True
    if not fresh_database(url):
        return False
    load_demo(url, password=PASSWORD)
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


def count_statements(url: str, n: int, show: bool) -> tuple[float, list[tuple], dict]:
    """Average SQL statements per intake, through the real app in this process; prints them
    by kind (the first words of each statement). Also returns the last intake's statements
    with their parameters, (statement, parameters), and its answer, for the floors."""
    from config import Config
    from server.app import create_app
    from server.extensions import db

    app = create_app(type("BenchConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": url}))
    token = sign_in(url)
    seen: list[str] = []
    rng = random.Random(5)
    with app.app_context():
        engine = db.engine

    last: list[tuple] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        seen.append(statement)
        last.append((statement, pickle.loads(pickle.dumps(parameters))))

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # warm: grid index, token cache
        client.post("/api/v1/cases", json=intake_body(rng), headers=headers)
    sa.event.listen(engine, "before_cursor_execute", count)
    start = time.perf_counter()
    try:
        for i in range(n):
            before = len(seen)
            last.clear()
            response = client.post("/api/v1/cases", json=intake_body(rng), headers=headers)
            assert response.status_code == 201, response.get_json()
            assert response.get_json()["status"] == "dispatched", response.get_json()
            answer = response.get_json()
            if show and i == 0:
                for statement in seen[before:]:
                    print("   ", " ".join(statement.split())[:160])
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    elapsed = time.perf_counter() - start
    with app.app_context():
        db.engine.dispose()
    kinds = collections.Counter(_statement_kind(s) for s in seen)
    print(f"SQL statements per intake (POST /api/v1/cases, in-process, {n} intakes, "
          f"{elapsed / n * 1000:.1f} ms each): {len(seen) / n:.1f}")
    for kind, k in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {k / n:5.2f}  {kind}")
    return len(seen) / n, last, answer


def _statement_kind(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper()
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb in ("UPDATE", "DELETE"):
        return f"{verb} {words[1] if verb == 'UPDATE' else words[2]}"
    upper = [w.upper() for w in words]
    table = words[upper.index("FROM") + 1] if "FROM" in upper else "-"
    return f"{verb} … FROM {table}"


# One real intake's statements, captured in process (count_statements), replayed with their
# parameters, no ORM, no rules. New rows get fresh ids (every id an INSERT gave, and each
# reference to it), and the two unique strings a request brings (its client_request_id, the
# case number) are this request's. The number starts with B: remove_bench_cases finds the
# replayed cases by it. Imported by both bench apps below from the run's temporary folder.
REPLAY_MODULE = textwrap.dedent(r"""
    import os
    import pickle
    import re
    import uuid

    NAME = re.compile(r"(__|_)\d+$")
    COUNTER = [0]


    def _rows(params):
        return params if isinstance(params, list) else [params]


    class Replay:
        def __init__(self, statements):
            self.statements = statements
            self.new_ids = {v for statement, params in statements
                            if statement.startswith("INSERT") for p in _rows(params)
                            for k, v in p.items()
                            if isinstance(v, uuid.UUID) and NAME.sub("", k) == "id"}

        @classmethod
        def from_env(cls, *, writes_only=False):
            # writes_only: the case number and the INSERTs, as if every read (the retry
            # check, catalogue, grid, units, nearby duplicates) were free, less the tables
            # of --writes-without (what an intake that stopped writing them would save).
            with open(os.environ["BARE_INTAKE_SQL"], "rb") as f:
                statements = pickle.load(f)
            if writes_only:
                without = tuple(f"INSERT INTO {table} " for table in
                                os.environ.get("BENCH_WRITES_WITHOUT", "").split(",") if table)
                statements = [r for r in statements
                              if (r[0].startswith("INSERT") or "nextval(" in r[0])
                              and not r[0].startswith(without)]
            return cls(statements)

        def run(self, cursor, client_request_id):
            COUNTER[0] += 1
            fresh = {old: uuid.uuid4() for old in self.new_ids}
            unique = {"client_request_id": client_request_id,
                      "number": f"B{os.getpid() % 100000:05d}-{COUNTER[0]:07d}"}

            def remap(p):
                return {k: unique.get(NAME.sub("", k), fresh.get(v, v))
                        if not isinstance(v, (list, dict)) else v for k, v in p.items()}

            for statement, params in self.statements:
                if isinstance(params, list):
                    cursor.executemany(statement, [remap(p) for p in params])
                else:
                    cursor.execute(statement, remap(params))
""")

BARE_APP = textwrap.dedent(r"""
    import json
    import os
    import uuid
    from datetime import datetime, timezone

    import psycopg
    from flask import Flask, request
    from replay import Replay

    app = Flask(__name__)
    _conn = None
    TEMPLATE = json.loads(os.environ["BARE_CASE_ROW"])  # {column: [pg type, value]}
    COLUMNS = list(TEMPLATE)
    INSERT = "INSERT INTO cases ({}) VALUES ({})".format(
        ", ".join(COLUMNS), ", ".join("%s::" + TEMPLATE[c][0] for c in COLUMNS))
    COUNTER = [0]

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
        # One INSERT of a whole cases row (every column, the real table and its indexes),
        # from the request's own fields where it has them, in its own transaction.
        body = request.get_json()
        case_id = uuid.uuid4()
        COUNTER[0] += 1
        row = {c: v for c, (_t, v) in TEMPLATE.items()}
        now = datetime.now(timezone.utc)
        row.update(id=case_id, number=f"B{os.getpid() % 100000:05d}-{COUNTER[0]:07d}",
                   client_request_id=body["client_request_id"], title=body["title"],
                   description=body["description"], category_code=body["category_code"],
                   lon=body["lon"], lat=body["lat"], input_lon=body["lon"],
                   input_lat=body["lat"], address=body["address"],
                   resident_name=body["resident_name"], resident_phone=body["resident_phone"],
                   received_at=now, dispatched_at=now, updated_at=now)
        row["location"] = "SRID=4326;POINT({} {})".format(body["lon"], body["lat"])
        for key in ("attachments",):
            row[key] = json.dumps(row[key])
        with conn().transaction():
            conn().execute(INSERT, [row[c] for c in COLUMNS])
        return {"id": str(case_id), "client_request_id": body["client_request_id"],
                "status": "dispatched"}, 201

    # The floors: one real intake's own statements in one transaction, and its writes alone.
    REPLAY = Replay.from_env()
    WRITES = Replay.from_env(writes_only=True)

    @app.post("/intake-sql")
    def intake_sql():
        return _replay(REPLAY)

    @app.post("/intake-writes")
    def intake_writes():
        return _replay(WRITES)

    def _replay(replay):
        body = request.get_json()
        with conn().transaction(), conn().cursor() as cursor:
            replay.run(cursor, body["client_request_id"])
        return {"client_request_id": body["client_request_id"], "status": "dispatched"}, 201
""")

# Our own stack with intake's writes and nothing else: the same app (create_app: auth, its
# request parser with CaseCreateSchema, the rate limiter's hooks, the one transaction per
# request, the answer dumped through IntakeResultSchema) under the same gunicorn as POST
# /api/v1/cases, but no reads and no rules: the route replays one real intake's writes on the
# request's own database connection and answers the case that intake answered. An intake on
# Flask, webargs, marshmallow and SQLAlchemy that writes these rows cannot be faster.
STACK_APP = textwrap.dedent(r"""
    import json
    import os

    import server.app
    from replay import Replay
    from server.api import context as ctx
    from server.api.blueprint import Blueprint
    from server.api.cases import schemas as s
    from server.cases.services import IntakeRequest

    blp = Blueprint("bench_stack", __name__, url_prefix="bench-stack")
    WRITES = Replay.from_env(writes_only=True)
    with open(os.environ["BENCH_INTAKE_ANSWER"], encoding="utf-8") as f:
        ANSWER = s.IntakeResultSchema().load(json.load(f))  # dumps back to the same JSON

    @blp.route("", methods=["POST"])
    @blp.arguments(s.CaseCreateSchema)
    @blp.response(201, s.IntakeResultSchema)
    def intake_stack(body):
        ctx.current_actor()
        request = IntakeRequest(**body)
        connection = ctx.session().connection().connection.driver_connection
        with connection.cursor() as cursor:
            WRITES.run(cursor, request.client_request_id)
        return ANSWER, 201

    _register = server.app.register_blueprints

    def _with_bench_route(api):
        _register(api)
        api.register_blueprint(blp, url_prefix="/api/v1/bench-stack")

    server.app.register_blueprints = _with_bench_route
    app = server.app.create_app()
""")


def case_row_template(url: str) -> str:
    """A real dispatched intake's row as {column: [type, value]} (JSON) for the bare INSERT."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        types = dict(conn.exec_driver_sql(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'cases'::regclass AND attnum > 0 AND NOT attisdropped").all())
        row = conn.exec_driver_sql(
            "SELECT row_to_json(c) FROM cases c WHERE title = '门口占道摆摊' "
            "AND status = 'dispatched' ORDER BY received_at DESC LIMIT 1").scalar_one()
    engine.dispose()
    types = {c: ("geometry" if t.startswith("geometry") else t) for c, t in types.items()}
    return json.dumps({c: [types[c], v] for c, v in row.items()})


def bench_http(url: str, workers: int, seconds: float, replay: list[tuple], answer: dict,
               port_base: int = PORT_BASE, writes_without: str = "") -> None:
    """Six servers, one after another: same gunicorn, workers and client; only the app
    differs. ``replay``: one intake's statements with their parameters, ``answer`` its
    answer (count_statements)."""
    ports = {name: port_base + offset for name, offset in PORT_OFFSETS.items()}
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        remove_bench_cases(conn)  # left by a run that was cut short
        before = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar()
        deadlines_before = conn.exec_driver_sql("SELECT count(*) FROM deadlines").scalar()
        reminders_before = conn.exec_driver_sql("SELECT count(*) FROM reminders").scalar()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           "BENCH_WRITES_WITHOUT": writes_without}
    rngs: dict[int, random.Random] = {}

    def body(thread: int, _n: int) -> dict:
        return intake_body(rngs.setdefault(thread, random.Random(1000 + thread)))

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "replay.py").write_text(REPLAY_MODULE)
        Path(tmp, "bare_app.py").write_text(BARE_APP)
        Path(tmp, "stack_app.py").write_text(STACK_APP)
        Path(tmp, "intake.sql.pickle").write_bytes(pickle.dumps(replay))
        Path(tmp, "intake.answer.json").write_text(json.dumps(answer), encoding="utf-8")
        bare_env = {**env, "PYTHONPATH": tmp, "BARE_PG_DSN": psycopg_dsn(url),
                    "BARE_CASE_ROW": case_row_template(url),
                    "BARE_INTAKE_SQL": str(Path(tmp, "intake.sql.pickle"))}

        def bare_server(port: str, path: str) -> Load:
            """One endpoint of the bare app on its own gunicorn: warmed, then measured."""
            with gunicorn("bare_app:app", ports[port], workers=workers, env=bare_env,
                          cwd=Path(tmp)) as base:
                closed_loop(base + path, body, seconds=WARM_S, expect=201)
                return closed_loop(base + path, body, seconds=seconds, expect=201)

        bare = bare_server("bare", "/bare")
        insert = bare_server("insert", "/insert")
        floor = bare_server("floor", "/intake-sql")
        writes = bare_server("writes", "/intake-writes")
        token = sign_in(url)
        auth = {"Authorization": f"Bearer {token}"}
        stack_env = {**env, "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
                     "BARE_INTAKE_SQL": bare_env["BARE_INTAKE_SQL"],
                     "BENCH_INTAKE_ANSWER": str(Path(tmp, "intake.answer.json"))}
        with gunicorn("stack_app:app", ports["stack"], workers=workers, env=stack_env,
                      cwd=Path(tmp)) as base:
            path = base + "/api/v1/bench-stack"
            closed_loop(path, body, seconds=WARM_S, expect=201, headers=auth)
            stack = closed_loop(path, body, seconds=seconds, expect=201, headers=auth)
    with gunicorn("server.app:create_app()", ports["intake"], workers=workers, env=env,
                  ) as base:
        closed_loop(base + "/api/v1/cases", body, seconds=WARM_S, expect=201, headers=auth)
        ours = closed_loop(base + "/api/v1/cases", body, seconds=seconds, expect=201,
                           headers=auth)
    with engine.begin() as conn:
        # The baselines' rows are not cases anyone handles: remove them and what the floor
        # wrote with them, then count what intake wrote.
        remove_bench_cases(conn)
        added = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar() - before
        undispatched = conn.exec_driver_sql(
            "SELECT count(*) FROM cases WHERE title = '门口占道摆摊' "
            "AND status <> 'dispatched'").scalar()
        deadlines = conn.exec_driver_sql("SELECT count(*) FROM deadlines").scalar()
        reminders = conn.exec_driver_sql("SELECT count(*) FROM reminders").scalar()
    engine.dispose()
    print(f"gunicorn -w {workers}, 8 client threads, {seconds:.0f} s each after {WARM_S:.0f} s "
          "of warm-up, 127.0.0.1:")
    print("  " + bare.line("bare Flask JSON (no database)"))
    print("  " + insert.line("bare Flask + one full cases-row INSERT"))
    print("  " + floor.line("bare Flask + intake's own SQL replayed"))
    print("  " + writes.line("bare Flask + intake's writes replayed"))
    print("  " + stack.line("our stack + intake's writes replayed"))
    if writes_without:
        print(f"    (both writes floors leave out the INSERTs into: {writes_without})")
    print("  " + ours.line("POST /api/v1/cases (intake)"))
    print(f"  intake wrote {added:,} cases ({undispatched} not dispatched), "
          f"{deadlines - deadlines_before:,} deadlines, {reminders - reminders_before:,} "
          f"reminders (with the warm-up)")
    print(f"  ratio to the full-row INSERT        : {ours.rate / insert.rate:8.2f}"
          f"   (target >= 0.5)")
    print(f"  ratio to bare JSON                  : {ours.rate / bare.rate:8.2f}")
    print(f"  ratio to its own SQL replayed       : {ours.rate / floor.rate:8.2f}"
          "   (the rest is Python: rules, ORM, request)")
    print(f"  its own SQL replayed / full-row INSERT: {floor.rate / insert.rate:6.2f}"
          "   (the most this design's statements allow)")
    print(f"  its writes alone / full-row INSERT  : {writes.rate / insert.rate:8.2f}"
          "   (the most these rows in one transaction allow, every read free)")
    print(f"  our stack + its writes / full-row INSERT: {stack.rate / insert.rate:4.2f}"
          "   (the most an intake on this app's stack writing these rows can reach)")
    print(f"  intake / our stack + its writes     : {ours.rate / stack.rate:8.2f}"
          "   (the rest is the reads and the rules)")


# What a baseline case can carry, in the order the foreign keys need them removed.
_BENCH_CASE_ROWS = (
    "DELETE FROM reminders WHERE deadline_id IN (SELECT id FROM deadlines WHERE subject_id IN "
    "(SELECT id FROM bench_cases))",
    "DELETE FROM deadlines WHERE subject_id IN (SELECT id FROM bench_cases)",
    "DELETE FROM notifications WHERE subject_id IN (SELECT id FROM bench_cases)",
    "DELETE FROM sync_changes WHERE row_id IN (SELECT id FROM bench_cases)",
    "DELETE FROM case_events WHERE case_id IN (SELECT id FROM bench_cases)",
    "DELETE FROM case_cooperators WHERE case_id IN (SELECT id FROM bench_cases)",
    "DELETE FROM case_special_grids WHERE case_id IN (SELECT id FROM bench_cases)",
    "DELETE FROM personal_data_access WHERE case_id IN (SELECT id FROM bench_cases)",
    "DELETE FROM cases WHERE id IN (SELECT id FROM bench_cases)",
)


def remove_bench_cases(conn: sa.Connection) -> None:
    """Remove the baselines' cases (numbers starting with B) and every row written with them."""
    conn.exec_driver_sql("CREATE TEMPORARY TABLE bench_cases ON COMMIT DROP AS "
                         "SELECT id FROM cases WHERE left(number, 1) = 'B'")
    for statement in _BENCH_CASE_ROWS:
        conn.exec_driver_sql(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--show-statements", action="store_true")
    parser.add_argument("--port-base", type=int, default=PORT_BASE)
    parser.add_argument("--writes-without", default="", metavar="TABLES",
                        help="comma-separated tables whose INSERTs the two writes floors "
                             "leave out, e.g. reminders")
    args = parser.parse_args()

    print(machine_line())
    url = postgis_url("gridops_bench_cases")
    start = time.perf_counter()
    if not prepare_database(url, reuse_with=args.cases if args.reuse else None):
        return
    print(f"database {sa.engine.make_url(url).database}: ready "
          f"({time.perf_counter() - start:.1f} s)")
    if args.cases and not args.reuse:
        load_cases(url, args.cases)
    if not args.skip_list:
        bench_list(url, args.runs)
    _, replay, answer = count_statements(url, 20, args.show_statements)
    # A misspelt table would leave nothing out and the floors would read as if it had.
    written = {_statement_kind(s).removeprefix("INSERT ") for s, _ in replay
               if s.startswith("INSERT")}
    unknown = set(filter(None, args.writes_without.split(","))) - written
    if unknown:
        parser.error(f"--writes-without: intake writes no rows into {', '.join(sorted(unknown))}"
                     f" (it writes into {', '.join(sorted(written))})")
    if not args.skip_http:
        bench_http(url, args.workers, args.seconds, replay, answer, args.port_base,
                   args.writes_without)
    print(machine_line())


if __name__ == "__main__":
    main()
