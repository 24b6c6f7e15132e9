"""What every bench script needs, written once: a fresh PostGIS database, gunicorn, load, the
machine's state.

A bench script imports it as ``from _support import ...`` (``bench/`` is the script's own
directory, so it is on ``sys.path`` when the script runs as ``python bench/x_bench.py``); the
project root is put on ``sys.path`` here, so scripts import ``server`` and ``geo`` after it.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_PASSWORD = "bench-pass-123"  # noqa: S105 - a throwaway database

# The two intake events (received, auto-dispatched) of bench cases loaded in bulk, for the
# cases numbered :low..:high (sync_bench.py's SB-…, held_records_bench.py's HB-…).
INTAKE_EVENTS_SQL = """
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


def postgis_url(database: str) -> str:
    """``BENCH_DATABASE_URL`` if set, else the local server's ``database``."""
    return os.environ.get("BENCH_DATABASE_URL",
                          f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}")


def fresh_database(url: str, *, upgrade: bool = True) -> bool:
    """Drop and create the database, with PostGIS and (``upgrade``) the schema at head.

    False, with the reason printed, when the PostgreSQL server cannot be reached: a bench on a
    machine without it says so and runs its in-memory parts only.
    """
    import sqlalchemy as sa

    made = sa.engine.make_url(url)
    try:
        admin = sa.create_engine(made.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {made.database} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {made.database}")
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it means "no PostGIS here"
        print(f"PostGIS not reachable: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        return False
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    engine.dispose()
    if upgrade:
        upgrade_schema(url)
    return True


def upgrade_schema(url: str) -> None:
    """``gridops db upgrade`` against ``url``, in a child process as an operator would run it."""
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-c", "from server.cli import main; main()", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True)


def psycopg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq DSN, for a bare psycopg baseline."""
    import sqlalchemy as sa

    return (sa.engine.make_url(url).set(drivername="postgresql")
            .render_as_string(hide_password=False))


@contextlib.contextmanager
def gunicorn(app_spec: str, port: int, *, workers: int, env: dict, cwd: Path = ROOT,
             extra: tuple[str, ...] = (), health: str = "/health",
             wait_s: float = 30.0) -> Iterator[str]:
    """A gunicorn on 127.0.0.1:``port`` until the block ends; yields its base URL.

    The server's stderr goes to a file, not a pipe nobody reads, so a chatty server never
    blocks; it is printed if the server does not come up or the block raises.
    """
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp, "gunicorn.log")
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(workers),
                 "-b", f"127.0.0.1:{port}", "--log-level", "warning", *extra, app_spec],
                cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    urllib.request.urlopen(base + health, timeout=1)  # noqa: S310 - loopback
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{app_spec} did not start: "
                                           f"{log.read_text()[-2000:]}") from None
                    time.sleep(0.1)
            yield base
        except BaseException:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            proc.wait()


@dataclass
class Load:
    """What a closed-loop load run measured: requests per second and each request's latency."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def line(self, label: str) -> str:
        return (f"{label:<40} {self.rate:9,.0f} req/s  p50 {self.percentile(50) * 1000:6.1f} ms"
                f"  p95 {self.percentile(95) * 1000:6.1f} ms  errors {self.errors}")


def closed_loop(url: str, body: Callable[[int, int], dict | None], *, headers: dict | None = None,
                seconds: float, threads: int = 8, method: str = "POST",
                expect: int = 200) -> Load:
    """``threads`` clients each send requests back to back for ``seconds``.

    ``body(thread, n)`` makes the n-th request's JSON body of a thread (None: no body). A
    response other than ``expect`` counts as an error, not an exception, so a run always
    reports.
    """
    headers = {"Content-Type": "application/json", **(headers or {})}
    deadline = time.perf_counter() + seconds

    def worker(thread: int) -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        n = 0
        while time.perf_counter() < deadline:
            payload = body(thread, n)
            data = None if payload is None else json.dumps(payload).encode()
            request = urllib.request.Request(url, data=data, method=method,  # noqa: S310
                                             headers=headers)
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    response.read()
                    ok = response.status == expect
            except urllib.error.HTTPError as exc:
                ok = exc.code == expect
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
            n += 1
        return latencies, errors

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(worker, range(threads)))
    load = Load(seconds=time.perf_counter() - start)
    for latencies, errors in results:
        load.latencies.extend(latencies)
        load.errors += errors
    return load


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def machine_line() -> str:
    """The machine's size and load, printed at the top of a bench's output (ratios on a loaded
    machine are still comparable; absolute figures are not)."""
    one, five, _ = os.getloadavg()
    return f"machine: {os.cpu_count()} CPUs, load average {one:.2f} (1 min) {five:.2f} (5 min)"


def load_demo(url: str, *, password: str = BENCH_PASSWORD) -> None:
    """The demo district (server/demo.py) in the database at ``url``, every user's password
    ``password``; cheap password hashes, as a bench needs no real ones."""
    from datetime import UTC, datetime

    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from server.auth.passwords import Passwords
    from server.demo import load_demo_district

    engine = sa.create_engine(url)
    with Session(engine) as session:
        load_demo_district(session, Passwords(time_cost=1, memory_kib=64), password=password,
                           now=datetime.now(UTC))
        session.commit()
    engine.dispose()
