"""Times the insights reports on the database bench/evaluation_bench.py built (a 1,000,000-case
year in one district): hotspots, rising, clusters and unit statistics for November 2026.

Run after ``bench/evaluation_bench.py`` (which builds BENCH_DATABASE_URL, default
gridops_bench_eval): ``.venv/bin/python bench/insights_timings.py``; each call once to warm
up, then the median and max of three runs.
"""

from __future__ import annotations

import statistics
import time

import sqlalchemy as sa
from _support import machine_line, postgis_url
from sqlalchemy.orm import Session

from server.cases.models import Case
from server.org.models import Unit
from server.reports import hotspots, periods, unit_stats


def main() -> None:
    print(machine_line())
    engine = sa.create_engine(postgis_url("gridops_bench_eval"))
    p = periods.month(2026, 11)
    with Session(engine) as s:
        d = s.scalar(sa.select(Unit).where(Unit.kind == "district"))
        t = s.scalar(sa.select(Unit).where(Unit.kind == "township").order_by(Unit.code))
        top = s.scalar(sa.select(Case.category_code).group_by(Case.category_code)
                       .order_by(sa.func.count().desc()).limit(1))
        calls = [
            ("hotspots by grid, district",
             lambda: hotspots.category_grid_counts(s, area_unit_id=d.id, period=p)),
            ("hotspots by township, district", lambda: hotspots.category_grid_counts(
                s, area_unit_id=d.id, period=p, by="township")),
            ("rising, district", lambda: hotspots.rising(s, area_unit_id=d.id, period=p)),
            (f"clusters {top}, district", lambda: hotspots.clusters(
                s, area_unit_id=d.id, period=p, category_code=top)),
            ("unit_stats, township", lambda: unit_stats.unit_stats(s, unit_id=t.id, period=p)),
            ("unit_stats, district", lambda: unit_stats.unit_stats(s, unit_id=d.id, period=p)),
        ]
        for name, call in calls:
            call()
            times = []
            for _ in range(3):
                start = time.perf_counter()
                table = call()
                times.append((time.perf_counter() - start) * 1000)
            print(f"{name:34s} median {statistics.median(times):6.0f} ms, "
                  f"max {max(times):6.0f} ms, {len(table.rows)} rows")
    print(machine_line())


if __name__ == "__main__":
    main()
