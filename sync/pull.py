"""The pull: what a device must receive since its cursor, computed once and sent in pages.

A pull with changes computes the device's *batch* (the records to create, update and
delete, most urgent first), records it in ``sync_pending``, updates what the device holds
as if the batch were delivered, and sends it page by page. Every later request either
confirms the last page (its cursor) and gets the next one, or repeats the cursor before it
(the answer was lost) and gets the same page again; nothing new is computed until the
batch is through, so a page can never be skipped. A pull with nothing to send reads one
row and writes nothing (or, once a minute, the time of the last pull).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.models import Device
from server.core.errors import PermissionDenied
from server.org.rules import Reach
from sync import feed, held, scope  # noqa: F401 - scope registers the core tables
from sync.feed import DeviceSync, HeldRecord, PendingRecord, SyncChange, Window
from sync.protocol import (
    DeviceCursors,
    Item,
    Kind,
    Row,
    Tier,
    Verdict,
    classify_changed,
    issue_cursor,
    judge_cursor,
    merge,
    page_order,
    reconcile,
)
from sync.tables import SyncContext, SyncedTable, registered, watched_names

# Writing the time of every pull would turn each empty pull into a write.
LAST_PULL_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class PullSettings:
    history_days: float = 7.0  # closed cases and notifications older than this leave phones
    reconcile_hours: float = 24.0  # the whole scope is re-checked at least this often


@dataclass(frozen=True)
class PullAnswer:
    cursor: int | None
    has_more: bool
    start_over: bool
    changes: dict[str, dict[str, list[Any]]]
    server_time: datetime
    start_over_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def require_device(actor: Actor) -> uuid.UUID:
    if actor.device_id is None:
        raise PermissionDenied("Sync needs a device token: sign in with your device_id.",
                               code="device_token_required")
    if actor.reach is Reach.ALL:
        raise PermissionDenied("Accounts that see everything (admins, auditors) do not sync "
                               "to phones; use the web.", code="sync_not_for_role")
    return actor.device_id


def pull(session: Session, actor: Actor, *, cursor: int | None, limit: int, now: datetime,
         settings: PullSettings = PullSettings()) -> PullAnswer:
    """The next page of changes for the actor's device (see the module docstring)."""
    device_id = require_device(actor)
    probe = feed.probe(session, actor.user_id, device_id)
    if _nothing_new(probe, cursor, now, settings):
        if probe.device.last_pull_at is None or \
                now - probe.device.last_pull_at >= LAST_PULL_RESOLUTION:
            probe.device.last_pull_at = now
        return _answer(probe.device.cursor, False, now)
    # Pulls of one device take turns; the state is read again under the lock.
    session.execute(sa.select(Device.id).where(Device.user_id == actor.user_id,
                                               Device.id == device_id).with_for_update())
    probe = feed.probe(session, actor.user_id, device_id)
    judgement = judge_cursor(cursor, _cursors(probe.device))
    if judgement.verdict is Verdict.START_OVER:
        return _answer(None, False, now, start_over=True, reason=judgement.reason.value)
    ctx = SyncContext(actor=actor, device_id=device_id, now=now,
                      history_days=settings.history_days)
    device = probe.device
    if judgement.verdict is Verdict.FRESH:
        device = _reset(session, actor.user_id, device_id, device, now)
    elif judgement.verdict is Verdict.NEXT:
        device.cursor, device.acked_position = device.served_cursor, device.served_position
        if device.batch_size and device.acked_position >= device.batch_size:
            _end_batch(session, device)
    # A page in flight that was not confirmed is sent again (under a new cursor: _serve
    # issues one above the unconfirmed cursor too, which stops being valid).
    device.served_position = device.acked_position
    if device.acked_position < device.batch_size:
        return _serve(session, ctx, device, limit)
    device.served_cursor = None

    items = _delta(session, ctx, device, probe, settings,
                   fresh=judgement.verdict is Verdict.FRESH)
    if not items and device.cursor is not None:
        return _answer(device.cursor, False, now)
    _start_batch(session, device, items)
    return _serve(session, ctx, device, limit)


