"""The registry of synced tables: what a phone downloads, and which rows' changes are recorded.

A module that wants a table on the phones registers it once, at import time::

    from sync.tables import SyncContext, SyncedTable, Tier, register

    def _my_rejected(session: Session, ctx: SyncContext) -> sa.Select:
        # Columns, in this order: the row's id, its tier, and the id of the record it hangs
        # off (its parent, see ``parent``) or NULL.
        return sa.select(SyncOperation.id, sa.literal(int(Tier.URGENT)),
                         sa.null().cast(sa.Uuid)).where(
            SyncOperation.user_id == ctx.actor.user_id,
            SyncOperation.device_id == ctx.device_id,
            SyncOperation.status == "rejected",
        )

    def _records(session: Session, ctx: SyncContext, ids: Sequence[uuid.UUID]) -> list[dict]:
        rows = session.scalars(sa.select(SyncOperation).where(SyncOperation.id.in_(ids)))
        return [{"id": str(r.id), "name": r.name, ...} for r in rows]

    register(SyncedTable(name="rejected_operations", model=SyncOperation,
                         scope=_my_rejected, records=_records, rank=90))

Contract of a ``SyncedTable``:

- ``name``: the table's name on the wire (``changes[name] = {created, updated, deleted}``).
- ``model``: an ORM class with a UUID primary key ``id``. Every insert, update and delete of
  its rows made through an ORM session is written to the change feed (``sync.feed``) in the
  same transaction; nothing else is needed. ORM bulk statements
  (``session.execute(sa.update(Model)...)``) are captured too, at the price of one SELECT
  of the matching ids before the statement; Core statements on a bare ``Connection`` and
  raw SQL are not.
- ``scope(session, ctx)``: a ``Select`` of the rows this device should hold now, with three
  columns: id, tier (``Tier``: what a first sync sends first), parent id (or NULL). The
  pull adds ``.where(model.id.in_(...))`` to it, so select from ``model`` (joins are fine).
  It may read (e.g. the actor's scope) but must not write.
- ``records(session, ctx, ids)``: the wire records for those ids (rows that vanished are
  left out): dicts with a string ``"id"``, snake_case keys, ISO 8601 UTC times, residents'
  personal data masked for ``ctx.actor``. It writes nothing synced (an access-log row for
  personal data shown unmasked is fine).
- ``rank``: order of tables inside a tier in the first sync (smaller first).
- ``parent``: the wire name of the table whose records these hang off (a case's events
  hang off the case): when a parent leaves the device's scope its children are sent as
  deleted with it, and when it enters they are sent whole with it.
- ``read_only``: the phone never edits these rows (all server-owned tables today); the
  WatermelonDB adapter uses it to refuse pushed edits.
- ``scope_trigger``: a change to any row may change what other tables' scopes hold (the
  unit tree): every device then reconciles its whole scope on its next pull.
- ``feeds(row)``: whether an insert or update of this row can matter to a phone (None:
  every change does). A row that no device can hold in its current state need not be in
  the feed: the ledger of pushed operations reaches phones only when rejected, so its rows
  enter the feed only then (a push writes one ledger row per operation, twice).
- ``group(session, ctx)``: for reference data, the parameters the scope depends on, as a
  string (``"all"``, ``"townships:<ids>"``): devices with the same string hold the same
  rows, which are then kept once per scope group instead of once per device
  (``sync.held``). It only decides how much is shared, never what is sent (a device
  always holds exactly what it was sent), so a string too fine costs rows, not answers.
  A table with a ``parent`` is held per device.

``watch(model, name=..., user_key="user_id")`` registers a model that is not sent to phones
but whose changes change what a user's devices should hold (grid membership, roles): after a
change, the devices of the user named by that attribute (every device if ``user_key`` is
None) reconcile their whole scope on their next pull.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from sync.protocol import Tier

__all__ = [
    "SyncContext",
    "SyncedTable",
    "Tier",
    "feeds",
    "register",
    "registered",
    "synced",
    "table_named",
    "watch",
    "watched",
    "watched_names",
]


@dataclass(frozen=True)
class SyncContext:
    """Who is pulling, on which device, at what server time, with which settings."""

    actor: Actor
    device_id: uuid.UUID
    now: datetime
    # Closed cases and notifications older than this many days leave the phone.
    history_days: float = 7.0
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncedTable:
    name: str
    model: type
    scope: Callable[[Session, SyncContext], sa.Select]
    records: Callable[[Session, SyncContext, Sequence[uuid.UUID]], list[dict]]
    rank: int = 50
    parent: str | None = None
    read_only: bool = True
    scope_trigger: bool = False
    feeds: Callable[[Any], bool] | None = None
    group: Callable[[Session, SyncContext], str] | None = None


@dataclass(frozen=True)
class Watched:
    name: str
    user_key: str | None


_TABLES: dict[str, SyncedTable] = {}
_BY_MODEL: dict[type, str] = {}
_WATCHED: dict[type, Watched] = {}


def register(table: SyncedTable) -> SyncedTable:
    """Add a table to what phones download; registering the same definition twice is a no-op."""
    known = _TABLES.get(table.name)
    if known is not None and known != table:
        raise ValueError(f"synced table {table.name!r} is already registered differently")
    if table.parent is not None and table.group is not None:
        raise ValueError(f"{table.name!r} hangs off {table.parent!r}: it is held per device")
    if table.parent is not None and table.parent not in _TABLES:
        raise ValueError(f"register parent {table.parent!r} before its child {table.name!r}")
    _TABLES[table.name] = table
    _BY_MODEL[table.model] = table.name
    return table


def watch(model: type, *, name: str, user_key: str | None) -> None:
    """Record changes of ``model`` as scope changes (see the module docstring)."""
    _WATCHED[model] = Watched(name, user_key)


def registered() -> tuple[SyncedTable, ...]:
    """Every synced table, parents before their children (registration order)."""
    return tuple(_TABLES.values())


def table_named(name: str) -> SyncedTable | None:
    return _TABLES.get(name)


def feeds(model: type, row: Any) -> bool:
    """Whether this insert or update of a synced row goes to the change feed."""
    name = _BY_MODEL.get(model)
    check = _TABLES[name].feeds if name is not None else None
    return check is None or check(row)


def synced(model: type) -> str | None:
    """The wire name of ``model``'s table if its rows are synced, else None."""
    return _BY_MODEL.get(model)


def watched(model: type) -> Watched | None:
    """How a watched (scope-changing, not synced) model is recorded, else None."""
    return _WATCHED.get(model)


def watched_names() -> frozenset[str]:
    return frozenset(w.name for w in _WATCHED.values())
