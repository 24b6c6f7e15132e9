"""Sync at scale on PostGIS under gunicorn: a pull with nothing new, first syncs, a big push.

Builds a fresh database (BENCH_DATABASE_URL, default: the local server, database
gridops_bench_sync) with the demo district, bulk-loads 500 cases into the grids of the demo's
grid worker ``wj.worker1`` (their scope: open work and a few recently closed, two events
each) and 500 elsewhere, starts the real app under gunicorn, and prints, over HTTP:

(a) a pull with no changes (``POST /api/v1/sync/pull`` with the device's confirmed cursor) as
    a ratio of its time to a bare authenticated endpoint (``GET /api/v1/auth/me``, same
    token, same server) measured in the same run, alternating (target <= 2);
(b) the same with 1,000 cases in the database and again after bulk-loading ``--cases``
    (1,000,000) in total, all but the 500 outside the worker's scope: each as a ratio to
    ``/auth/me`` measured with it, and the second to the first (target <= 1.5; ratios of
    ratios, so a machine busier in one stage than in the other does not count);
(c) a first sync of the 500-case scope (a fresh device, cursor null, pages of 500 records
    until has_more is false): pages, records, total ms, records/s (median of three devices);
(e) the same no-change pull after ``--devices`` (5,000) more devices hold the same scope:
    their state (``sync_devices``) and held records (``sync_device_records``, ~1,550 rows a
    device) are copied from the bench device in SQL, so the tables reach city size without
    5,000 first syncs over HTTP; as a ratio to ``/auth/me`` and to the pull before (all of
    them devices of the one demo worker: what grows is the tables, which is the point);
(d) push throughput: pushes of ``--ops`` (500) operations (notes, contacts with residents,
    arrivals) over ``--push-cases`` (50) of the worker's open cases, committed in chunks of
    ``GRID_SYNC_PUSH_CHUNK`` (100): ops/s (median of ``--pushes``, after two warm-up pushes
    per worker, whose times are printed apart: a worker's first push compiles what every
    later one reuses), and the same push
    replayed (every operation answered ``duplicate``, nothing applied again). Baselines in
    the same run: a bare multi-row INSERT of the same event rows through psycopg (rolled
    back), and with ``--before DIR`` the same pushes against a server run from another
    checkout (e.g. ``/work/main``: the per-operation path) on the same database. Statements
    per operation are counted in-process (the same app, code and database, one push; an
    ``executemany`` counts once).

Rates are closed-loop: ``--threads`` clients for ``--seconds`` per endpoint and round, each
request on a new connection (as bench/cases_bench.py). Run:
``.venv/bin/python bench/sync_bench.py`` (3-5 minutes, most of it loading the million cases);
``--quick`` (100,000 cases, shorter rounds, about a minute); ``--cases 0`` skips the big load;
``--only push`` runs stage (d) alone (about a minute), e.g.
``.venv/bin/python bench/sync_bench.py --only push --before /work/main``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from _support import (
    BENCH_PASSWORD,
    INTAKE_EVENTS_SQL,
    ROOT,
    fresh_database,
    gunicorn,
    load_demo,
    machine_line,
    psycopg_dsn,
)
from _support import postgis_url as bench_url

PASSWORD = BENCH_PASSWORD

WORKER = "wj.worker1"  # the demo's grid worker of WJ-001..WJ-003 (community 110199001001)
WORKER_GRIDS = ("WJ-001", "WJ-002", "WJ-003")
SCOPE_CASES = 500
# BENCH_PORT: a port of one's own on a shared machine; --before serves the other checkout on
# PORT + 1
PORT = int(os.environ.get("BENCH_PORT", "18801"))
BASE = f"http://127.0.0.1:{PORT}"

# One statement loads a range of cases into the basic grids inside (or outside) a set: a point
# in a random grid of the set, led by its township. Inside: open work received in the last 5
# days (30% dispatched, 20% accepted, 40% in progress) and 10% closed yesterday, each with its
# two intake events. Outside: a year of history, 95% closed.
_LOAD = """
WITH g AS (
    SELECT row_number() OVER (ORDER BY code) - 1 AS k, id, code, township_id, min_lon, min_lat,
           max_lon, max_lat
    FROM grids WHERE kind = 'basic' AND retired_at IS NULL
      AND (code = ANY(CAST(:codes AS text[]))) = :inside
), raw AS MATERIALIZED (
    SELECT i, floor(random() * (SELECT count(*) FROM g))::int AS k, random() AS r_x,
           random() AS r_y, random() AS r_s
    FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS i
), placed AS (
    SELECT raw.*, g.id AS grid_id, g.code AS grid_code, g.township_id,
           g.min_lon + r_x * (g.max_lon - g.min_lon) AS lon,
           g.min_lat + r_y * (g.max_lat - g.min_lat) AS lat,
           CASE WHEN :inside THEN CAST(:now AS timestamptz) - r_s * interval '5 days'
                ELSE CAST(:now AS timestamptz) - r_s * interval '365 days' END AS received_at,
           CASE WHEN :inside THEN
                  CASE WHEN r_s < 0.3 THEN 'dispatched' WHEN r_s < 0.5 THEN 'accepted'
                       WHEN r_s < 0.9 THEN 'in_progress' ELSE 'closed' END
                ELSE CASE WHEN r_s < 0.05 THEN 'dispatched' ELSE 'closed' END END AS status
    FROM raw JOIN g ON g.k = raw.k
)
INSERT INTO cases (
    id, number, channel, appeal_type, category_code, title, description, urgency, status,
    lon, lat, location, input_crs, input_lon, input_lat, basic_grid_id, basic_grid_code,
    assignment_method, assignment_distance_m, township_id, district_id, resident_name,
    resident_phone, confidential, attachments, lead_unit_id, returnable, needs_triage,
    received_at, dispatched_at, dispatched_by_unit_id, response_due_at, completion_due_at,
    responded_at, completed_at, closed_at, result, rehandle_count, event_count, version,
    updated_at)
