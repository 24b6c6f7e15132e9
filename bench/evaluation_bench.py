"""The evaluation layer at scale on PostGIS: a year of 1,000,000 cases in a 20-township,
30-department district, then one month's rankings and hotspot table, timed.

Builds a fresh database (BENCH_DATABASE_URL, default: the local server, database
gridops_bench_eval): the schema by ``gridops db upgrade``; the district, its townships,
communities, departments (three of them with an outpost in every township: 城管执法队,
市场监管所, 派出所) and 600 basic grids through the services; the demo catalogue; then the
facts of a year (2026, Beijing time) bulk-loaded with COPY through psycopg, in these
proportions (stated so the figures can be judged):

- cases: 1,000,000 received over 2026, hot grids and categories weighted (gamma / Zipf);
  lead 60 % the case's township, 40 % a department (Zipf over 30; the three with outposts
  lead through the outpost in the case's township);
- deadlines: one response and one completion deadline per case, due at the category's limits
  after dispatch; ~97 % of responses and ~93 % of completions met;
- returns: 4 % of cases ask for a return; 70 % approved (30 % of those with fault) and sent
  to another unit, the first deadlines cancelled and a new pair opened for the new lead;
- linked duplicates: 2 % of cases, linked to an earlier case within hours; half of them were
  rated anyway (the counting rules must leave them out);
- exemptions: 1.5 % of cases, approved days after receipt;
- case_ratings: 88 % of cases rated (75 % by the 12345 platform, 25 % by the district's own
  callback); 7 % of the rated were first 不满意 and re-handled (a superseded rating and a
  final one days later), 15 % of those twice; finals 78 % 满意, 12 % 基本满意, 10 % 不满意.

Then, with the three evaluation functions the issue names (skipped, and said so, until the
branches that write them are merged), it prints min / median / max over ``--runs`` runs of

1. ``server.reports.scores.ranking(kind="township")`` for one month, the 三率 included;
2. ``server.reports.scores.ranking(kind="department")`` for the same month;
3. ``server.reports.hotspots.category_grid_counts(by="grid")`` over the district;
4. ``server.reports.choropleth.grid_counts_geojson`` (the 600-grid map, not a target of the
   issue's but an endpoint of the same layer);

each against the target (<= 1 s) and as a ratio to a baseline measured in the same run, a bare
``SELECT count(*)`` of the month's case_ratings (what any answer must at least read).

Run: ``.venv/bin/python bench/evaluation_bench.py`` (building takes a few minutes; ``--reuse``
times an existing database; ``--cases 200000`` for a quicker build; ``--month 2026-11``;
``--runs 7``; ``--explain`` prints EXPLAIN ANALYZE of the statements each function runs).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from _support import fresh_database, machine_line, postgis_url, psycopg_dsn, upgrade_schema
from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

DISTRICT = "110199"  # the demo catalogue names units of this code
TOWNSHIP_COLUMNS, TOWNSHIP_ROWS = 5, 4  # 20 townships
GRID_COLUMNS, GRID_ROWS = 5, 6  # 30 basic grids each
WEST, SOUTH = 116.30, 39.80
TOWNSHIP_LON, TOWNSHIP_LAT = 0.05, 0.04
OUTPOST_KINDS = ("urban_law_enforcement", "market_supervision", "public_security")
DEPARTMENTS = (  # (suffix, name, department_kind): 30 district departments
    ("CGW", "区城市管理委员会", "city_management"),
    ("CGZF", "区城管执法局", "urban_law_enforcement"),
    ("SCJG", "区市场监管局", "market_supervision"),
    ("GA", "区公安分局", "public_security"),
    ("ZJW", "区住房和城乡建设委员会", "housing"),
    ("STHJ", "区生态环境局", "ecology_environment"),
    ("YJ", "区应急管理局", "emergency_management"),
    ("JW", "区交通委", "transport"),
    ("SW", "区水务局", "water"),
    ("YL", "区园林绿化局", "landscaping"),
    ("WJW", "区卫生健康委", "health"),
    ("JYW", "区教委", "education"),
    ("MZ", "区民政局", "civil_affairs"),
    ("RS", "区人力社保局", "human_resources"),
    ("GHZR", "区规划和自然资源分局", "planning"),
    ("WHLY", "区文化和旅游局", "culture_tourism"),
    ("TY", "区体育局", "sports"),
    ("SF", "区司法局", "justice"),
    ("FGW", "区发展改革委", "development"),
    ("CZ", "区财政局", "finance"),
    ("SWJ", "区税务局", "taxation"),
    ("TJ", "区统计局", "statistics"),
    ("KXJ", "区科信局", "science"),
    ("SWU", "区商务局", "commerce"),
    ("NY", "区农业农村局", "agriculture"),
    ("TYJR", "区退役军人事务局", "veterans"),
    ("YB", "区医疗保障局", "medical_insurance"),
    ("ZWFW", "区政务服务管理局", "government_services"),
    ("XF", "区消防救援支队", "fire_rescue"),
    ("GD", "区供电公司", "power_supply"),
)
YEAR_START = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # 2026-01-01 00:00 in Beijing
YEAR_S = 365 * 86400
HOUR = 3600.0
CHUNK = 100_000


# --- the district ----------------------------------------------------------------------------

def prepare_database(url: str) -> None:
    """A fresh database at the schema's head, with the district, grids and catalogue."""
    if not fresh_database(url):
        raise SystemExit("this bench needs PostGIS")
    engine = sa.create_engine(url)
    with Session(engine) as session:
        load_district(session, now=YEAR_START)
        session.commit()
    engine.dispose()


