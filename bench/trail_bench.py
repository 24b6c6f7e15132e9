"""What the trail of administrative changes costs, on PostGIS: writing it and reading it.

Builds a fresh database (BENCH_DATABASE_URL, default: the local server, database
gridops_bench_trail) with ``gridops db upgrade``, one district of 4 townships, then times,
each in a transaction rolled back afterwards, min / median over ``--runs``:

1. importing 438 basic + 118 special grids (Yicheng's numbers) through ``import_grids``;
2. importing a catalogue of ``--items`` items through ``import_catalogue``;

with the trail written, and with ``record_change`` replaced by a no-op (what the trail adds).
Then it fills ``admin_changes`` with ``--rows`` rows and times the auditor's reads: the first
page, one object's history by code, one actor's changes in a week, and the 100th page by cursor.

Run: ``.venv/bin/python bench/trail_bench.py`` (``--runs 5 --items 5000 --rows 200000``).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from _support import fresh_database, machine_line, postgis_url
from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
WEST, SOUTH, CELL = 116.30, 39.90, 0.004
HOOKED = ("server.grids.services", "server.catalogue.services")


def load_district(session: Session) -> None:
    from server.auth.passwords import Passwords
    from server.org.rules import Role, UnitKind
    from server.org.services import create_unit, create_user

    create_unit(session, code="BT", name="痕迹区", kind=UnitKind.DISTRICT, parent_code=None,
                now=NOW)
    for t in range(4):
        create_unit(session, code=f"BT{t}", name=f"第{t}街道", kind=UnitKind.TOWNSHIP,
                    parent_code="BT", now=NOW)
        create_unit(session, code=f"BT{t}-O", name=f"第{t}街道学校", kind=UnitKind.OWNER_UNIT,
                    parent_code=f"BT{t}", now=NOW)
    district = session.scalar(sa.text("SELECT id FROM units WHERE code = 'BT'"))
    for n in range(50):
        create_user(session, Passwords(), username=f"admin{n:02d}", password="bench-password-1",
                    display_name=f"管理员{n}", unit_id=district, roles=[Role.ADMIN], now=NOW)


def grid_features() -> list[dict]:
    """438 basic grids in 4 townships of 10 columns, and 118 special grids inside them."""
    features = []
    for n in range(438):
        township, col, row = n % 4, (n // 4) % 10, n // 40
        west, south = WEST + township * 0.05 + col * CELL, SOUTH + row * CELL
        features.append({"type": "Feature", "geometry": mapping(
            box(round(west, 6), round(south, 6), round(west + CELL, 6), round(south + CELL, 6))),
            "properties": {"code": f"BT{township}-B{n:03d}", "name": f"基础网格{n}",
                           "kind": "basic", "township": f"BT{township}"}})
    for n in range(118):
        township = n % 4
        west, south = WEST + township * 0.05 + (n // 4 % 10) * CELL, SOUTH + (n // 40) * CELL
        features.append({"type": "Feature", "geometry": mapping(
            box(round(west + 0.001, 6), round(south + 0.001, 6), round(west + 0.003, 6),
                round(south + 0.003, 6))),
            "properties": {"code": f"BT{township}-S{n:03d}", "name": f"专属网格{n}",
                           "kind": "special", "township": f"BT{township}",
                           "owner_unit": f"BT{township}-O"}})
    return features


def timed(engine: sa.Engine, work: Callable[[Session], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with engine.connect() as conn:
            outer = conn.begin()
            session = Session(bind=conn, join_transaction_mode="create_savepoint")
            start = time.perf_counter()
            work(session)
            session.flush()
            times.append(time.perf_counter() - start)
            session.close()
            outer.rollback()
    return times


def without_trail() -> Callable[[], None]:
    """Replace record_change by a no-op where the imports call it; returns the undo."""
    import importlib

    modules = [importlib.import_module(name) for name in HOOKED]
    saved = [m.record_change for m in modules]
    for m in modules:
        m.record_change = lambda *a, **k: None  # noqa: ARG005
    return lambda: [setattr(m, "record_change", s) for m, s in zip(modules, saved, strict=True)]


def fill_trail(engine: sa.Engine, rows: int) -> tuple[uuid.UUID, str]:
    """``rows`` changes by the 50 admins over 90 days; returns one admin and one object code."""
    from server.core.trail import AdminChange

    with Session(engine) as session:
        actors = list(session.execute(sa.text("SELECT id, username FROM users ORDER BY username")))
        values = [
            {"id": uuid.uuid4(), "at": NOW - timedelta(minutes=i * 90 * 24 * 60 // rows),
             "actor_user_id": actors[i % 50][0], "actor_username": actors[i % 50][1],
             "actor_roles": ["admin"],
             "action": "grid.replaced", "object_type": "grid", "object_id": uuid.uuid4(),
             "object_code": f"G{i % 5000:04d}", "before": {"name": "a"}, "after": {"name": "b"}}
            for i in range(rows)]
        session.execute(sa.insert(AdminChange), values)
        session.commit()
    return actors[0][0], "G0042"


def report(name: str, times: list[float]) -> None:
    print(f"{name:58s} min {min(times) * 1000:8.1f} ms  median "
          f"{statistics.median(times) * 1000:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    from geo.crs import CRS
    from server.audit.queries import ChangeFilters, list_changes
    from server.auth.actor import Actor
    from server.catalogue.formats import read_json_items
    from server.catalogue.services import import_catalogue
    from server.grids.services import import_grids
    from server.org.rules import Role

    print(machine_line())
    url = postgis_url("gridops_bench_trail")
    if not fresh_database(url):
        raise SystemExit("this bench needs PostGIS")
    engine = sa.create_engine(url)
    with Session(engine) as session:
        load_district(session)
        session.commit()
    doc = {"type": "FeatureCollection", "features": grid_features()}
    items = [{"code": f"{i // 100 + 10:02d}", "name": f"大类{i // 100}"} if i % 100 == 0 else
             {"code": f"{i // 100 + 10:02d}.{i % 100:02d}", "name": f"小类{i}",
              "lead": "territorial", "response_limit_hours": 2, "completion_limit_hours": 72}
             for i in range(args.items)]

    def grids(session: Session) -> object:
        return import_grids(session, doc, crs=CRS.WGS84, repair=False, replace_existing=False,
                            allowed_township_ids=None, now=NOW)

    def catalogue(session: Session) -> object:
        return import_catalogue(session, read_json_items(items), replace_all=False, now=NOW)

    for name, work in ((f"import {len(doc['features'])} grids", grids),
                       (f"import {len(items)} catalogue items", catalogue)):
        report(name + ", with the trail", timed(engine, work, args.runs))
        undo = without_trail()
        report(name + ", trail off", timed(engine, work, args.runs))
        undo()

    auditor = Actor(user_id=uuid.uuid4(), username="bench", unit_id=uuid.uuid4(), unit_path="/",
                    roles=frozenset({Role.AUDITOR}))
    actor_id, code = fill_trail(engine, args.rows)
    with Session(engine) as session:
        session.execute(sa.text("ANALYZE admin_changes"))

        def page_at(n: int) -> Callable[[Session], object]:
            def read(s: Session) -> object:
                cursor = None
                for _ in range(n):
                    cursor = list_changes(s, auditor, ChangeFilters(), cursor=cursor).next_cursor
                return cursor
            return read

        reads = {
            "first page of 50": lambda s: list_changes(s, auditor, ChangeFilters()),
            f"history of object_code {code}": lambda s: list_changes(
                s, auditor, ChangeFilters(object_code=code)),
            "one actor, one week": lambda s: list_changes(s, auditor, ChangeFilters(
                actor_user_id=actor_id, at_from=NOW - timedelta(days=7), at_to=NOW)),
            "100 pages by cursor (per page)": page_at(100),
        }
        print(f"reads over {args.rows} rows (50 actors, 5,000 object codes, 90 days):")
        for name, read in reads.items():
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                read(session)
                times.append(time.perf_counter() - start)
            if name.startswith("100 pages"):
                times = [t / 100 for t in times]
            report("  " + name, times)
    engine.dispose()


if __name__ == "__main__":
    main()