SELECT
    gen_random_uuid(), 'SB-' || lpad(i::text, 8, '0'), 'patrol', 'report', '01.02',
    'bench case ' || i, 'generated by bench/sync_bench.py', 'normal', status,
    lon, lat, ST_SetSRID(ST_MakePoint(lon, lat), 4326), 'wgs84', lon, lat, grid_id, grid_code,
    'inside', 0, township_id, :district_id, '张三', '13812341234', false, '[]', township_id, true,
    false, received_at, received_at, township_id, received_at + interval '24 hours',
    received_at + interval '7 days',
    CASE WHEN status IN ('in_progress', 'closed') THEN received_at + interval '2 hours' END,
    CASE WHEN status = 'closed' THEN received_at + interval '1 day' END,
    CASE WHEN status = 'closed' THEN
      least(received_at + interval '2 days', CAST(:now AS timestamptz) - interval '1 day') END,
    CASE WHEN status = 'closed' THEN 'handled' END,
    0, 2, 1, received_at
FROM placed
"""

_EVENTS = INTAKE_EVENTS_SQL


def prepare_database(url: str) -> bool:
    """A fresh database with the schema and the demo district; False if PostGIS is absent."""
    if not fresh_database(url):
        return False
    load_demo(url, password=PASSWORD)
    return True


def load(url: str, *, first: int, last: int, inside: bool, bulk: bool = False) -> float:
    """Cases ``first``..``last`` (numbers SB-…) inside or outside the worker's grids; seconds.

    ``bulk``: the usual shortcuts of a large load (secondary indexes rebuilt once afterwards,
    no per-row foreign-key triggers), then VACUUM ANALYZE.
    """
    from server.org.models import Unit

    engine = sa.create_engine(url)
    start = time.perf_counter()
    with engine.begin() as conn:
        district = conn.execute(sa.select(Unit.id).where(Unit.code == "110199")).scalar_one()
        indexes = []
        if bulk:
            indexes = conn.execute(sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases' AND "
                "indexname NOT IN (SELECT conname FROM pg_constraint)")).all()
            for name, _ in indexes:
                conn.execute(sa.text(f'DROP INDEX "{name}"'))
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(sa.text(_LOAD), {"codes": list(WORKER_GRIDS), "inside": inside,
                                      "first": first, "last": last, "now": datetime.now(UTC),
                                      "district_id": district})
        if inside:
            conn.execute(sa.text(_EVENTS), {"low": f"SB-{first:08d}", "high": f"SB-{last:08d}"})
        for _, definition in indexes:
            conn.execute(sa.text(definition))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return time.perf_counter() - start


# --- HTTP ------------------------------------------------------------------------------------

def clone_devices(url: str, device_id: uuid.UUID, n: int) -> tuple[float, int]:
    """``n`` more devices of the same user, each with a copy of ``device_id``'s sync state and
    held records (ids made from md5, so a rerun makes the same ones). (seconds, rows held)."""
    began = time.perf_counter()
    engine = sa.create_engine(url)
    clones = ("SELECT md5(:seed || '-' || g)::uuid AS id FROM generate_series(1, :n) AS g")
    params = {"seed": str(device_id), "n": n, "device": device_id}
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO devices (user_id, id, name, registered_at, last_sign_in_at) "
            f"SELECT d.user_id, c.id, 'bench clone', d.registered_at, d.last_sign_in_at "
            f"FROM devices d, ({clones}) c WHERE d.id = :device"), params)
        columns = [c["name"] for c in sa.inspect(conn).get_columns("sync_devices")
                   if c["name"] != "device_id"]
        conn.execute(sa.text(
            f"INSERT INTO sync_devices (device_id, {', '.join(columns)}) "
            f"SELECT c.id, {', '.join('s.' + c for c in columns)} "
            f"FROM sync_devices s, ({clones}) c WHERE s.device_id = :device"), params)
        conn.execute(sa.text(
            f"INSERT INTO sync_device_records (user_id, device_id, table_name, row_id, parent_id) "
            f"SELECT r.user_id, c.id, r.table_name, r.row_id, r.parent_id "
            f"FROM sync_device_records r, ({clones}) c WHERE r.device_id = :device"), params)
        conn.exec_driver_sql("ANALYZE sync_devices")
        conn.exec_driver_sql("ANALYZE sync_device_records")
        rows = conn.exec_driver_sql("SELECT count(*) FROM sync_device_records").scalar()
    engine.dispose()
    return time.perf_counter() - began, rows


def call(method: str, path: str, token: str, body: dict | None = None,
         timeout: float = 120, base: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310
        f"{base or BASE}{path}", data=data, method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status, json.loads(response.read() or b"{}")


def sign_in(device: bool = True, device_id: uuid.UUID | None = None,
            base: str | None = None) -> str:
    body = {"username": WORKER, "password": PASSWORD}
    if device:
        body |= {"device_id": str(device_id or uuid.uuid4()), "device_name": "bench phone"}
    request = urllib.request.Request(  # noqa: S310
        f"{base or BASE}/api/v1/auth/login", data=json.dumps(body).encode(),
        method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())["token"]


def first_sync(token: str) -> tuple[int, int, float, int]:
    """Pull from nothing until has_more is false: pages, records, ms; and the cursor."""
    cursor, pages, records = None, 0, 0
    start = time.perf_counter()
    while True:
        status, answer = call("POST", "/api/v1/sync/pull", token, {"cursor": cursor})
        assert (status, answer["start_over"]) == (200, False), answer
        pages += 1
        records += sum(len(c["created"]) + len(c["updated"]) + len(c["deleted"])
                       for c in answer["changes"].values())
        cursor = answer["cursor"]
        if not answer["has_more"]:
            break
    elapsed = (time.perf_counter() - start) * 1000
    _, answer = call("POST", "/api/v1/sync/pull", token, {"cursor": cursor})  # confirms it
    assert (answer["has_more"], answer["cursor"]) == (False, cursor), answer
    return pages, records, elapsed, cursor


def rate(method: str, path: str, token: str, body: dict | None, seconds: float,
         threads: int) -> float:
    """Requests/s of ``threads`` clients repeating one request for ``seconds``."""
    deadline = time.perf_counter() + seconds

    def client(_: int) -> int:
        done = 0
        while time.perf_counter() < deadline:
            status, answer = call(method, path, token, body)
            assert status == 200, answer
            done += 1
        return done

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(client, range(threads)))
    return total / (time.perf_counter() - start)


def no_change_pull(token: str, cursor: int, seconds: float, threads: int,
                   rounds: int) -> tuple[float, float]:
    """Requests/s of GET /auth/me and of a no-change pull, alternating in ``rounds``."""
    _, answer = call("POST", "/api/v1/sync/pull", token, {"cursor": cursor})
    assert answer["cursor"] == cursor, answer  # nothing new: the pull under test
    assert not any(c["created"] or c["updated"] or c["deleted"]
                   for c in answer["changes"].values()), answer
    me, pull = [], []
    for _ in range(rounds):
        me.append(rate("GET", "/api/v1/auth/me", token, None, seconds, threads))
        pull.append(rate("POST", "/api/v1/sync/pull", token, {"cursor": cursor}, seconds,
                         threads))
    return statistics.median(me), statistics.median(pull)


def push_cases(token: str, n: int, rng: random.Random) -> list[dict]:
    """``n`` of the worker's open cases that allow notes (accepted, in progress)."""
    status, page = call("GET", "/api/v1/cases?status=accepted&status=in_progress&limit=500",
                        token)
    assert status == 200, page
    return rng.sample(page["items"], min(n, len(page["items"])))


