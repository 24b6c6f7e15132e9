"""What a device holds: per device for its own records, per scope group for reference data.

Most of what a phone holds is the same for every phone of a scope: the active catalogue
for everyone, the units of a township for its grid workers. A table that declares a
``group`` (``sync.tables.SyncedTable``) is therefore held once per *scope group* (the
devices whose scope parameters are equal): ``sync_scope_group_records`` keeps the group's
rows with the versions they entered and left it, and a device keeps only which group it
belongs to and the version it holds (``sync_device_groups``). Per-device rows
(``sync_device_records``) remain for the other tables (cases, their events, the inbox) and,
in a grouped table, for records the phone made up (``sync.watermelon`` heals them: they are
sent as deleted).

The pull computes every answer exactly as before, against the set a device holds; only how
that set is stored changed. After a batch, the set the device holds is *whatever it held,
less what was deleted, plus what was created*; if that is the group's current rows the
device moves to the group's version, and otherwise the group gets a new version with those
rows. So a device always holds exactly what it was sent, whatever its group's other devices
did: the group key decides how much is shared, never what is sent. Versions of a group never
change once written (a row leaving sets ``until``; it is not rewritten), so a device's
version stays readable while others move on, until housekeeping forgets versions no device
holds (``sync.feed.prune_groups``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.core.clock import now_utc
from sync.feed import DeviceGroup, DeviceSync, GroupRecord, HeldRecord, ScopeGroup
from sync.tables import SyncContext, SyncedTable

# A rows-in list is sent in chunks of this size (SQLite's and psycopg's parameter limits).
CHUNK = 1000


def group_key(parameters: str) -> str:
    """The stored key of a scope: a digest, so a district's many townships stay short."""
    return hashlib.sha256(parameters.encode()).hexdigest()


def _mine(model: type, user_id: uuid.UUID, device_id: uuid.UUID) -> list[sa.ColumnElement]:
    return [model.user_id == user_id, model.device_id == device_id]


def _members_at(group_id: object, version: object) -> list[sa.ColumnElement[bool]]:
    return [GroupRecord.group_id == group_id, GroupRecord.since <= version,
            sa.or_(GroupRecord.until.is_(None), GroupRecord.until > version)]


def ids(user_id: uuid.UUID, device_id: uuid.UUID, table: SyncedTable,
        among: sa.Select | Iterable[uuid.UUID] | None = None) -> sa.Select | sa.CompoundSelect:
    """The ids of ``table`` the device holds (only those ``among`` these, if given): one
    column, for ``session.scalars``."""
    own = sa.select(HeldRecord.row_id).where(*_mine(HeldRecord, user_id, device_id),
                                             HeldRecord.table_name == table.name)
    if among is not None:
        own = own.where(HeldRecord.row_id.in_(among))
    if table.group is None:
        return own
    shared = (sa.select(GroupRecord.row_id)
              .join(DeviceGroup, sa.and_(*_members_at(DeviceGroup.group_id, DeviceGroup.version)))
              .where(*_mine(DeviceGroup, user_id, device_id), DeviceGroup.table_name == table.name))
    if among is not None:
        shared = shared.where(GroupRecord.row_id.in_(among))
    return sa.union_all(own, shared)


def counts(session: Session, user_id: uuid.UUID, device_id: uuid.UUID) -> dict[str, int]:
    """Records held per table (the device's own rows and its groups' rows at its versions)."""
    held = dict(session.execute(
        sa.select(HeldRecord.table_name, sa.func.count())
        .where(*_mine(HeldRecord, user_id, device_id)).group_by(HeldRecord.table_name)).all())
    shared = session.execute(
        sa.select(DeviceGroup.table_name, sa.func.count())
        .join(GroupRecord, sa.and_(*_members_at(DeviceGroup.group_id, DeviceGroup.version)))
        .where(*_mine(DeviceGroup, user_id, device_id)).group_by(DeviceGroup.table_name))
    for table, n in shared:
        held[table] = held.get(table, 0) + n
    return held