def load_district(session: Session, *, now: datetime) -> None:
    from geo.crs import CRS
    from server.catalogue.demo_items import load_demo_catalogue
    from server.grids.services import import_grids
    from server.org.rules import UnitKind
    from server.org.services import create_unit

    def unit(code: str, name: str, kind: UnitKind, parent: str | None, **kw) -> None:  # noqa: ANN003
        create_unit(session, code=code, name=name, kind=kind, parent_code=parent, now=now, **kw)

    unit(DISTRICT, "评测区", UnitKind.DISTRICT, None, population=2_000_000)
    unit(f"{DISTRICT}-CC", "评测区12345分中心", UnitKind.COMMAND_CENTRE, DISTRICT)
    for suffix, name, kind in DEPARTMENTS:
        unit(f"{DISTRICT}-{suffix}", name, UnitKind.DEPARTMENT, DISTRICT, department_kind=kind)
    features = []
    for t in range(TOWNSHIP_COLUMNS * TOWNSHIP_ROWS):
        code, name = f"{DISTRICT}{t + 1:03d}", f"第{t + 1}街道"
        west = WEST + (t % TOWNSHIP_COLUMNS) * TOWNSHIP_LON
        south = SOUTH + (t // TOWNSHIP_COLUMNS) * TOWNSHIP_LAT
        unit(code, name, UnitKind.TOWNSHIP, DISTRICT, population=60_000 + 7_000 * (t % 9),
             boundary=box(west, south, west + TOWNSHIP_LON, south + TOWNSHIP_LAT))
        unit(f"{code}-CC", f"{name}指挥中心", UnitKind.COMMAND_CENTRE, code)
        for c in range(5):
            unit(f"{code}{c + 1:03d}", f"{name}第{c + 1}社区", UnitKind.COMMUNITY, code,
                 population=12_000 + 1_000 * c)
        for suffix, dept_name, kind in DEPARTMENTS:
            if kind in OUTPOST_KINDS:
                unit(f"{code}-{suffix}", f"{name}{dept_name.removeprefix('区')}",
                     UnitKind.DEPARTMENT, code, department_kind=kind)
        features += _grid_features(code, name, west, south)
    import_grids(session, {"type": "FeatureCollection", "features": features}, crs=CRS.WGS84,
                 repair=False, replace_existing=False, allowed_township_ids=None, now=now)
    load_demo_catalogue(session, now=now)


def _grid_features(township: str, name: str, west: float, south: float) -> list[dict]:
    cell_lon, cell_lat = TOWNSHIP_LON / GRID_COLUMNS, TOWNSHIP_LAT / GRID_ROWS
    features = []
    for col in range(GRID_COLUMNS):
        for row in range(GRID_ROWS):
            number = col * GRID_ROWS + row + 1
            cell = box(round(west + col * cell_lon, 6), round(south + row * cell_lat, 6),
                       round(west + (col + 1) * cell_lon, 6),
                       round(south + (row + 1) * cell_lat, 6))
            features.append({"type": "Feature", "geometry": mapping(cell), "properties": {
                "code": f"{township}-{number:03d}", "name": f"{name}第{number}网格",
                "kind": "basic", "township": township,
                "community": f"{township}{col + 1:03d}"}})
    return features


# --- a year of facts -------------------------------------------------------------------------

class Org:
    """Ids the generator draws from: grids with their boxes and townships, leads, categories."""

    def __init__(self, session: Session) -> None:
        from server.catalogue.demo_items import ITEMS
        from server.grids.models import Grid
        from server.org.models import Unit
        from server.org.rules import UnitKind

        units = list(session.scalars(sa.select(Unit)))
        by_code = {u.code: u for u in units}
        self.district = by_code[DISTRICT]
        self.centre = by_code[f"{DISTRICT}-CC"]
        grids = list(session.scalars(sa.select(Grid).where(Grid.kind == "basic")
                                     .order_by(Grid.code)))
        self.grid_ids = [str(g.id) for g in grids]
        self.grid_codes = [g.code for g in grids]
        self.grid_box = np.array([(g.min_lon, g.min_lat, g.max_lon, g.max_lat) for g in grids])
        townships = sorted((u for u in units if u.kind is UnitKind.TOWNSHIP),
                           key=lambda u: u.code)
        self.township_ids = [str(u.id) for u in townships]
        index = {u.id: i for i, u in enumerate(townships)}
        self.grid_township = np.array([index[g.township_id] for g in grids])
        # Leads: column 0 the township itself, then one column per district department; a
        # department with outposts leads through the outpost in the case's township.
        leads = np.empty((len(townships), 1 + len(DEPARTMENTS)), dtype=object)
        for t, township in enumerate(townships):
            leads[t, 0] = str(township.id)
            for d, (suffix, _, kind) in enumerate(DEPARTMENTS, start=1):
                code = (f"{township.code}-{suffix}" if kind in OUTPOST_KINDS
                        else f"{DISTRICT}-{suffix}")
                leads[t, d] = str(by_code[code].id)
        self.leads = leads
        leaves = [item for item in ITEMS if item[4] is not None and item[6]]
        self.categories = np.array([item[0] for item in leaves], dtype=object)
        # (response h, completion h) per category
        self.limits_h = np.array([item[4] for item in leaves], dtype=float)


def _zipf(n: int, s: float = 1.1) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** s
    return weights / weights.sum()


def _ts(seconds: np.ndarray, present: np.ndarray | None = None) -> list:
    """Seconds after the year's start as ISO 8601 UTC text (None where absent), for COPY."""
    stamps = (np.datetime64("2025-12-31T16:00:00") + seconds.astype("timedelta64[s]"))
    text = np.char.add(np.datetime_as_string(stamps, unit="s"), "+00")
    out = text.astype(object)
    if present is not None:
        out[~present] = None
    return out.tolist()


def _uuids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


CASE_COLUMNS = (
    "id", "number", "channel", "appeal_type", "category_code", "title", "description", "urgency",
    "status", "lon", "lat", "location", "input_crs", "input_lon", "input_lat", "basic_grid_id",
    "basic_grid_code", "assignment_method", "assignment_distance_m", "township_id",
    "district_id", "resident_name", "resident_phone", "confidential", "attachments",
    "lead_unit_id", "returnable", "needs_triage", "received_at", "dispatched_at",
    "dispatched_by_unit_id", "response_due_at", "completion_due_at", "responded_at",
    "completed_at", "closed_at", "result", "resolved", "satisfaction", "rehandle_count",
    "exemption_state", "exempted_at", "master_case_id", "linked_at", "event_count", "version",
    "updated_at")
DEADLINE_COLUMNS = (
    "id", "subject_type", "subject_id", "kind", "label", "unit_id", "supervisor_unit_id",
    "starts_at", "due_at", "original_due_at", "generation", "fractions", "overdue_grace_s",
    "calendar", "status", "met_at", "closed_at", "created_at")
RETURN_COLUMNS = ("id", "case_id", "unit_id", "reason", "requested_at", "decided_at", "approved",
                  "with_fault")
RATING_COLUMNS = (
    "id", "case_id", "seq", "recorded_at", "rated_at", "lead_unit_id", "resolved",
    "satisfaction", "double_yes", "source", "recorded_by_unit_id", "rater", "channel",
    "rehandle_count")
SATISFACTION = np.array(["satisfied", "basically_satisfied", "dissatisfied"], dtype=object)


class Chunk:
    """The facts of cases ``first`` … ``first + n - 1`` of ``total``, as COPY rows."""

    def __init__(self, rng: np.random.Generator, org: Org, grid_p: np.ndarray, first: int,
                 n: int, total: int) -> None:
        self.rng, self.org, self.n = rng, org, n
        i = np.arange(first, first + n)
        self.received = (i + rng.random(n)) / total * YEAR_S  # in insert order, as live
        self.grid = rng.choice(len(org.grid_ids), n, p=grid_p)
        self.township = org.grid_township[self.grid]
        self.category = rng.choice(len(org.categories), n, p=_zipf(len(org.categories)))
        self.numbers = [f"2026-{k + 1:07d}" for k in i]
        self.ids = _uuids(n)
        self._leads()
        self._deadlines()
        self._flags()

    def _leads(self) -> None:
        rng, n = self.rng, self.n
        columns = self.org.leads.shape[1]
        dept = 1 + rng.choice(columns - 1, n, p=_zipf(columns - 1, 0.9))
        self.first_col = np.where(rng.random(n) < 0.6, 0, dept)
        self.returned = rng.random(n) < 0.04
        self.approved = self.returned & (rng.random(n) < 0.7)
        self.with_fault = self.approved & (rng.random(n) < 0.3)
        other = (self.first_col + 1 + rng.integers(0, columns - 1, n)) % columns
        self.final_col = np.where(self.approved, other, self.first_col)
        self.first_lead = self.org.leads[self.township, self.first_col]
        self.final_lead = self.org.leads[self.township, self.final_col]

    def _deadlines(self) -> None:
        rng, n = self.rng, self.n
        limits = self.org.limits_h[self.category] * HOUR
        self.response_s, self.completion_s = limits[:, 0], limits[:, 1]
        self.dispatched = self.received + 600
        self.return_asked = self.dispatched + rng.uniform(0.1, 0.5, n) * self.response_s
        self.return_decided = self.return_asked + rng.uniform(0.05, 0.4, n) * self.response_s
        self.start = np.where(self.approved, self.return_decided, self.dispatched)
        on_time = rng.random(n) < 0.97
        self.responded = self.start + self.response_s * np.where(
            on_time, rng.uniform(0.05, 0.95, n), rng.uniform(1.01, 2.0, n))
        on_time = rng.random(n) < 0.93
        self.completed = self.start + self.completion_s * np.where(
            on_time, rng.uniform(0.1, 0.98, n), rng.uniform(1.01, 1.8, n))

    def _flags(self) -> None:
        rng, n = self.rng, self.n
        self.linked = rng.random(n) < 0.02
        self.linked[:50] = False  # masters are up to 50 cases earlier in the same chunk
        self.master = np.arange(n) - rng.integers(1, 51, n)
        self.linked_at = self.received + rng.uniform(0.5, 24, n) * HOUR
        self.exempted = ~self.linked & (rng.random(n) < 0.015)
        self.exempted_at = self.received + rng.uniform(1, 5, n) * 86400
        rated = np.where(self.linked, rng.random(n) < 0.5, rng.random(n) < 0.88)
        rehandled = rated & (rng.random(n) < 0.07)
        self.n_ratings = rated.astype(int) + rehandled + (rehandled & (rng.random(n) < 0.15))
        self.final_satisfaction = rng.choice(3, n, p=[0.78, 0.12, 0.10])
        self.final_resolved = rng.random(n) < np.array([0.97, 0.85, 0.35])[
            self.final_satisfaction]
        gap = rng.uniform(2, 72, n) * HOUR
        self.rating_times = [self.completed + gap]
        for _ in range(2):
            self.rating_times.append(self.rating_times[-1] + rng.uniform(2, 10, n) * 86400)
        last = np.choose(np.maximum(self.n_ratings - 1, 0), self.rating_times)
        self.closed = np.where(self.n_ratings > 0, last, self.completed + 3 * 86400)

    def case_rows(self):  # noqa: ANN201 - an iterator of tuples for COPY
        org, rng, n = self.org, self.rng, self.n
        lo, hi = org.grid_box[self.grid, :2], org.grid_box[self.grid, 2:]
        points = lo + 1e-6 + rng.random((n, 2)) * (hi - lo - 2e-6)
        lon, lat = np.round(points[:, 0], 7).tolist(), np.round(points[:, 1], 7).tolist()
        rated = self.n_ratings > 0
        phone = (13_800_000_000 + rng.integers(0, 300_000, n)).astype(str).tolist()
        satisfaction = np.where(rated, SATISFACTION[self.final_satisfaction], None).tolist()
        resolved = np.where(rated, self.final_resolved, None).tolist()
        master = [self.ids[m] if link else None
                  for m, link in zip(self.master, self.linked, strict=True)]
        columns = (
            self.ids, self.numbers,
            rng.choice(["city_direct", "district_forward", "internet", "patrol", "department"],
                       n, p=[0.55, 0.20, 0.10, 0.12, 0.03]).tolist(),
            rng.choice(["complaint", "report", "help", "consultation", "suggestion", "praise"],
                       n, p=[0.45, 0.20, 0.20, 0.10, 0.04, 0.01]).tolist(),
            org.categories[self.category].tolist(),
            [f"评测诉求 {k}" for k in self.numbers], ["bench/evaluation_bench.py"] * n,
            ["normal"] * n, ["closed"] * n, lon, lat,
            [f"SRID=4326;POINT({x} {y})" for x, y in zip(lon, lat, strict=True)],
            ["wgs84"] * n, lon, lat,
            [org.grid_ids[g] for g in self.grid], [org.grid_codes[g] for g in self.grid],
            ["inside"] * n, [0.0] * n, [org.township_ids[t] for t in self.township],
            [str(org.district.id)] * n, ["张先生"] * n, phone, [False] * n, ["[]"] * n,
            self.final_lead.tolist(), [True] * n, [False] * n,
            _ts(self.received), _ts(self.dispatched), [str(org.centre.id)] * n,
            _ts(self.start + self.response_s), _ts(self.start + self.completion_s),
            _ts(self.responded), _ts(self.completed), _ts(self.closed), ["已办理"] * n,
            resolved, satisfaction, np.maximum(self.n_ratings - 1, 0).tolist(),
            np.where(self.exempted, "approved", None).tolist(),
            _ts(self.exempted_at, self.exempted), master, _ts(self.linked_at, self.linked),
            [6] * n, [1] * n, _ts(self.closed),
        )
        return zip(*columns, strict=True)

    def deadline_rows(self):  # noqa: ANN201
        """Response and completion per case for the final lead; a cancelled pair before it
        for the unit that returned the case."""
        org, n = self.org, self.n
        for kind, limit, met in (("response", self.response_s, self.responded),
                                 ("completion", self.completion_s, self.completed)):
            due = self.start + limit
            status = np.where(met <= due, "met", "missed").tolist()
            yield from zip(
                _uuids(n), ["case"] * n, self.ids, [kind] * n, self.numbers,
                self.final_lead.tolist(), [str(org.centre.id)] * n, _ts(self.start), _ts(due),
                _ts(due), [1] * n, ["[0.5, 0.8]"] * n, [0] * n, ["elapsed"] * n, status,
                _ts(met), _ts(met), _ts(self.start), strict=True)
            cancelled = np.flatnonzero(self.approved)
            k = len(cancelled)
            yield from zip(
                _uuids(k), ["case"] * k, [self.ids[c] for c in cancelled], [kind] * k,
                [self.numbers[c] for c in cancelled], self.first_lead[cancelled].tolist(),
                [str(org.centre.id)] * k, _ts(self.dispatched[cancelled]),
                _ts(self.dispatched[cancelled] + limit[cancelled]),
                _ts(self.dispatched[cancelled] + limit[cancelled]), [1] * k,
                ["[0.5, 0.8]"] * k, [0] * k, ["elapsed"] * k, ["cancelled"] * k, [None] * k,
                _ts(self.return_decided[cancelled]), _ts(self.dispatched[cancelled]),
                strict=True)

    def return_rows(self):  # noqa: ANN201
        asked = np.flatnonzero(self.returned)
        k = len(asked)
        approved = self.approved[asked].tolist()
        return zip(
            _uuids(k), [self.ids[c] for c in asked], self.first_lead[asked].tolist(),
            ["不属于本单位职责"] * k, _ts(self.return_asked[asked]),
            _ts(self.return_decided[asked]), approved,
            [bool(f) if a else None for f, a in zip(self.with_fault[asked], approved, strict=True)],
            strict=True)

    def rating_rows(self):  # noqa: ANN201
        rng, org = self.rng, self.org
        for seq in (1, 2, 3):
            cases = np.flatnonzero(self.n_ratings >= seq)
            k = len(cases)
            final = self.n_ratings[cases] == seq
            satisfaction = np.where(final, SATISFACTION[self.final_satisfaction[cases]],
                                    "dissatisfied")
            resolved = np.where(final, self.final_resolved[cases], rng.random(k) < 0.2)
            recorded = self.rating_times[seq - 1][cases]
            platform = rng.random(k) < 0.75
            rated = recorded - np.where(platform, rng.uniform(0, 2, k) * HOUR, 0)
            yield from zip(
                _uuids(k), [self.ids[c] for c in cases], [seq] * k, _ts(recorded), _ts(rated),
                self.final_lead[cases].tolist(), resolved.tolist(), satisfaction.tolist(),
                (resolved & (satisfaction == "satisfied")).tolist(),
                np.where(platform, "city_platform", "supervisor").tolist(),
                np.where(platform, None, str(org.centre.id)).tolist(),
                np.where(platform, "12345", "区分中心回访").tolist(),
                np.where(platform, rng.choice(["phone", "sms", "app"], k, p=[0.8, 0.15, 0.05]),
                         "phone").tolist(),
                [seq - 1] * k, strict=True)


LOADED_TABLES = ("cases", "deadlines", "case_returns", "case_ratings")


def load_facts(url: str, total: int, seed: int = 2026) -> None:
    """COPY ``total`` cases and their facts in chunks, secondary indexes built afterwards."""
    import psycopg

    engine = sa.create_engine(url)
    with Session(engine) as session:
        org = Org(session)
    engine.dispose()
    rng = np.random.default_rng(seed)
    grid_p = rng.gamma(2.0, size=len(org.grid_ids))
    grid_p /= grid_p.sum()
    start = time.perf_counter()
    counts = dict.fromkeys(LOADED_TABLES, 0)
    dsn = psycopg_dsn(url)
    with psycopg.connect(dsn) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint)", [list(LOADED_TABLES)]).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        # The usual bulk-load shortcut: every reference comes from rows just read or written.
        conn.execute("SET session_replication_role = replica")
        for first in range(0, total, CHUNK):
            chunk = Chunk(rng, org, grid_p, first, min(CHUNK, total - first), total)
            for table, columns, rows in (
                    ("cases", CASE_COLUMNS, chunk.case_rows()),
                    ("deadlines", DEADLINE_COLUMNS, chunk.deadline_rows()),
                    ("case_returns", RETURN_COLUMNS, chunk.return_rows()),
                    ("case_ratings", RATING_COLUMNS, chunk.rating_rows())):
                counts[table] += _copy(conn, table, columns, rows)
            print(f"  {first + chunk.n:>9,} cases  {time.perf_counter() - start:5.0f} s",
                  flush=True)
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("SET session_replication_role = origin")
        conn.commit()
    loaded = time.perf_counter() - start
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"loaded in {loaded:.0f} s (+ VACUUM ANALYZE {time.perf_counter() - start - loaded:.0f}"
          " s): " + ", ".join(f"{counts[t]:,} {t}" for t in LOADED_TABLES))