def operations(cases: list[dict], n: int, rng: random.Random, first_seq: int) -> list[dict]:
    """``n`` notes, contacts with residents and arrivals (6:2:2), spread over ``cases``."""
    now = datetime.now(UTC)
    ops = []
    for i in range(n):
        seq = first_seq + i
        case = cases[i % len(cases)]
        kind = rng.random()
        if kind < 0.6:
            name, args = "add_note", {"note": f"巡查记录 {seq}"}
        elif kind < 0.8:
            name, args = "record_contact", {"note": f"已联系居民 {seq}"}
        else:
            loc = case["location"]
            name, args = "arrive_on_site", {"lon": loc["lon"] + 0.0001, "lat": loc["lat"],
                                            "accuracy_m": 10.0}
        ops.append({"id": str(uuid.uuid4()), "seq": seq, "name": name,
                    "args": {"case_id": case["id"], **args}, "base_version": case["version"],
                    "device_time": (now - timedelta(seconds=n - i)).isoformat()})
    return ops


def push(token: str, ops: list[dict], base: str | None = None) -> tuple[float, dict]:
    start = time.perf_counter()
    status, answer = call("POST", "/api/v1/sync/push", token,
                          {"sent_at": datetime.now(UTC).isoformat(), "operations": ops},
                          base=base)
    elapsed = (time.perf_counter() - start) * 1000
    assert status == 200, answer
    counts: dict[str, int] = {}
    for result in answer["results"]:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return elapsed, counts