def forget(session: Session, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
    """The device holds nothing (a first sync, a start over)."""
    for model in (HeldRecord, DeviceGroup):
        session.execute(sa.delete(model).where(*_mine(model, user_id, device_id)))


@dataclass(frozen=True)
class _Group:
    id: uuid.UUID
    version: int


def settle(session: Session, ctx: SyncContext, device: DeviceSync, table: SyncedTable, *,
           created: set[uuid.UUID], deleted: set[uuid.UUID], full: bool) -> None:
    """Hold a grouped table's batch as delivered: the device's group and version afterwards
    hold what it held, less ``deleted``, plus ``created`` (see the module docstring).

    Run before the batch's per-device rows are written (it reads the device's own rows of
    the table as they were). ``full``: the device's scope was recomputed, so its group may
    have changed (a worker moved to another township).
    """
    user_id, device_id = device.user_id, device.device_id
    ref = session.execute(sa.select(DeviceGroup.group_id, DeviceGroup.version).where(
        *_mine(DeviceGroup, user_id, device_id), DeviceGroup.table_name == table.name)).first()
    if ref is not None and not full and not created and not deleted:
        return
    own = set(session.scalars(sa.select(HeldRecord.row_id).where(
        *_mine(HeldRecord, user_id, device_id), HeldRecord.table_name == table.name)))
    if ref is None:
        # Held before groups existed (or never): its own rows are the set, moved to a group.
        old, gone = own, set(deleted)
        session.execute(sa.delete(HeldRecord).where(*_mine(HeldRecord, user_id, device_id),
                                                    HeldRecord.table_name == table.name))
    else:
        old, gone = None, deleted - own  # its own rows in ``deleted`` go with the batch
    key = group_key(table.group(session, ctx))
    for _ in range(3):  # a group removed by housekeeping meanwhile is made again
        group = _group(session, table.name, key)
        if ref is not None and ref.group_id == group.id:
            to_add, to_remove = _same_group_diff(session, group, ref.version, created, gone)
        else:
            if old is None:
                old = _members(session, ref.group_id, ref.version)
            wanted = (old - gone) | created
            current = _members(session, group.id, group.version)
            to_add, to_remove = wanted - current, current - wanted
        if to_add or to_remove:
            version = _write_version(session, group, to_add, to_remove)
        else:
            version = _share(session, group)
        if version is not None:
            break
    else:  # pragma: no cover - housekeeping would have to remove the group three times
        raise RuntimeError(f"scope group of {table.name} keeps disappearing")
    values = {"group_id": group.id, "version": version}
    done = session.execute(sa.update(DeviceGroup).where(
        *_mine(DeviceGroup, user_id, device_id), DeviceGroup.table_name == table.name)
        .values(**values)).rowcount
    if not done:
        session.execute(sa.insert(DeviceGroup).values(
            user_id=user_id, device_id=device_id, table_name=table.name, **values))


def _group(session: Session, table_name: str, key: str) -> _Group:
    """The group of ``key`` (made if new; two pulls making it at once make one)."""
    found = session.execute(sa.select(ScopeGroup.id, ScopeGroup.version).where(
        ScopeGroup.table_name == table_name, ScopeGroup.key == key)).first()
    if found is None:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(insert(ScopeGroup).values(
            id=uuid.uuid4(), table_name=table_name, key=key, version=0, created_at=now_utc())
            .on_conflict_do_nothing(index_elements=["table_name", "key"]))
        found = session.execute(sa.select(ScopeGroup.id, ScopeGroup.version).where(
            ScopeGroup.table_name == table_name, ScopeGroup.key == key)).one()
    return _Group(found.id, found.version)


def _members(session: Session, group_id: uuid.UUID, version: int) -> set[uuid.UUID]:
    return set(session.scalars(sa.select(GroupRecord.row_id)
                               .where(*_members_at(group_id, version))))


def _same_group_diff(session: Session, group: _Group, held_version: int,
                     created: set[uuid.UUID], gone: set[uuid.UUID],
                     ) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """What the group's current version lacks, and has too much, of the device's new set,
    from the rows that entered or left the group since the device's version (no full read).
    """
    touched = session.execute(sa.select(GroupRecord.row_id, GroupRecord.since, GroupRecord.until)
                              .where(GroupRecord.group_id == group.id, sa.or_(
                                  GroupRecord.since.between(held_version + 1, group.version),
                                  GroupRecord.until.between(held_version + 1, group.version))))
    then: set[uuid.UUID] = set()
    now: set[uuid.UUID] = set()
    rows: set[uuid.UUID] = set()
    for row_id, since, until in touched:
        rows.add(row_id)
        if since <= held_version and (until is None or until > held_version):
            then.add(row_id)
        if since <= group.version and (until is None or until > group.version):
            now.add(row_id)
    entered, left = now - then, (rows & then) - now
    return (created - entered) | (left - gone), (entered - created) | (gone - left)


def _lock(session: Session, group_id: uuid.UUID, *, write: bool) -> int | None:
    """Lock the group row (to write a version, or to refer to it); its version, or None if
    housekeeping removed it. Writers of one group take turns; neither lock keeps other
    devices from referring to the group, and both keep housekeeping from removing it."""
    query = sa.select(ScopeGroup.version).where(ScopeGroup.id == group_id)
    # PostgreSQL: FOR NO KEY UPDATE and FOR KEY SHARE (SQLite has one writer at a time).
    query = query.with_for_update(read=not write, key_share=True)
    return session.scalar(query)


def _share(session: Session, group: _Group) -> int | None:
    """Refer to the group's version ``group.version`` (versions never change once written)."""
    return None if _lock(session, group.id, write=False) is None else group.version


def _write_version(session: Session, group: _Group, to_add: set[uuid.UUID],
                   to_remove: set[uuid.UUID]) -> int | None:
    """A new version of the group: its current rows, ``to_add`` in and ``to_remove`` out.
    None if the group moved on or vanished meanwhile (the caller computes again)."""
    current = _lock(session, group.id, write=True)
    if current != group.version:
        return None
    version = current + 1
    removed = sorted(to_remove)
    for start in range(0, len(removed), CHUNK):
        session.execute(sa.update(GroupRecord).where(
            GroupRecord.group_id == group.id, GroupRecord.until.is_(None),
            GroupRecord.row_id.in_(removed[start:start + CHUNK])).values(until=version))
    if to_add:
        session.execute(sa.insert(GroupRecord), [
            {"group_id": group.id, "row_id": i, "since": version, "until": None}
            for i in sorted(to_add)])
    session.execute(sa.update(ScopeGroup).where(ScopeGroup.id == group.id)
                    .values(version=version))
    return version
