"""numpy-built binary arrays read back by PostgreSQL exactly as sent (NULLs, microseconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import sqlalchemy as sa

from server.core import pg_arrays
from tests.conftest import _require_postgis


def test_float_and_time_arrays_round_trip_with_nulls_and_microseconds():
    url = sa.engine.make_url(_require_postgis()).set(drivername="postgresql")
    times = [datetime(2026, 11, 24, 1, 2, 3, 456789, tzinfo=UTC) + timedelta(seconds=i * 7.5)
             for i in range(5)]
    floats = [116.30000000000001, None, -0.0, 1e-300, None]
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        pg_arrays.register(conn.adapters)
        got_times, got_floats, empty = conn.execute(
            "SELECT %b::timestamptz[], %b::float8[], %b::float8[]",
            (pg_arrays.timestamptz_array(times), pg_arrays.float8_array(floats),
             pg_arrays.float8_array([])),
        ).fetchone()
    assert got_times == times
    assert got_floats == floats
    assert empty == []
