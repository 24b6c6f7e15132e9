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
(d) one push of 1,000 operations (notes, contacts with residents, arrivals on the worker's
    open cases; ``GRID_SYNC_MAX_PUSH_OPERATIONS=1000`` for this server) and the same push
    replayed (every operation answered ``duplicate``, nothing applied again): ms and ops/s.

Rates are closed-loop: ``--threads`` clients for ``--seconds`` per endpoint and round, each
request on a new connection (as bench/cases_bench.py). Run:
``.venv/bin/python bench/sync_bench.py`` (3-5 minutes, most of it loading the million cases);
``--quick`` (100,000 cases, shorter rounds, about a minute); ``--cases 0`` skips the big load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cases_bench import PASSWORD, _serve, prepare_database  # noqa: E402

WORKER = "wj.worker1"  # the demo's grid worker of WJ-001..WJ-003 (community 110199001001)
WORKER_GRIDS = ("WJ-001", "WJ-002", "WJ-003")
SCOPE_CASES = 500
PORT = 18095

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

_EVENTS = """
INSERT INTO case_events (id, case_id, seq, at, action, from_status, to_status, actor_user_id,
                         actor_username, actor_roles, actor_unit_id, data)
SELECT gen_random_uuid(), c.id, e.seq, c.received_at, e.action, e.from_status, e.to_status,
       NULL, 'system', '[]', NULL, e.data::json
FROM cases c CROSS JOIN (VALUES
    (1, 'received', NULL, 'received', '{"channel": "patrol"}'),
    (2, 'dispatch', 'received', 'dispatched', '{"auto": true}')) AS e(seq, action, from_status,
                                                                      to_status, data)
WHERE c.number BETWEEN :low AND :high
"""


def postgis_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/gridops_bench_sync")


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
         timeout: float = 120) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310
        f"http://127.0.0.1:{PORT}{path}", data=data, method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status, json.loads(response.read() or b"{}")


def sign_in(device: bool = True, device_id: uuid.UUID | None = None) -> str:
    body = {"username": WORKER, "password": PASSWORD}
    if device:
        body |= {"device_id": str(device_id or uuid.uuid4()), "device_name": "bench phone"}
    request = urllib.request.Request(  # noqa: S310
        f"http://127.0.0.1:{PORT}/api/v1/auth/login", data=json.dumps(body).encode(),
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


def operations(token: str, n: int, rng: random.Random) -> list[dict]:
    """``n`` operations on the worker's open cases that allow them (accepted, in progress)."""
    status, page = call("GET", "/api/v1/cases?status=accepted&status=in_progress&limit=500",
                        token)
    assert status == 200, page
    cases = page["items"]
    now = datetime.now(UTC)
    ops = []
    for seq in range(1, n + 1):
        case = rng.choice(cases)
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
                    "device_time": (now - timedelta(seconds=n - seq)).isoformat()})
    return ops


def push(token: str, ops: list[dict]) -> tuple[float, dict]:
    start = time.perf_counter()
    status, answer = call("POST", "/api/v1/sync/push", token,
                          {"sent_at": datetime.now(UTC).isoformat(), "operations": ops})
    elapsed = (time.perf_counter() - start) * 1000
    assert status == 200, answer
    counts: dict[str, int] = {}
    for result in answer["results"]:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000,
                        help="cases in the database for the last stage (0: skip it)")
    parser.add_argument("--quick", action="store_true",
                        help="100,000 cases, 2 s rounds: a smoke run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=5000,
                        help="synthetic devices holding the scope for stage (e) (0: skip it)")
    args = parser.parse_args()
    if args.quick:
        args.cases = min(args.cases, 100_000)
        args.seconds, args.rounds = 2.0, 2
        args.devices = min(args.devices, 500)

    url = postgis_url()
    began = time.perf_counter()
    if not prepare_database(url):
        return
    loaded = load(url, first=1, last=SCOPE_CASES, inside=True)
    loaded += load(url, first=SCOPE_CASES + 1, last=2 * SCOPE_CASES, inside=False)
    print(f"database {sa.engine.make_url(url).database}: demo district, {SCOPE_CASES} cases in "
          f"{WORKER}'s grids and {SCOPE_CASES} elsewhere ({time.perf_counter() - began:.0f} s)")
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           "GRID_SYNC_MAX_PUSH_OPERATIONS": str(max(args.ops, 500))}
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp, "gunicorn.log")
        server = _serve("server.app:create_app()", PORT, args.workers, env, ROOT, log)
        try:
            run(args, url, rng)
        except Exception:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait()
    print(f"total {time.perf_counter() - began:.0f} s")


def run(args: argparse.Namespace, url: str, rng: random.Random) -> None:
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

    # (d) one big push, then the same push again (a lost answer).
    ops = operations(token, args.ops, rng)
    ms, counts = push(token, ops)
    print(f"(d) push of {len(ops):,} operations: {ms:,.0f} ms, {len(ops) / ms * 1000:,.0f} ops/s "
          f"{counts}")
    ms, counts = push(token, ops)
    print(f"    the same push replayed: {ms:,.0f} ms, {len(ops) / ms * 1000:,.0f} ops/s {counts}")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        notes = conn.execute(sa.text("SELECT count(*) FROM case_events WHERE action IN "
                                     "('note', 'contact', 'arrive')")).scalar()
    engine.dispose()
    assert counts == {"duplicate": len(ops)}, counts
    print(f"    events written by the pushes: {notes:,} (once each)")


if __name__ == "__main__":
    main()
