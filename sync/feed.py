"""The change feed: a row per change of a synced row, written by session events, and what
each device holds of it.

Positions. On PostgreSQL a change's position is the id of the transaction that wrote it
(``pg_current_xact_id()``), and a pull reads positions below ``pg_snapshot_xmin`` of its
snapshot: every transaction below that has finished, so a transaction that started earlier
and commits after the pull is still above the next pull's start and is never skipped. On
SQLite, which runs one writer at a time, the position is the feed's own sequence
(AUTOINCREMENT, so numbers are never reused after pruning).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from server.core.clock import now_utc
from server.core.db import Base, UTCDateTime
from sync import tables

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: a rowid alias


class SyncChange(Base):
    """One insert, update or delete of a synced row (or of a watched, scope-changing one).

    ``row_id`` is the synced row's id; for a watched table it is the user whose scope the
    change touches, or NULL for everyone. Kept ``GRID_SYNC_TOMBSTONE_DAYS`` (see ``prune``).
    """

    __tablename__ = "sync_changes"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    txid: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)  # PostgreSQL only
    table_name: Mapped[str] = mapped_column(sa.String(40))
    row_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    deleted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = ({"sqlite_autoincrement": True},)


class DeviceSync(Base):
    """Where one device stands: its cursors, the page in flight, how fresh its data is."""

    __tablename__ = "sync_devices"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    cursor: Mapped[int | None] = mapped_column(sa.BigInteger)  # the last one the phone confirmed
    served_cursor: Mapped[int | None] = mapped_column(sa.BigInteger)  # sent, not yet confirmed
    # The batch being paged out lives in sync_pending, positions 0 .. batch_size - 1.
    batch_size: Mapped[int] = mapped_column(sa.Integer, default=0)
    acked_position: Mapped[int] = mapped_column(sa.Integer, default=0)
    served_position: Mapped[int] = mapped_column(sa.Integer, default=0)
    # What the phone holds (with the batch) reflects the feed up to here; see Window.
    watermark: Mapped[int | None] = mapped_column(sa.BigInteger)
    own_txid: Mapped[int | None] = mapped_column(sa.BigInteger)
    own_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stale: Mapped[bool] = mapped_column(sa.Boolean, default=False)  # needs pruned changes
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id", "device_id"], ["devices.user_id", "devices.id"],
                                name="fk_sync_devices_device"),
    )


class HeldRecord(Base):
    """A record a device holds (or will once the batch in flight is through)."""

    __tablename__ = "sync_device_records"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    row_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    # Kept so that children leave with their parent even after the parent row is gone.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)

    __table_args__ = (
        sa.Index("ix_sync_device_records_parent", "user_id", "device_id", "table_name",
                 "parent_id"),
    )


class ScopeGroup(Base):
    """The rows of one synced table that every device with the same scope holds (the
    catalogue for everyone, the units of a township for its grid workers…), kept once.

    ``key`` is a digest of the scope's parameters (``SyncedTable.group``); ``version`` grows
    by one each time the rows held change. See ``sync.held``.
    """

    __tablename__ = "sync_scope_groups"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    table_name: Mapped[str] = mapped_column(sa.String(40))
    key: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("table_name", "key"),)


class GroupRecord(Base):
    """A row a scope group holds from version ``since`` until before ``until`` (NULL: still)."""

    __tablename__ = "sync_scope_group_records"

    group_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("sync_scope_groups.id"),
                                                primary_key=True)
    row_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    since: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    until: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.Index("ix_sync_scope_group_records_until", "group_id", "until"),)


class DeviceGroup(Base):
    """A device holds, of one table, what its scope group held at ``version`` (plus any
    ``HeldRecord`` rows of that table: records made up on the phone, to be deleted)."""

    __tablename__ = "sync_device_groups"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("sync_scope_groups.id"),
                                                index=True)
    version: Mapped[int] = mapped_column(sa.BigInteger)


class PendingRecord(Base):
    """One record of the batch a device is being sent, in page order."""

    __tablename__ = "sync_pending"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    table_name: Mapped[str] = mapped_column(sa.String(40))
    row_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    kind: Mapped[str] = mapped_column(sa.String(10))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


# --- capture ---------------------------------------------------------------------------

def install_change_capture() -> None:
    """Record changes of registered models for every ORM session (app, CLI, jobs, tests)."""
    if not sa.event.contains(Session, "after_flush", _record_flush):
        sa.event.listen(Session, "after_flush", _record_flush)
        sa.event.listen(Session, "do_orm_execute", _record_bulk)


def _entry(obj: Any, deleted: bool) -> tuple[str, uuid.UUID | None, bool] | None:
    cls = type(obj)
    name = tables.synced(cls)
    if name is not None:
        if not deleted and not tables.feeds(cls, obj):
            return None
        return name, obj.id, deleted
    watched = tables.watched(cls)
    if watched is not None:
        return watched.name, getattr(obj, watched.user_key) if watched.user_key else None, False
    return None


def _record_flush(session: Session, _flush_context: Any) -> None:
    # after_flush still sees the flush's new/dirty/deleted sets and attribute history.
    entries = {e for o in session.new if (e := _entry(o, False))}
    entries |= {e for o in session.dirty
                if session.is_modified(o, include_collections=False) and (e := _entry(o, False))}
    entries |= {e for o in session.deleted if (e := _entry(o, True))}
    if entries:
        _write(session.connection(), entries)


def _record_bulk(state: ORMExecuteState) -> None:
    """An ORM bulk UPDATE/DELETE: find the rows it matches first, in the same transaction."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    cls = state.bind_mapper.class_
    name, watched = tables.synced(cls), tables.watched(cls)
    if name is None and watched is None:
        return
    if name is not None:
        key = cls.id
    else:
        name, key = watched.name, getattr(cls, watched.user_key) if watched.user_key else None
    where = state.statement.whereclause
    if key is None:
        keys: set[uuid.UUID | None] = {None}
    else:
        query = sa.select(key) if where is None else sa.select(key).where(where)
        keys = set(state.session.execute(query).scalars())
    if keys:
        deleted = state.is_delete and watched is None
        _write(state.session.connection(), {(name, k, deleted) for k in keys})