# Counts the statements of one push in-process (same app, same database), in a child process
# whose sys.path starts at the checkout measured. An executemany counts once (one batch).
_COUNT_STATEMENTS = r"""
import collections, json, sys
import sqlalchemy as sa
from config import Config
from server.app import create_app
from server.extensions import db
body = json.load(sys.stdin)
app = create_app(Config)
kinds = collections.Counter()
def count(conn, cursor, statement, *args):
    words = statement.split()
    table = words[2] if words[0] in ("INSERT", "UPDATE", "DELETE") and len(words) > 2 else ""
    if words[0] == "UPDATE":
        table = words[1]
    kinds[f"{words[0]} {table}".strip()] += 1
with app.app_context():
    sa.event.listen(db.engine, "before_cursor_execute", count)
    answer = app.test_client().post("/api/v1/sync/push", json=body["push"],
                                    headers={"Authorization": "Bearer " + body["token"]})
    assert answer.status_code == 200, answer.get_json()
print(json.dumps(kinds.most_common()))
"""


def count_statements(root: Path, url: str, token: str, ops: list[dict],
                     env: dict) -> list[tuple[str, int]]:
    body = {"token": token, "push": {"sent_at": datetime.now(UTC).isoformat(),
                                     "operations": ops}}
    run = subprocess.run([sys.executable, "-c", _COUNT_STATEMENTS], input=json.dumps(body),
                         capture_output=True, text=True, cwd=root, check=True,
                         env={**env, "PYTHONPATH": str(root), "DATABASE_URL": url})
    return [tuple(kind) for kind in json.loads(run.stdout.strip().splitlines()[-1])]


def raw_insert_ms(url: str, cases: list[dict], n: int) -> float:
    """A bare multi-row INSERT of ``n`` event rows like the push's (notes on ``cases``) in one
    statement through psycopg, rolled back: the floor of writing them."""
    import psycopg
    from psycopg.types.json import Jsonb

    ids = [uuid.UUID(c["id"]) for c in cases]
    with psycopg.connect(psycopg_dsn(url)) as conn, conn.cursor() as cur:
        seqs = dict(cur.execute("SELECT case_id, max(seq) FROM case_events "
                                "WHERE case_id = ANY(%s) GROUP BY case_id", (ids,)).fetchall())
        now = datetime.now(UTC)
        rows = []
        for i in range(n):
            case_id = ids[i % len(ids)]
            seqs[case_id] += 1
            rows += [uuid.uuid4(), case_id, seqs[case_id], now, "note", "in_progress",
                     "in_progress", None, WORKER, Jsonb(["grid_worker"]), None,
                     Jsonb({"note": f"巡查记录 {i}"})]
        sql = ("INSERT INTO case_events (id, case_id, seq, at, action, from_status, to_status, "
               "actor_user_id, actor_username, actor_roles, actor_unit_id, data) VALUES "
               + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * n))
        start = time.perf_counter()
        cur.execute(sql, rows)
        elapsed = (time.perf_counter() - start) * 1000
        conn.rollback()
    return elapsed