def _delta(session: Session, ctx: SyncContext, device: DeviceSync, probe: feed.Probe,
           settings: PullSettings, *, fresh: bool) -> list[Item]:
    """What the device must receive now; its watermark moves to the feed's position.

    The whole scope is compared with what the device holds on a first sync, when its last
    full check is older than ``reconcile_hours`` (records age out then), and when its
    user's grids, roles or unit tree changed; otherwise only the rows that changed.
    """
    full = fresh or _reconcile_due(device, ctx.now, settings)
    window = probe.window(device)
    if not full and not probe.changed:
        items: list[Item] = []
    elif full or _scope_changed(session, window, ctx.actor.user_id):
        items = _full_delta(session, ctx, device, window, fresh=fresh)
        device.reconciled_at = ctx.now
        full = True
    else:
        items = _incremental_delta(session, ctx, device, window)
    _hold_grouped(session, ctx, device, items, full=full)
    device.watermark = probe.end
    device.own_txid, device.own_seq = probe.own_txid, probe.own_through
    device.last_pull_at = ctx.now
    return items


def _hold_grouped(session: Session, ctx: SyncContext, device: DeviceSync, items: list[Item], *,
                  full: bool) -> None:
    """The grouped tables' part of holding the batch as delivered (``sync.held``); the
    per-device part is written with the batch (``_start_batch``)."""
    for table in registered():
        if table.group is None:
            continue
        mine = [i for i in items if i.table == table.name]
        held.settle(session, ctx, device, table, full=full,
                    created={i.id for i in mine if i.kind is Kind.CREATED},
                    deleted={i.id for i in mine if i.kind is Kind.DELETED})


def _cursors(device: DeviceSync | None) -> DeviceCursors | None:
    if device is None:
        return None
    return DeviceCursors(acked=device.cursor, served=device.served_cursor, stale=device.stale)


def _nothing_new(probe: feed.Probe, cursor: int | None, now: datetime,
                 settings: PullSettings) -> bool:
    """The cheap path: the device repeats its confirmed cursor, no page is in flight, its
    scope is fresh enough, and the feed has nothing since its watermark."""
    device = probe.device
    return (device is not None and cursor is not None and cursor == device.cursor
            and device.served_cursor is None and device.acked_position >= device.batch_size
            and not device.stale and not probe.changed
            and not _reconcile_due(device, now, settings))


def _reconcile_due(device: DeviceSync, now: datetime, settings: PullSettings) -> bool:
    return (device.reconciled_at is None
            or now - device.reconciled_at >= timedelta(hours=settings.reconcile_hours))


def _reset(session: Session, user_id: uuid.UUID, device_id: uuid.UUID,
           device: DeviceSync | None, now: datetime) -> DeviceSync:
    """A first sync (or a start over): the phone holds nothing."""
    held.forget(session, user_id, device_id)
    session.execute(sa.delete(PendingRecord).where(PendingRecord.user_id == user_id,
                                                   PendingRecord.device_id == device_id))
    if device is None:
        device = DeviceSync(user_id=user_id, device_id=device_id)
        session.add(device)
    device.cursor = device.served_cursor = device.watermark = None
    device.own_txid = device.own_seq = device.reconciled_at = None
    device.batch_size = device.acked_position = device.served_position = 0
    device.stale, device.started_at = False, now
    return device


def _scope_changed(session: Session, window: Window, user_id: uuid.UUID) -> bool:
    """Did the unit tree, or this user's grids or roles, change in the window?"""
    triggers = [t.name for t in registered() if t.scope_trigger]
    dialect = session.get_bind().dialect.name
    return bool(session.scalar(sa.select(sa.exists().where(
        window.clause(dialect),
        sa.or_(SyncChange.table_name.in_(triggers),
               sa.and_(SyncChange.table_name.in_(watched_names()),
                       sa.or_(SyncChange.row_id.is_(None), SyncChange.row_id == user_id)))))))


def _in_scope(session: Session, query: sa.Select) -> dict[uuid.UUID, Row]:
    return {r[0]: Row(Tier(r[1]), r[2]) for r in session.execute(query)}


def _held(device: DeviceSync, table: SyncedTable,
          among: sa.Select | list[uuid.UUID] | None = None) -> sa.Select | sa.CompoundSelect:
    return held.ids(device.user_id, device.device_id, table, among)


def _changed_ids(session: Session, window: Window, table: str) -> sa.Select:
    return sa.select(SyncChange.row_id).where(SyncChange.table_name == table,
                                              window.clause(session.get_bind().dialect.name))