def _copy(conn, table: str, columns: tuple[str, ...], rows) -> int:  # noqa: ANN001
    n = 0
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def describe(url: str, month_label: str) -> None:
    """The month's facts as the evaluation sees them: proportions to judge the figures by."""
    from server.reports.periods import parse

    period = parse("month", month_label)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM cases WHERE received_at >= :s AND received_at < :e),"
            " count(*), count(DISTINCT case_id), count(*) FILTER (WHERE seq > 1),"
            " (SELECT count(*) FROM deadlines WHERE kind = 'response' AND due_at >= :s"
            "  AND due_at < :e) FROM case_ratings WHERE recorded_at >= :s AND recorded_at < :e"),
            {"s": period.start_utc, "e": period.end_utc}).one()
    engine.dispose()
    received, ratings, rated_cases, later, responses = row
    print(f"{month_label}: {received:,} cases received, {ratings:,} ratings recorded "
          f"({rated_cases:,} cases, {later:,} re-handling callbacks), {responses:,} response "
          "deadlines due")


# --- timings ---------------------------------------------------------------------------------

def _subjects(district_id: uuid.UUID):  # noqa: ANN202 - (label, callable(session, period))
    """The three functions the issue times; those not written yet are reported missing."""
    subjects = []
    try:
        from server.reports import scores

        subjects += [
            ("township ranking (三率)", lambda s, p: scores.ranking(
                s, district_id=district_id, kind="township", period=p)),
            ("department ranking", lambda s, p: scores.ranking(
                s, district_id=district_id, kind="department", period=p)),
        ]
    except ImportError as exc:
        print(f"  server.reports.scores is missing ({exc}): rankings not timed")
    try:
        from server.reports import hotspots

        subjects.append(("category x grid hotspots", lambda s, p: hotspots.category_grid_counts(
            s, area_unit_id=district_id, period=p, by="grid")))
    except ImportError as exc:
        print(f"  server.reports.hotspots is missing ({exc}): hotspots not timed")
    from server.org.models import Unit
    from server.reports.choropleth import grid_counts_geojson

    subjects.append(("grid-count map (GeoJSON)", lambda s, p: grid_counts_geojson(
        s, area=s.get(Unit, district_id), period=p)))
    return subjects