def push_stage(args: argparse.Namespace, url: str, rng: random.Random, env: dict,
               before: str | None) -> None:
    """(d): pushes of ``args.ops`` operations over ``args.push_cases`` cases, per server."""
    servers = {"this checkout": BASE}
    if before:
        servers[f"before ({args.before})"] = before
    token = sign_in()
    cases = push_cases(token, args.push_cases, rng)
    seq = 1
    tokens = {label: sign_in(base=base) for label, base in servers.items()}
    times: dict[str, list[float]] = {label: [] for label in servers}
    last: dict[str, list[dict]] = {}
    # Warm-up, reported apart (as for /assign): each worker's first push compiles the
    # statements and builds the schemas the push uses; a serving district's workers have
    # long done that. Twice the workers, so each worker most likely gets one.
    cold: dict[str, list[float]] = {label: [] for label in servers}
    for _ in range(2 * args.workers):
        for label, base in servers.items():
            ms, counts = push(tokens[label], operations(cases, args.ops, rng, seq), base)
            seq += args.ops
            assert counts == {"applied": args.ops}, counts
            cold[label].append(ms)
    for _ in range(args.pushes):  # alternating, so a load that comes and goes hits both
        for label, base in servers.items():
            ops = last[label] = operations(cases, args.ops, rng, seq)
            seq += args.ops
            ms, counts = push(tokens[label], ops, base)
            assert counts == {"applied": len(ops)}, counts
            times[label].append(ms)
    rates: dict[str, float] = {}
    for label, base in servers.items():
        ms = statistics.median(times[label])
        rates[label] = args.ops / ms * 1000
        replay_ms, counts = push(tokens[label], last[label], base)
        assert counts == {"duplicate": args.ops}, counts
        print(f"(d) {label}: push of {args.ops} operations over {len(cases)} cases: "
              f"{ms:,.0f} ms, {rates[label]:,.0f} ops/s (median of {args.pushes}, "
              f"alternating); replayed {replay_ms:,.0f} ms, all duplicate; the "
              f"{len(cold[label])} warm-up pushes before: "
              f"{', '.join(f'{ms:,.0f}' for ms in cold[label])} ms")
    raw = statistics.median(raw_insert_ms(url, cases, args.ops) for _ in range(3))
    print(f"    baseline: a bare {args.ops}-row INSERT of the event rows through psycopg: "
          f"{raw:,.0f} ms ({args.ops / raw * 1000:,.0f} rows/s); the push is "
          f"{rates['this checkout'] / (args.ops / raw * 1000):.2f}x it")
    if before:
        label = f"before ({args.before})"
        print(f"    this checkout / before: {rates['this checkout'] / rates[label]:.2f}x")
    roots = {"this checkout": ROOT} | ({f"before ({args.before})": Path(args.before)}
                                       if before else {})
    for label, root in roots.items():
        ops = operations(cases, args.ops, rng, seq)
        seq += args.ops
        kinds = count_statements(root, url, sign_in(), ops, env)
        total = sum(n for _, n in kinds)
        detail = ", ".join(f"{n / args.ops:.2f} {kind}" for kind, n in kinds[:8])
        print(f"    {label}: {total / args.ops:.2f} statements per operation ({detail})")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        notes, distinct = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT (case_id, seq)) FROM case_events "
            "WHERE action IN ('note', 'contact', 'arrive')")).one()
    engine.dispose()
    assert notes == distinct, (notes, distinct)
    print(f"    events written by the pushes: {notes:,}, each once, no seq taken twice")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000,
                        help="cases in the database for the last stage (0: skip it)")
    parser.add_argument("--quick", action="store_true",
                        help="100,000 cases, 2 s rounds: a smoke run")
    parser.add_argument("--only", choices=("push",), help="run one stage alone")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", type=int, default=500, help="operations per push (d)")
    parser.add_argument("--push-cases", type=int, default=50, help="cases they name (d)")
    parser.add_argument("--pushes", type=int, default=3, help="pushes measured (d)")
    parser.add_argument("--before", metavar="DIR",
                        help="also push to a server run from this checkout (d), e.g. /work/main")
    parser.add_argument("--devices", type=int, default=5000,
                        help="synthetic devices holding the scope for stage (e) (0: skip it)")
    args = parser.parse_args()
    if args.quick:
        args.cases = min(args.cases, 100_000)
        args.seconds, args.rounds = 2.0, 2
        args.devices = min(args.devices, 500)

    print(machine_line())
    url = bench_url("gridops_bench_sync")
    began = time.perf_counter()
    if not prepare_database(url):
        return
    load(url, first=1, last=SCOPE_CASES, inside=True)
    load(url, first=SCOPE_CASES + 1, last=2 * SCOPE_CASES, inside=False)
    print(f"database {sa.engine.make_url(url).database}: demo district, {SCOPE_CASES} cases in "
          f"{WORKER}'s grids and {SCOPE_CASES} elsewhere ({time.perf_counter() - began:.0f} s)")
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           "GRID_SYNC_MAX_PUSH_OPERATIONS": str(max(args.ops, 500))}
    rng = random.Random(7)
    with contextlib.ExitStack() as servers:
        servers.enter_context(gunicorn("server.app:create_app()", PORT, workers=args.workers,
                                       env=env, wait_s=120))
        before = None
        if args.before:
            before = servers.enter_context(gunicorn(
                "server.app:create_app()", PORT + 1, workers=args.workers,
                env={**env, "PYTHONPATH": args.before}, cwd=Path(args.before), wait_s=120))
        if args.only != "push":
            run(args, url)
        push_stage(args, url, rng, env, before)
    print(machine_line())
    print(f"total {time.perf_counter() - began:.0f} s")