def _write(connection: sa.Connection, entries: set[tuple[str, uuid.UUID | None, bool]]) -> None:
    insert = sa.insert(SyncChange.__table__)
    if connection.dialect.name == "postgresql":
        insert = insert.values(txid=_current_txid())
    now = now_utc()
    connection.execute(insert, [{"table_name": n, "row_id": r, "deleted": d, "changed_at": now}
                                for n, r, d in sorted(entries, key=str)])


def _current_txid() -> sa.ColumnElement[int]:
    return sa.cast(sa.cast(sa.func.pg_current_xact_id(), sa.Text), sa.BigInteger)


# --- reading ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """The changes one pull reads: positions [start, end), and on PostgreSQL the pulling
    transaction's own changes with seq in (own_after, own_through]. Only a transaction that
    writes synced rows and then pulls has any (the tests, which run in one transaction); a
    pull that saw them remembers how far (``DeviceSync.own_seq``)."""

    start: int
    end: int
    own_txid: int | None = None
    own_after: int = -1
    own_through: int | None = None

    def clause(self, dialect: str) -> sa.ColumnElement[bool]:
        return _window_clause(dialect, self.start, self.end, self.own_txid, self.own_after,
                              self.own_through)


def _window_clause(dialect: str, start: Any, end: Any, own_txid: Any, own_after: Any,
                   own_through: Any) -> sa.ColumnElement[bool]:
    if dialect != "postgresql":
        return sa.and_(SyncChange.seq >= start, SyncChange.seq < end)
    ranged = sa.and_(SyncChange.txid >= start, SyncChange.txid < end)
    if own_txid is None or own_through is None:  # no xid yet, or it wrote no changes
        return ranged
    own = sa.and_(SyncChange.txid == own_txid, SyncChange.seq > own_after,
                  SyncChange.seq <= own_through)
    return sa.or_(ranged, own)


def _position(dialect: str) -> sa.Subquery:
    """The feed position now: ``end`` (first position a pull must not read yet), and on
    PostgreSQL this transaction's id and its own latest change."""
    if dialect == "postgresql":
        own = sa.cast(sa.cast(sa.func.pg_current_xact_id_if_assigned(), sa.Text), sa.BigInteger)
        end = sa.cast(sa.cast(sa.func.pg_snapshot_xmin(sa.func.pg_current_snapshot()), sa.Text),
                      sa.BigInteger)
        inner = sa.select(end.label("end"), own.label("own")).subquery("now_")
        through = (sa.select(sa.func.max(SyncChange.seq)).where(SyncChange.txid == inner.c.own)
                   .scalar_subquery())
        return sa.select(inner.c.end, inner.c.own, through.label("own_through")).subquery("pos")
    sequence = sa.table("sqlite_sequence", sa.column("seq"), sa.column("name"))
    issued = (sa.select(sequence.c.seq).where(sequence.c.name == "sync_changes")
              .scalar_subquery())
    return sa.select(
        (sa.func.coalesce(issued, 0) + 1).label("end"),
        sa.null().cast(sa.BigInteger).label("own"),
        sa.null().cast(sa.BigInteger).label("own_through"),
    ).subquery("pos")