def _full_delta(session: Session, ctx: SyncContext, device: DeviceSync, window: Window, *,
                fresh: bool) -> list[Item]:
    """Every table's whole scope against what the device holds."""
    items: list[Item] = []
    for table in registered():
        in_scope = _in_scope(session, table.scope(session, ctx))
        holds: set[uuid.UUID] = set() if fresh else set(session.scalars(_held(device, table)))
        changed: set[uuid.UUID] = set()
        if holds:
            changed = set(session.scalars(_held(
                device, table, _changed_ids(session, window, table.name))))
        items += reconcile(table.name, in_scope, holds, changed)
    return items


def _incremental_delta(session: Session, ctx: SyncContext, device: DeviceSync,
                       window: Window) -> list[Item]:
    """Only the rows that changed in the window, and the children of parents that entered or
    left the scope with them."""
    dialect = session.get_bind().dialect.name
    changed_tables = set(session.scalars(
        sa.select(SyncChange.table_name).where(window.clause(dialect)).distinct()))
    entered: dict[str, set[uuid.UUID]] = {}
    left: dict[str, set[uuid.UUID]] = {}
    items: list[Item] = []
    for table in registered():
        found: list[Item] = []
        if table.name in changed_tables:
            ids = _changed_ids(session, window, table.name)
            in_scope = _in_scope(session, table.scope(session, ctx).where(table.model.id.in_(ids)))
            holds = set(session.scalars(_held(device, table, ids)))
            found = classify_changed(table.name, in_scope, holds)
        if table.parent is not None:
            found += _follow_parent(session, ctx, device, table, entered.get(table.parent, set()),
                                    left.get(table.parent, set()))
        found = merge(found)
        entered[table.name] = {i.id for i in found if i.kind is Kind.CREATED}
        left[table.name] = {i.id for i in found if i.kind is Kind.DELETED}
        items += found
    return items


def _follow_parent(session: Session, ctx: SyncContext, device: DeviceSync, table: SyncedTable,
                   entered: set[uuid.UUID], left: set[uuid.UUID]) -> list[Item]:
    """Children come whole with a parent that entered, and go with a parent that left."""
    items: list[Item] = []
    if entered:
        sub = table.scope(session, ctx).subquery()
        row_id, _tier, parent = list(sub.c)
        candidates = _in_scope(session, sa.select(*sub.c).where(parent.in_(entered)))
        holds = set(session.scalars(_held(device, table, list(candidates))))
        items += [Item(table.name, i, Kind.CREATED, r.tier, r.parent_id)
                  for i, r in candidates.items() if i not in holds]
    if left:
        # Children are never grouped (sync.tables): the device's own rows say whose they are.
        gone = session.scalars(sa.select(HeldRecord.row_id).where(
            HeldRecord.user_id == device.user_id, HeldRecord.device_id == device.device_id,
            HeldRecord.table_name == table.name, HeldRecord.parent_id.in_(left)))
        items += [Item(table.name, i, Kind.DELETED) for i in gone]
    return items


def _start_batch(session: Session, device: DeviceSync, items: list[Item]) -> None:
    """Record the batch in page order and hold its records as delivered (see the module
    docstring: nothing new is computed before the whole batch is through)."""
    mine = (PendingRecord.user_id == device.user_id, PendingRecord.device_id == device.device_id)
    session.execute(sa.delete(PendingRecord).where(*mine))
    ordered = page_order(items, {t.name: t.rank for t in registered()})
    rows = [{"user_id": device.user_id, "device_id": device.device_id, "position": n,
             "table_name": i.table, "row_id": i.id, "kind": i.kind.value,
             "parent_id": i.parent_id} for n, i in enumerate(ordered)]
    # Core executemany: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues").
    if rows:
        session.execute(sa.insert(PendingRecord.__table__), rows)
    gone: dict[str, list[uuid.UUID]] = {}
    for item in ordered:
        if item.kind is Kind.DELETED:
            gone.setdefault(item.table, []).append(item.id)
    for table, ids in gone.items():
        for start in range(0, len(ids), 1000):
            session.execute(sa.delete(HeldRecord.__table__).where(
                HeldRecord.user_id == device.user_id, HeldRecord.device_id == device.device_id,
                HeldRecord.table_name == table, HeldRecord.row_id.in_(ids[start:start + 1000])))
    grouped = [t.name for t in registered() if t.group is not None]
    session.execute(sa.insert(HeldRecord.__table__).from_select(
        ["user_id", "device_id", "table_name", "row_id", "parent_id"],
        sa.select(PendingRecord.user_id, PendingRecord.device_id, PendingRecord.table_name,
                  PendingRecord.row_id, PendingRecord.parent_id)
        .where(*mine, PendingRecord.kind == Kind.CREATED.value,
               PendingRecord.table_name.not_in(grouped))))
    device.batch_size, device.acked_position, device.served_position = len(ordered), 0, 0