def run(args: argparse.Namespace, url: str) -> None:
    print(f"gunicorn -w {args.workers}, {args.threads} client threads, 127.0.0.1; rates are "
          f"medians of {args.rounds} alternating rounds of {args.seconds:.0f} s")
    # (c) first syncs of the scope, each by a fresh device.
    syncs = [first_sync(sign_in()) for _ in range(3)]
    pages, records, _, _ = syncs[0]
    ms = statistics.median(s[2] for s in syncs)
    print(f"(c) first sync of a {SCOPE_CASES}-case scope: {pages} pages, {records:,} records, "
          f"{ms:,.0f} ms, {records / ms * 1000:,.0f} records/s (median of 3 devices)")

    # (a) and (b): a device that is up to date pulls again.
    token = sign_in()
    cursor = first_sync(token)[3]
    me, pull = no_change_pull(token, cursor, args.seconds, args.threads, args.rounds)
    base = me / pull  # the pull's cost in /auth/me requests, at 1,000 cases
    print(f"(a) no-change pull: GET /auth/me {me:,.0f} req/s, POST /sync/pull {pull:,.0f} req/s: "
          f"the pull costs {base:.2f}x /auth/me (target <= 2)")
    print(f"(b) {2 * SCOPE_CASES:>9,} cases: {base:.2f}x /auth/me")
    if args.cases > 2 * SCOPE_CASES:
        seconds = load(url, first=2 * SCOPE_CASES + 1, last=args.cases, inside=False, bulk=True)
        me, pull = no_change_pull(token, cursor, args.seconds, args.threads, args.rounds)
        print(f"(b) {args.cases:>9,} cases: {me / pull:.2f}x /auth/me (me {me:,.0f}, pull "
              f"{pull:,.0f} req/s), {me / pull / base:.2f}x the pull at 1,000 cases "
              f"(target <= 1.5); {args.cases - 2 * SCOPE_CASES:,} cases loaded in {seconds:.0f} s")

    # (e) many more devices holding the same scope: the per-device tables grow.
    if args.devices:
        device_id = uuid.uuid4()
        token = sign_in(device_id=device_id)
        cursor = first_sync(token)[3]
        me, pull = no_change_pull(token, cursor, args.seconds, args.threads, args.rounds)
        before = me / pull
        seconds, rows = clone_devices(url, device_id, args.devices)
        me, pull = no_change_pull(token, cursor, args.seconds, args.threads, args.rounds)
        print(f"(e) {args.devices + 1:,} devices ({rows:,} held records): {me / pull:.2f}x "
              f"/auth/me (me {me:,.0f}, pull {pull:,.0f} req/s), {me / pull / before:.2f}x the "
              f"pull with one device ({before:.2f}x); cloned in {seconds:.0f} s")


if __name__ == "__main__":
    main()