@dataclass
class Probe:
    """One round trip at the start of a pull: the device's state, the feed position, and
    whether anything at all changed since the device's watermark."""

    device: DeviceSync | None
    end: int
    own_txid: int | None
    own_through: int | None
    changed: bool

    def window(self, device: DeviceSync) -> Window:
        own_after = device.own_seq if (device.own_txid == self.own_txid
                                       and device.own_seq is not None) else -1
        return Window(start=device.watermark if device.watermark is not None else -1,
                      end=self.end, own_txid=self.own_txid, own_after=own_after,
                      own_through=self.own_through)


def probe(session: Session, user_id: uuid.UUID, device_id: uuid.UUID) -> Probe:
    """The device's state, the feed position and "anything since its watermark?" in one
    statement: a pull with nothing new needs no other query."""
    dialect = session.get_bind().dialect.name
    pos = _position(dialect)
    seen_own = sa.func.coalesce(DeviceSync.own_seq, -1)
    own_after = sa.case((DeviceSync.own_txid == pos.c.own, seen_own), else_=-1)
    start = sa.func.coalesce(DeviceSync.watermark, -1)
    ranged = sa.exists().where(_window_clause(dialect, start, pos.c.end, None, None, None))
    changed: sa.ColumnElement[bool] = ranged
    if dialect == "postgresql":
        own = sa.exists().where(SyncChange.txid == pos.c.own, SyncChange.seq > own_after,
                                SyncChange.seq <= pos.c.own_through)
        changed = sa.or_(ranged, own)
    row = session.execute(
        sa.select(DeviceSync, pos.c.end, pos.c.own, pos.c.own_through, changed.label("changed"))
        .join(pos, sa.true())
        .where(DeviceSync.user_id == user_id, DeviceSync.device_id == device_id)
    ).one_or_none()
    if row is None:
        end, own, through = session.execute(
            sa.select(pos.c.end, pos.c.own, pos.c.own_through)).one()
        return Probe(None, end, own, through, changed=True)
    device, end, own, through, has_changes = row
    return Probe(device, end, own, through, bool(has_changes))


def prune(session: Session, *, now: datetime, keep_days: float) -> int:
    """Drop changes older than ``keep_days``; devices that still needed them must start over
    (their held records go too). Returns the number of changes removed."""
    dialect = session.get_bind().dialect.name
    position = SyncChange.txid if dialect == "postgresql" else SyncChange.seq
    horizon = session.scalar(sa.select(sa.func.max(position)).where(
        SyncChange.changed_at < now - timedelta(days=keep_days)))
    if horizon is None:
        return 0
    removed = session.execute(sa.delete(SyncChange).where(position <= horizon)).rowcount
    session.execute(sa.update(DeviceSync).where(DeviceSync.watermark <= horizon)
                    .values(stale=True))
    for model in (HeldRecord, PendingRecord, DeviceGroup):
        session.execute(sa.delete(model).where(sa.exists().where(
            DeviceSync.user_id == model.user_id, DeviceSync.device_id == model.device_id,
            DeviceSync.stale.is_(True))))
    prune_groups(session)
    return removed


def prune_groups(session: Session) -> None:
    """Forget what no device needs any more: scope groups no device refers to, and rows that
    left a group before the oldest version a device of it holds."""
    oldest = (sa.select(sa.func.min(DeviceGroup.version))
              .where(DeviceGroup.group_id == GroupRecord.group_id).scalar_subquery())
    session.execute(sa.delete(GroupRecord).where(GroupRecord.until.is_not(None),
                                                 GroupRecord.until <= oldest))
    unused = sa.select(ScopeGroup.id).where(
        ~sa.exists().where(DeviceGroup.group_id == ScopeGroup.id))
    # Locked (and skipped if a pull has it): a pull that is about to refer to a group
    # takes a share lock on it first (sync.held), so a group is never removed under it.
    ids = list(session.scalars(unused.with_for_update(skip_locked=True)))
    if ids:
        still = ~sa.exists().where(DeviceGroup.group_id == ScopeGroup.id)
        session.execute(sa.delete(GroupRecord).where(
            GroupRecord.group_id.in_(ids), ~sa.exists().where(
                DeviceGroup.group_id == GroupRecord.group_id)))
        session.execute(sa.delete(ScopeGroup).where(ScopeGroup.id.in_(ids), still))
