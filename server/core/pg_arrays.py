"""PostgreSQL binary arrays built with numpy, for psycopg parameters (bulk inserts).

psycopg adapts a list element by element in Python (about 1 µs each); a batch of track
fixes is five arrays of hundreds, which took longer than the INSERT itself. Here the whole
array is one numpy buffer in PostgreSQL's binary array format.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.pq import Format

_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_FLOAT8_OID, _FLOAT8_ARRAY_OID = 701, 1022
_TIMESTAMPTZ_OID, _TIMESTAMPTZ_ARRAY_OID = 1184, 1185


class PgArray:
    """A one-dimensional array already in binary form, with its array type's oid."""

    __slots__ = ("oid", "payload")

    def __init__(self, oid: int, payload: bytes) -> None:
        self.oid, self.payload = oid, payload


def _array(values: np.ndarray, nulls: np.ndarray, element_oid: int, array_oid: int) -> PgArray:
    n = len(values)
    header = np.array([1, int(nulls.any()), element_oid, n, 1], dtype=">i4").tobytes()
    records = np.empty(n, dtype=[("length", ">i4"), ("value", values.dtype.newbyteorder(">"))])
    records["length"] = np.where(nulls, -1, 8)
    records["value"] = values
    if not nulls.any():
        return PgArray(array_oid, header + records.tobytes())
    keep = np.ones((n, 12), dtype=bool)
    keep[nulls, 4:] = False  # a NULL element is its length (-1) alone
    return PgArray(array_oid, header + records.view(np.uint8).reshape(n, 12)[keep].tobytes())


def float8_array(values: Sequence[float | None]) -> PgArray:
    """``float8[]``; None becomes NULL."""
    nulls = np.fromiter((v is None for v in values), bool, len(values))
    data = np.fromiter((0.0 if v is None else v for v in values), np.float64, len(values))
    return _array(data, nulls, _FLOAT8_OID, _FLOAT8_ARRAY_OID)


def timestamptz_array(values: Sequence[datetime]) -> PgArray:
    """``timestamptz[]`` of aware datetimes, exact to the microsecond."""
    data = np.fromiter(((v - _PG_EPOCH) // _US for v in values), np.int64, len(values))
    return _array(data, np.zeros(len(values), bool), _TIMESTAMPTZ_OID, _TIMESTAMPTZ_ARRAY_OID)


class _PgArrayDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: PgArray) -> bytes:
        return obj.payload

    def get_key(self, obj: PgArray, format):  # noqa: ANN001, ANN201
        return (PgArray, obj.oid)

    def upgrade(self, obj: PgArray, format):  # noqa: ANN001, ANN201
        dumper = _PgArrayDumper(PgArray, self.connection)
        dumper.oid = obj.oid
        return dumper


def register(adapters: AdaptersMap) -> None:
    """Let ``adapters`` (a connection's or a cursor's) send :class:`PgArray` parameters."""
    adapters.register_dumper(PgArray, _PgArrayDumper)
