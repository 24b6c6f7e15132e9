"""Time ``ranking()`` for one month over a year of cases (default 1,000,000) on PostgreSQL.

A quick check of the evaluation queries' plan, separate from the shared evaluation bench:
it fills a database of its own (bench/_support.py: BENCH_DATABASE_URL, default: the local
server, database gridops_bench_scores, made afresh with PostGIS and the schema at head) with
one district (20 townships with 10 communities each, 30 departments, 20 outposts) in plain
SQL (generate_series), then times the township and department rankings and one township's
drill-down page.

    .venv/bin/python bench/scores_ranking.py [--cases 1000000] [--reuse]

``--reuse`` keeps the database and the data of an earlier run.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from _support import fresh_database, machine_line, postgis_url
from sqlalchemy.orm import Session

from server.reports.periods import parse
from server.reports.scores import explain, ranking

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def build_units(conn: sa.Connection) -> uuid.UUID:
    district = uuid.uuid4()
    rows = [(district, "BD", "Bench district", "district", None, f"/{district.hex}/", None)]
    kinds = ["city_management", *(f"dept_{i}" for i in range(29))]
    for i, kind in enumerate(kinds):
        dep = uuid.uuid4()
        rows.append((dep, f"BD-DEP{i}", f"部门{i}", "department", district,
                     f"/{district.hex}/{dep.hex}/", kind))
    for t in range(20):
        town = uuid.uuid4()
        tpath = f"/{district.hex}/{town.hex}/"
        rows.append((town, f"BD-T{t}", f"街乡{t}", "township", district, tpath, None))
        for c in range(10):
            com = uuid.uuid4()
            rows.append((com, f"BD-T{t}-C{c}", f"社区{t}-{c}", "community", town,
                         f"{tpath}{com.hex}/", None))
        out = uuid.uuid4()
        rows.append((out, f"BD-T{t}-OUT", f"执法队{t}", "department", town,
                     f"{tpath}{out.hex}/", "city_management"))
    conn.execute(sa.text(
        "INSERT INTO units (id, code, name, kind, parent_id, path, department_kind, created_at) "
        "VALUES (:id, :code, :name, :kind, :parent, :path, :dk, :now)"),
        [{"id": r[0], "code": r[1], "name": r[2], "kind": r[3], "parent": r[4], "path": r[5],
          "dk": r[6], "now": NOW} for r in rows])
    return district


FILL = """
CREATE TEMP TABLE leads AS
  SELECT array_agg(id ORDER BY code) AS ids FROM units
  WHERE path LIKE :prefix AND kind IN ('township', 'community', 'department');
INSERT INTO cases (id, number, channel, appeal_type, title, description, urgency, status,
  confidential, attachments, returnable, needs_triage, received_at, rehandle_count,
  event_count, version, updated_at, lead_unit_id, exempted_at, linked_at)
SELECT md5('c' || g)::uuid, 'B' || g, 'internet', 'complaint', 't', 'd', 'normal', 'closed',
  false, '[]', true, false,
  timestamptz '2025-12-01 00:00+00' + (g * interval '31536 seconds') / (:n / 1000.0),
  (g % 10 = 0)::int, 3, 1, now(),
  leads.ids[1 + g % cardinality(leads.ids)],
  CASE WHEN g % 97 = 0 THEN timestamptz '2025-12-01 00:00+00'
       + (g * interval '31536 seconds') / (:n / 1000.0) + interval '5 days' END,
  CASE WHEN g % 89 = 0 THEN timestamptz '2025-12-01 00:00+00'
       + (g * interval '31536 seconds') / (:n / 1000.0) + interval '1 hour' END
FROM generate_series(1, :n) AS g, leads;
INSERT INTO deadlines (id, subject_type, subject_id, kind, label, unit_id, starts_at, due_at,
  original_due_at, generation, fractions, overdue_grace_s, calendar, status, met_at,
  closed_at, created_at)
SELECT gen_random_uuid(), 'case', c.id, k.kind, 'b', c.lead_unit_id, c.received_at,
  c.received_at + k.span, c.received_at + k.span, 1, '[0.5]', 0, 'elapsed',
  CASE WHEN hashtext(c.number) % 20 = 0 THEN 'missed' ELSE 'met' END,
  c.received_at + k.span * (CASE WHEN hashtext(c.number) % 20 = 0 THEN 1.5 ELSE 0.3 END),
  c.received_at + k.span * (CASE WHEN hashtext(c.number) % 20 = 0 THEN 1.5 ELSE 0.3 END),
  c.received_at
FROM cases c CROSS JOIN (VALUES ('response', interval '24 hours'),
                                ('completion', interval '7 days')) AS k(kind, span)
WHERE c.number LIKE 'B%';
INSERT INTO case_ratings (id, case_id, seq, recorded_at, rated_at, lead_unit_id, resolved,
  satisfaction, double_yes, source, rehandle_count)
SELECT gen_random_uuid(), c.id, s.seq, c.received_at + s.seq * interval '2 days',
  c.received_at + s.seq * interval '2 days', c.lead_unit_id, hashtext(c.number) % 17 <> 0,
  CASE WHEN s.seq = 1 AND c.rehandle_count > 0 THEN 'dissatisfied'
       WHEN hashtext(c.number) % 11 = 0 THEN 'basically_satisfied'
       WHEN hashtext(c.number) % 23 = 0 THEN 'dissatisfied' ELSE 'satisfied' END,
  false, 'supervisor', s.seq - 1
FROM cases c CROSS JOIN generate_series(1, 2) AS s(seq)
WHERE c.number LIKE 'B%' AND (s.seq = 1 OR c.rehandle_count > 0);
"""


def timed(label: str, fn) -> None:  # noqa: ANN001
    best = None
    for _ in range(3):
        started = time.perf_counter()
        fn()
        spent = time.perf_counter() - started
        best = spent if best is None else min(best, spent)
    print(f"{label}: best of 3 {best:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data already loaded")
    args = parser.parse_args()
    print(machine_line())
    url = postgis_url("gridops_bench_scores")
    if not args.reuse and not fresh_database(url):
        sys.exit(1)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        district = conn.scalar(sa.text("SELECT id FROM units WHERE code = 'BD'"))
        if district is None:
            started = time.perf_counter()
            district = build_units(conn)
            for statement in FILL.split(";\n"):
                if statement.strip():
                    conn.execute(sa.text(statement),
                                 {"prefix": f"/{district.hex}/%", "n": args.cases})
            print(f"loaded {args.cases} cases in {time.perf_counter() - started:.0f} s")
    # After a bulk load the visibility map is empty; VACUUM sets it so that the partial
    # indexes on exempted_at/linked_at answer from the index alone, as they do in a database
    # autovacuum looks after.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    month = parse("month", "2026-06")
    with Session(engine) as session:
        town = session.scalar(sa.text("SELECT id FROM units WHERE code = 'BD-T3'"))
        timed("township ranking 2026-06", lambda: ranking(
            session, district_id=district, kind="township", period=month))
        timed("department ranking 2026-06", lambda: ranking(
            session, district_id=district, kind="department", period=month))
        timed("drill-down page (township, resolution)", lambda: explain(
            session, unit_id=town, period=month, figure="resolution"))
        r = ranking(session, district_id=district, kind="township", period=month)
        print("top:", [(x.code, x.counts.rated, str(x.composite)) for x in r.rows[:3]])
    print(machine_line())


if __name__ == "__main__":
    main()