def _baseline(session: Session, period) -> int:  # noqa: ANN001
    return session.execute(sa.text(
        "SELECT count(*) FROM case_ratings WHERE recorded_at >= :s AND recorded_at < :e"),
        {"s": period.start_utc, "e": period.end_utc}).scalar_one()


def _time(engine: sa.Engine, call, period, runs: int) -> list[float]:  # noqa: ANN001
    """Each run in a fresh session and transaction; one warm-up run first (plans, buffers)."""
    times = []
    for _ in range(runs + 1):
        with Session(engine) as session:
            start = time.perf_counter()
            call(session, period)
            times.append(time.perf_counter() - start)
            session.rollback()
    return times[1:]


def bench(url: str, month_label: str, runs: int, explain: bool) -> None:
    from server.org.models import Unit
    from server.reports.periods import parse

    period = parse("month", month_label)
    engine = sa.create_engine(url)
    with Session(engine) as session:
        district_id = session.scalar(sa.select(Unit.id).where(Unit.code == DISTRICT))
    base = _time(engine, _baseline, period, runs)
    base_median = statistics.median(base)
    print(f"{month_label}, {runs} runs each (ms; ratio = median / baseline median; target 1 s)")
    print(f"  {'':28} {'min':>8} {'median':>8} {'max':>8} {'ratio':>7}")
    _line("baseline: count(*) ratings", base, base_median)
    for label, call in _subjects(district_id):
        times = _time(engine, call, period, runs)
        _line(label, times, base_median)
        if explain:
            _explain(engine, call, period)
    engine.dispose()


def _line(label: str, times: list[float], base_median: float) -> None:
    median = statistics.median(times)
    flag = "" if max(times) <= 1.0 else "  MISSES 1 s"
    print(f"  {label:28} {min(times) * 1000:8.1f} {median * 1000:8.1f} {max(times) * 1000:8.1f}"
          f" {median / base_median:6.1f}x{flag}", flush=True)


def _explain(engine: sa.Engine, call, period) -> None:  # noqa: ANN001
    """EXPLAIN ANALYZE of every statement one call runs, with its parameters."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            call(session, period)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as conn:
        for statement, parameters in seen:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print("    " + " ".join(statement.split())[:300])
            for (line,) in plan:
                print("      " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--month", default="2026-11")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="time the existing database")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    print(machine_line())
    url = postgis_url("gridops_bench_eval")
    if not args.reuse:
        start = time.perf_counter()
        prepare_database(url)
        print(f"district, 600 grids and the catalogue in {time.perf_counter() - start:.0f} s")
        load_facts(url, args.cases)
    else:
        upgrade_schema(url)
    describe(url, args.month)
    bench(url, args.month, args.runs, args.explain)


if __name__ == "__main__":
    main()
