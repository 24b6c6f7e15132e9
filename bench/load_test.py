"""The load test: a realistic mix of traffic (bench/load/locustfile.py) against gunicorn on
PostGIS, on this machine only, bounded in time.

Builds a fresh database (BENCH_DATABASE_URL, default: the local server, database
gridops_b_load) with the demo district and ``--cases`` more cases filed through the real
intake across 望京, half of them signed for (so the lists and the phones' scopes are not
toy-sized, and the phones have accepted cases to push work on), serves it with
gunicorn (``--workers``) on 127.0.0.1:``--port``, runs locust headless for ``--seconds`` with
``--users`` simulated users (dispatchers, grid workers' phones, department staff's phones),
and prints, per operation: requests, throughput, p50/p95/p99 and failures, each p50 also as
a ratio to the baseline measured in the same run (``GET /auth/me``, the cheapest signed-in
request); then the totals and the error count (target 0).

Run: ``.venv/bin/pip install -e '.[load]' && .venv/bin/python bench/load_test.py`` (about
90 s: 20 s to build, 60 s of load); ``--seconds 15 --cases 200`` for a quick run. The exit
code is 1 when any request failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from _support import (
    BENCH_PASSWORD,
    ROOT,
    fresh_database,
    gunicorn,
    machine_line,
    postgis_url,
)

LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
BASELINE = "baseline: GET /auth/me"
TITLES = ("楼道堆放杂物", "垃圾清运不及时", "共享单车乱停放", "商铺噪声扰民", "物业服务差")
CATEGORIES = ("01.02", "01.04", "01.05", "02.02", "04.01")


def load_demo(url: str) -> None:
    """``gridops demo`` against ``url``, as an operator would run it."""
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-c", "from server.cli import main; main()", "demo",
                    "--password", BENCH_PASSWORD], cwd=ROOT, env=env, check=True,
                   capture_output=True)


def seed_cases(url: str, n: int, rng: random.Random) -> None:
    """``n`` cases filed by 望京's dispatcher through the intake service, across its grids
    (auto-dispatched to the township by the demo catalogue); half of them signed for (签收),
    so the phones have cases to record work on."""
    os.environ["DATABASE_URL"] = url  # read by config, imported below
    import sqlalchemy as sa

    from geo.crs import CRS
    from server.app import create_app
    from server.auth.actor import Actor
    from server.cases import transitions
    from server.cases.rules import AppealType, Channel
    from server.cases.services import IntakeRequest, intake
    from server.extensions import db
    from server.grids.assignment import GridIndexCache
    from server.org.models import User

    app = create_app()
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "wj.dispatcher"))
        actor = Actor(user_id=user.id, username=user.username, unit_id=user.unit_id,
                      unit_path=user.unit.path, roles=user.roles)
        index = GridIndexCache()
        for k in range(n):
            pick = rng.randrange(len(TITLES))
            made = intake(db.session, actor, IntakeRequest(
                channel=Channel.CITY_DIRECT, appeal_type=AppealType.COMPLAINT,
                title=TITLES[pick], description=TITLES[pick], category_code=CATEGORIES[pick],
                lon=round(116.4 + rng.uniform(0.001, 0.059), 6),
                lat=round(39.98 + rng.uniform(0.001, 0.039), 6), crs=CRS.WGS84,
                resident_name="李女士", resident_phone=f"139{k:08d}"),
                grid_index=index, tolerance_m=50.0, now=datetime.now(UTC))
            case = made.case
            if k % 2 == 0 and case.lead_unit_id == user.unit.parent_id:
                transitions.accept(db.session, actor, case, version=case.version,
                                   now=datetime.now(UTC))
            if k % 100 == 99:
                db.session.commit()
        db.session.commit()
        db.engine.dispose()


def issue_tokens(url: str, per_user: int) -> dict[str, list[str]]:
    """``per_user`` tokens for each simulated account, as its sign-in would make them (a
    device of its own for the phones), written straight to the tables: the run measures
    the work, not a burst of argon2 sign-ins."""
    os.environ["DATABASE_URL"] = url
    import sqlalchemy as sa

    from server.app import create_app
    from server.auth.models import AuthToken, Device
    from server.auth.services import hash_token
    from server.core.ids import new_secret
    from server.extensions import db
    from server.org.models import User

    accounts = {"wj.dispatcher": False, "wj.worker1": True, "cgzf.staff": True}
    app = create_app()
    tokens: dict[str, list[str]] = {}
    now = datetime.now(UTC)
    with app.app_context():
        for username, phone in accounts.items():
            user = db.session.scalar(sa.select(User).where(User.username == username))
            lifetime = app.config["DEVICE_TOKEN_LIFETIME" if phone else "TOKEN_LIFETIME"]
            for _ in range(per_user):
                device_id = uuid.uuid4() if phone else None
                if device_id:
                    db.session.add(Device(user_id=user.id, id=device_id, name="load phone",
                                          registered_at=now, last_sign_in_at=now))
                raw = new_secret()
                db.session.add(AuthToken(token_hash=hash_token(raw), user_id=user.id,
                                         device_id=device_id, device_name="load phone",
                                         created_at=now, expires_at=now + lifetime,
                                         last_used_at=now))
                tokens.setdefault(username, []).append(raw)
        db.session.commit()
        db.engine.dispose()
    return tokens


def run_locust(base: str, *, users: int, spawn_rate: float, seconds: int,
               prefix: Path, tokens: Path) -> None:
    """Locust headless; its statistics restart once every user is up (``--reset-stats``), so
    the sign-ins and first syncs of the ramp-up are not counted in the mix."""
    log = Path(f"{prefix}_locust.log")
    with log.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
             "--host", base, "-u", str(users), "-r", str(spawn_rate),
             "--run-time", f"{seconds}s", "--reset-stats", "--stop-timeout", "10",
             "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env={**os.environ, "LOAD_PASSWORD": BENCH_PASSWORD,
                           "LOAD_TOKENS": str(tokens)},
            stdout=out, stderr=subprocess.STDOUT, check=False)
    if not Path(f"{prefix}_stats.csv").exists():
        print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise RuntimeError(f"locust exited {done.returncode} without statistics")


def report(prefix: Path) -> int:
    """Print the per-operation table; return the number of failed requests."""
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    named = {r["Name"]: r for r in rows if r["Name"] != "Aggregated"}
    total = next(r for r in rows if r["Name"] == "Aggregated")
    base = float(named[BASELINE]["50%"]) if BASELINE in named else float("nan")
    seconds = float(total["Request Count"]) / float(total["Requests/s"] or 1)
    print(f"measured over {seconds:.0f} s")
    print(f"{'operation':<52} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'fails':>5} {'p50/base':>8}")
    for name in sorted(named):
        r = named[name]
        print(f"{name:<52} {int(r['Request Count']):>8} {float(r['Requests/s']):>7.1f} "
              f"{float(r['50%']):>7.0f} {float(r['95%']):>7.0f} {float(r['99%']):>7.0f} "
              f"{int(r['Failure Count']):>5} {float(r['50%']) / base:>7.1f}x")
    failures = int(total["Failure Count"])
    print(f"{'all operations':<52} {int(total['Request Count']):>8} "
          f"{float(total['Requests/s']):>7.1f} {float(total['50%']):>7.0f} "
          f"{float(total['95%']):>7.0f} {float(total['99%']):>7.0f} {failures:>5}")
    print(f"errors: {failures} (target 0)")
    failures_file = Path(f"{prefix}_failures.csv")
    if failures and failures_file.exists():
        with failures_file.open(newline="", encoding="utf-8") as f:
            for r in list(csv.DictReader(f))[:5]:
                print(f"  {r['Occurrences']} x {r['Name']}: {r['Error'][:200]}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--spawn-rate", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--cases", type=int, default=1000, help="cases filed before the run")
    parser.add_argument("--port", type=int, default=19210)
    args = parser.parse_args()
    print(machine_line())
    url = postgis_url("gridops_b_load")
    if not fresh_database(url):
        return 2
    load_demo(url)
    seed_cases(url, args.cases, random.Random(14))
    tokens = issue_tokens(url, args.users)
    print(f"database: the demo district + {args.cases} cases; gunicorn {args.workers} "
          f"workers; locust {args.users} users for {args.seconds} s (loopback), counted "
          f"from the last user's start (about {args.users / args.spawn_rate:.0f} s in)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": url, "GRID_DATA_DIR": tmp,
               "GRID_PHOTO_DIR": str(Path(tmp, "photos"))}
        # A shared machine under load can take half a minute to boot four workers.
        with gunicorn("server.app:create_app()", args.port, workers=args.workers,
                      env=env, wait_s=180) as base:
            token_file = Path(tmp, "tokens.json")
            token_file.write_text(json.dumps(tokens), encoding="utf-8")
            run_locust(base, users=args.users, spawn_rate=args.spawn_rate,
                       seconds=args.seconds, prefix=Path(tmp, "load"), tokens=token_file)
        failures = report(Path(tmp, "load"))
    print(machine_line())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
