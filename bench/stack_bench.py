"""What the per-request stack costs on ``POST /api/v1/assign``, in-process (no HTTP server).

Flask's test client sends the same single-point request ``--requests`` times, after a warm-up,
to our app (a bearer token, strict query parsing, the transaction boundary, the limiter, the
response schema) and to a bare Flask JSON endpoint in the same run; it prints ms per request
for both and their ratio. The time is this process's CPU time (``time.process_time``), which
the other processes of a shared machine disturb far less than the wall clock; a request that
reaches the database (none does here in the steady state: the token and the grid index are
cached) would count only its client side. The grids (``--basic`` + ``--special``, the
Voronoi tiling of ``assign_bench.py``) live on SQLite (default) or, with ``--postgis``, in a
fresh PostGIS database at BENCH_DATABASE_URL (default: the local server, database
gridops_bench_stack). ``--profile`` prints where our requests spend their time (cProfile,
cumulative).

Run: ``.venv/bin/python bench/stack_bench.py`` (``--postgis``, ``--requests 2000``).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

from _support import fresh_database, machine_line, postgis_url, upgrade_schema


def _per_request_ms(client, path: str, body: dict, headers: dict, n: int) -> float:  # noqa: ANN001
    for _ in range(min(200, n)):  # warm-up: the index, the token cache, imports
        assert client.post(path, json=body, headers=headers).status_code == 200
    start = time.process_time()
    for _ in range(n):
        client.post(path, json=body, headers=headers)
    return (time.process_time() - start) * 1000 / n


def _bare_app():  # noqa: ANN202
    from flask import Flask, request

    app = Flask("bare")

    @app.post("/bare")
    def bare() -> dict:
        body = request.get_json()
        return {"lon": body["lon"], "lat": body["lat"], "ok": True}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--basic", type=int, default=200)
    parser.add_argument("--special", type=int, default=20)
    parser.add_argument("--postgis", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs of each")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="the profile's order (tottime, …)")
    args = parser.parse_args()
    print(machine_line())

    with tempfile.TemporaryDirectory() as tmp:
        if args.postgis:
            url = postgis_url("gridops_bench_stack")
            if not fresh_database(url):
                return
        else:
            url = f"sqlite:///{Path(tmp, 'stack.sqlite3')}"
            upgrade_schema(url)
        os.environ["DATABASE_URL"] = url  # read by config at its import, below
        from assign_bench import _bench_token, build_grids, load_grids

        load_grids(url, build_grids(args.basic, args.special))
        token = _bench_token(url)

        from server.app import create_app

        ours = create_app().test_client()
        bare = _bare_app().test_client()
        point = {"lon": 116.4, "lat": 39.9, "crs": "wgs84"}
        auth = {"Authorization": f"Bearer {token}"}
        bare_ms = ours_ms = float("inf")
        for _ in range(args.runs):  # alternate, so a load spike hits both alike
            bare_ms = min(bare_ms, _per_request_ms(bare, "/bare", point, {}, args.requests))
            ours_ms = min(ours_ms, _per_request_ms(ours, "/api/v1/assign", point, auth,
                                                   args.requests))
        backend = "PostGIS" if args.postgis else "SQLite"
        print(f"{args.requests} requests in-process (Flask test client), best of {args.runs}, "
              f"{args.basic} + {args.special} grids on {backend}:")
        print(f"  bare Flask JSON endpoint : {bare_ms:6.3f} ms CPU per request")
        print(f"  POST /api/v1/assign      : {ours_ms:6.3f} ms CPU per request  "
              f"ratio {bare_ms / ours_ms:.2f} of the bare endpoint")
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(_per_request_ms, ours, "/api/v1/assign", point, auth,
                            args.requests)
            pstats.Stats(profile).sort_stats(args.sort).print_stats(45)
    print(machine_line())


if __name__ == "__main__":
    main()