def _end_batch(session: Session, device: DeviceSync) -> None:
    """The phone confirmed the batch's last page: its pages are never sent again."""
    session.execute(sa.delete(PendingRecord).where(PendingRecord.user_id == device.user_id,
                                                   PendingRecord.device_id == device.device_id))
    device.batch_size = device.acked_position = device.served_position = 0


def _serve(session: Session, ctx: SyncContext, device: DeviceSync, limit: int) -> PullAnswer:
    """The page after the last one the phone confirmed, with a new cursor."""
    pending = session.execute(
        sa.select(PendingRecord.table_name, PendingRecord.row_id, PendingRecord.kind)
        .where(PendingRecord.user_id == device.user_id,
               PendingRecord.device_id == device.device_id,
               PendingRecord.position >= device.acked_position,
               PendingRecord.position < device.acked_position + limit)
        .order_by(PendingRecord.position)).all()
    wanted: dict[str, dict[str, list[uuid.UUID]]] = {}
    for table, row_id, kind in pending:
        wanted.setdefault(table, {}).setdefault(kind, []).append(row_id)
    changes = _empty_changes()
    for table in registered():
        kinds = wanted.get(table.name)
        if not kinds:
            continue
        out = changes[table.name]
        out["deleted"] = [str(i) for i in kinds.get(Kind.DELETED.value, [])]
        upserts = kinds.get(Kind.CREATED.value, []) + kinds.get(Kind.UPDATED.value, [])
        if upserts:
            by_id = {r["id"]: r for r in table.records(session, ctx, upserts)}
            for kind in (Kind.CREATED, Kind.UPDATED):
                out[kind.value] = [by_id[k] for k in map(str, kinds.get(kind.value, []))
                                   if k in by_id]
    device.served_position = device.acked_position + len(pending)
    device.served_cursor = issue_cursor(device.watermark or 0, _cursors(device))
    device.last_pull_at = ctx.now
    return _answer(device.served_cursor, device.served_position < device.batch_size, ctx.now,
                   changes=changes)


def _empty_changes() -> dict[str, dict[str, list[Any]]]:
    return {t.name: {"created": [], "updated": [], "deleted": []} for t in registered()}


def _answer(cursor: int | None, has_more: bool, now: datetime, *, start_over: bool = False,
            reason: str | None = None,
            changes: dict[str, dict[str, list[Any]]] | None = None) -> PullAnswer:
    return PullAnswer(cursor=cursor, has_more=has_more, start_over=start_over,
                      changes=changes if changes is not None else _empty_changes(),
                      server_time=now, start_over_reason=reason)


@dataclass(frozen=True)
class DeviceStatus:
    device_id: uuid.UUID
    name: str | None
    registered_at: datetime
    last_pull_at: datetime | None
    cursor: int | None
    has_more: bool
    pending: int
    held: dict[str, int]


def device_status(session: Session, actor: Actor) -> DeviceStatus:
    """Where the actor's device stands: last pull, cursor, records held per table."""
    device_id = require_device(actor)
    device = session.get(Device, (actor.user_id, device_id))
    state = session.get(DeviceSync, (actor.user_id, device_id))
    holds = held.counts(session, actor.user_id, device_id) if state else {}
    in_flight = state.batch_size - state.acked_position if state else 0
    return DeviceStatus(
        device_id=device_id, name=device.name if device else None,
        registered_at=device.registered_at if device else None,
        last_pull_at=state.last_pull_at if state else None,
        cursor=state.cursor if state else None, has_more=in_flight > 0, pending=in_flight,
        held={t.name: holds.get(t.name, 0) for t in registered()})
