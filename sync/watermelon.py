"""WatermelonDB's sync protocol as an adapter over our pull (``sync.pull``) and push
(``sync.push``): the wire format of ``synchronize()`` from ``@nozbe/watermelondb/sync``.

What the library expects (WatermelonDB docs, ``Sync/Backend.md``; source of 0.28.0,
``sync/impl/synchronize.js`` and ``applyRemote.js``) and how each point is met here:

- Pull answers ``{ changes: Changes, timestamp: Timestamp }`` where "Changes =
  { [table_name]: { created: RawRecord[], updated: RawRecord[], deleted: string[] } }".
  Our pull already answers that shape; ``timestamp`` is our cursor. ``synchronize()``
  checks ``invariant('number' === typeof newLastPulledAt && 0 < newLastPulledAt, ...
  "timestamp must be a non-zero number")``: our cursors are at least 1 (a feed position
  starts at 1 on SQLite and is a transaction id on PostgreSQL) and below 2^53.
- "If ``lastPulledAt`` is null or 0, you MUST return all accessible records (first sync)":
  both mean ``cursor: null``.
- The library calls ``pullChanges`` once per ``synchronize()`` and passes every field of
  the answer but ``changes`` to ``onDidPullChanges``: ``has_more`` travels that way and
  the app calls ``synchronize()`` again while it is true (one page per call; a lost
  answer is the same ``lastPulledAt`` again, which our pull answers with the same page).
- Start over: WatermelonDB has no such answer, but it has a pull *strategy*
  (``pullResult.experimentalStrategy``): with ``'replacement'`` the records of each table
  in ``changes`` that are not in ``created``/``updated`` are destroyed, except those whose
  ``_status`` is ``'created'`` (``applyRemote.js``: ``subjectToReplacement &&
  !recordsToKeep.has(raw.id) && 'created' !== raw._status``). So a start over is answered
  at once with a fresh first sync in one page and ``experimentalStrategy: 'replacement'``:
  the phone drops what the server no longer sends and keeps its ``operations`` table,
  which is never in ``changes``. The same answers a pull with a ``migration`` (the app's
  schema grew: "you MUST include records needed to get a consistent view").
- Raw values must match the app's schema: columns are ``string``, ``number`` or
  ``boolean``, and ``_setRaw`` turns a value of another type into ``null`` or ``''``, so
  nested values (lists, objects) are sent as JSON strings. The schema refuses a
  ``created_at``/``updated_at`` column unless it is a non-optional ``number``
  (``Schema/index.js``), so those two are sent as milliseconds since 1970 (UTC).
- Push: "You MUST ignore ``_status`` and ``_changed`` fields"; "If the ``changes`` object
  contains a new record with an ID that already exists, you MUST update it, and MUST NOT
  return an error code (This happens if previous push succeeded on the backend, but not on
  frontend)". Operations are created by the phone in its ``operations`` table; each record
  is one push operation with the record's id as its UUID, so a resent record is a replay
  answered ``duplicate`` (exactly once, ``sync.push``).
- "Synchronization should be reliable, and should not fail other than transiently, or for
  serious programming errors. Otherwise, the user will have a permanently unsyncable app":
  nothing a phone pushes fails the whole request. Edits to server-owned (read-only)
  tables are ignored and *healed*: the next pull sends the server's record again in
  ``updated`` (edited or deleted locally) or deletes it (created locally). Tables the
  server does not know (local-only tables of the app) are ignored. An ``operations``
  record the server cannot read (no UUID id, no name, no sequence number, no time) is
  returned in ``experimentalRejectedIds`` ("partial rejection of an otherwise successful
  sync": ``markAsSynced.js`` leaves those records dirty) and listed in ``problems``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.core.errors import Invalid
from sync import feed
from sync import pull as pull_service
from sync import push as push_service
from sync.feed import DeviceSync, HeldRecord
from sync.held import ids as held_ids
from sync.protocol import MAX_SAFE_CURSOR
from sync.tables import registered, table_named

# The phone's own table of offline operations (it creates rows, the server never sends it).
OPERATIONS_TABLE = "operations"
# WatermelonDB's schema wants these two as numbers (ms since 1970), never strings.
NUMBER_TIMES = ("created_at", "updated_at")
REPLACEMENT = "replacement"
# A start over answers the whole fresh scope in one page, so that the replacement strategy
# does not drop records that a later page would bring back.
UNBOUNDED = 10**9


# --- pure rules ------------------------------------------------------------------------------

def last_pulled_cursor(value: Any) -> int | None:
    """WatermelonDB's ``lastPulledAt`` as our cursor: null or 0 is a first sync."""
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SAFE_CURSOR:
        raise Invalid.for_field("lastPulledAt", "A timestamp this server gave, or null.")
    return value


def timestamp(cursor: int) -> int:
    """Our cursor as WatermelonDB's ``timestamp``: a non-zero safe integer."""
    if not 0 < cursor <= MAX_SAFE_CURSOR:
        raise ValueError(f"cursor {cursor} is not a valid WatermelonDB timestamp")
    return cursor


def _ms(value: Any) -> int:
    if value is None:
        return 0
    return int(datetime.fromisoformat(value).timestamp() * 1000)


def raw_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """One of our wire records as a WatermelonDB raw record (see the module docstring)."""
    raw: dict[str, Any] = {}
    for key, value in record.items():
        if key in NUMBER_TIMES:
            raw[key] = _ms(value)
        elif isinstance(value, (list, dict)):
            raw[key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            raw[key] = value
    return raw


def raw_changes(changes: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, dict[str, list]]:
    return {table: {"created": [raw_record(r) for r in kinds.get("created", [])],
                    "updated": [raw_record(r) for r in kinds.get("updated", [])],
                    "deleted": list(kinds.get("deleted", []))}
            for table, kinds in changes.items()}


def as_updated(changes: dict[str, dict[str, list]]) -> dict[str, dict[str, list]]:
    """A replacement answer sends every record as ``updated``: after a start over the server
    does not know what the phone holds, and the phone most likely holds most of it
    (``applyRemote.js`` updates an existing record, and creates a missing one, from either
    array, but logs an error for a ``created`` record that exists)."""
    return {table: {"created": [], "updated": kinds["created"] + kinds["updated"],
                    "deleted": kinds["deleted"]} for table, kinds in changes.items()}


@dataclass(frozen=True)
class OpProblem:
    """An ``operations`` record the server cannot read: it stays dirty on the phone."""

    id: str
    message: str


@dataclass(frozen=True)
class Ignored:
    """A pushed change that was not applied, and what the server does about it."""

    table: str
    id: str
    kind: str  # created | updated | deleted
    reason: str  # read_only | unknown_table | not_a_server_id | no_writer
    heal: str | None = None  # resend | remove | None


@dataclass
class PushPlan:
    operations: list[push_service.IncomingOp] = field(default_factory=list)
    problems: list[OpProblem] = field(default_factory=list)
    # (table, id, kind) of records of server-owned tables the phone changed.
    read_only: list[tuple[str, uuid.UUID, str]] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)


def device_time(value: Any) -> datetime:
    """An ISO 8601 time with an offset, or milliseconds since 1970 (a JavaScript Date's
    ``getTime()``, which is UTC)."""
    if isinstance(value, bool):
        raise ValueError("device_time is not a time")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("device_time needs an offset (e.g. +08:00 or Z)")
        return parsed
    raise ValueError("device_time is not a time")


def _safe_int(value: Any, name: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SAFE_CURSOR:
        raise ValueError(f"{name} must be a whole number from 0 to 2^53-1")
    return value


def operation_from_raw(raw: Mapping[str, Any]) -> push_service.IncomingOp | OpProblem:
    """An ``operations`` record as a push operation; a problem if it cannot be read.

    Columns: ``id`` (the op's UUID), ``name``, ``args`` (a JSON object, as a string),
    ``base_version`` (optional), ``device_seq``, ``device_time``. An empty
    ``base_version`` (0, WatermelonDB's value for a missing number) is recorded as none.
    """
    raw_id = str(raw.get("id"))
    try:
        op_id = uuid.UUID(raw_id)
    except ValueError:
        return OpProblem(raw_id, "The id of an operation must be a UUID made by the phone.")
    try:
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("name is missing")
        args = raw.get("args")
        if isinstance(args, str):
            args = json.loads(args) if args.strip() else {}
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ValueError("args must be a JSON object")
        seq = _safe_int(raw.get("device_seq"), "device_seq")
        base = _safe_int(raw.get("base_version"), "base_version", optional=True) or None
        when = device_time(raw.get("device_time"))
    except (ValueError, TypeError) as exc:
        return OpProblem(raw_id, f"This operation cannot be read: {exc}.")
    return push_service.IncomingOp(id=op_id, seq=seq, name=name, args=args, base_version=base,
                                   device_time=when)


def plan_push(changes: Mapping[str, Any], *, read_only: Iterable[str],
              known: Iterable[str]) -> PushPlan:
    """Sort a WatermelonDB push into operations, edits of read-only tables and the rest.

    Operations come from ``created`` and ``updated`` records of the ``operations`` table
    (an operation never changes after it is made, so an update is a resend), in the order
    of their ``device_seq``. Deleting an operation locally is the app's housekeeping and
    means nothing to the server.
    """
    if not isinstance(changes, Mapping):
        raise _shape("An object of tables.")
    read_only, known = set(read_only), set(known)
    plan = PushPlan()
    seen: set[uuid.UUID] = set()
    for table, kinds in changes.items():
        if not isinstance(kinds, Mapping):
            raise _shape(f"Table {table!r} must have created, updated and deleted arrays.")
        records = [(kind, record) for kind in ("created", "updated", "deleted")
                   for record in _list(kinds.get(kind), table, kind)]
        for kind, record in records:
            record_id = record if kind == "deleted" else (
                record.get("id") if isinstance(record, Mapping) else None)
            if record_id is None or (kind != "deleted" and not isinstance(record, Mapping)):
                raise _shape(f"A record of {table!r} has no id.")
            if table == OPERATIONS_TABLE:
                if kind == "deleted":
                    continue
                op = operation_from_raw(record)
                if isinstance(op, OpProblem):
                    plan.problems.append(op)
                elif op.id not in seen:
                    seen.add(op.id)
                    plan.operations.append(op)
            elif table in read_only:
                try:
                    plan.read_only.append((table, uuid.UUID(str(record_id)), kind))
                except ValueError:
                    plan.ignored.append(Ignored(table, str(record_id), kind, "not_a_server_id"))
            else:  # a local-only table of the app; or a synced table no one may write yet
                reason = "unknown_table" if table not in known else "no_writer"
                plan.ignored.append(Ignored(table, str(record_id), kind, reason))
    plan.operations.sort(key=lambda op: op.seq)
    return plan


def _shape(message: str) -> Invalid:
    """The body is not a WatermelonDB changes object: an app bug, like a malformed envelope."""
    return Invalid.for_field("changes", message, code="validation_failed")


def _list(value: Any, table: str, kind: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _shape(f"{table}.{kind} must be an array.")
    return value


def heal(held: bool) -> str:
    """What the server does about a phone's change to a server-owned record: a record the
    device holds is sent again whole, in ``updated`` (it was edited or deleted locally); one
    it does not hold (made up locally) is sent as deleted."""
    return "resend" if held else "remove"


def split_push(operations: Sequence[push_service.IncomingOp], limit: int
               ) -> tuple[Sequence[push_service.IncomingOp], list[str]]:
    """The operations applied now (the first ``limit`` in ``device_seq`` order) and the ids of
    those deferred: returned as rejected ids, they stay dirty and come with the next push."""
    return operations[:limit], [str(op.id) for op in operations[limit:]]


# --- services --------------------------------------------------------------------------------

def pull(session: Session, actor: Actor, *, last_pulled_at: int | None,
         migration: Mapping[str, Any] | None, limit: int, now: datetime,
         settings: pull_service.PullSettings | None = None) -> dict[str, Any]:
    """``pullChanges``'s answer: ``{changes, timestamp}`` and our paging fields."""
    settings = settings or pull_service.PullSettings()
    cursor = last_pulled_cursor(last_pulled_at)
    reason = None
    if cursor is not None and migration:
        answer, reason = None, "schema_migration"
    else:
        answer = pull_service.pull(session, actor, cursor=cursor, limit=limit, now=now,
                                   settings=settings)
        if answer.start_over:
            reason = answer.start_over_reason
    if reason is not None:
        answer = pull_service.pull(session, actor, cursor=None, limit=UNBOUNDED, now=now,
                                   settings=settings)
    changes = raw_changes(answer.changes)
    if reason is not None:
        changes = as_updated(changes)
    return {"changes": changes, "timestamp": timestamp(answer.cursor),
            "has_more": answer.has_more, "start_over": reason is not None,
            "start_over_reason": reason,
            "experimentalStrategy": REPLACEMENT if reason is not None else None,
            "server_time": answer.server_time}


def push(session: Session, actor: Actor, *, changes: Mapping[str, Any], sent_at: datetime | None,
         parse_args: push_service.ArgsParser, settings: push_service.PushSettings,
         now: datetime, checkpoint: Callable[[], None] | None = None) -> dict[str, Any]:
    """``pushChanges``: the phone's new ``operations`` records applied exactly once through
    the push service (committed in chunks at ``checkpoint``, as ``sync.push``); changes to
    server-owned tables ignored and healed by the next pull."""
    tables = registered()
    plan = plan_push(changes, read_only=[t.name for t in tables if t.read_only],
                     known=[t.name for t in tables])
    results: list[push_service.OpOutcome] = []
    skew_s, server_time = 0.0, now
    # One request does at most the push limit's work (it must end inside the worker's
    # timeout); synchronize() cannot split its push, so the rest waits for the next one.
    batch, deferred = split_push(plan.operations, settings.max_operations)
    if batch or actor.device_id is None:
        answer = push_service.push(session, actor, batch, sent_at=sent_at or now,
                                   parse_args=parse_args, settings=settings, now=now,
                                   checkpoint=checkpoint)
        results, skew_s, server_time = answer.results, answer.clock_skew_s, answer.server_time
    ignored = plan.ignored + _heal(session, actor, plan.read_only)
    rejected = sorted({p.id for p in plan.problems} | set(deferred))
    return {
        "experimentalRejectedIds": {OPERATIONS_TABLE: rejected} if rejected else {},
        "deferred": deferred,
        "results": results,
        "problems": [{"id": p.id, "message": p.message} for p in plan.problems],
        "ignored": [vars(i) for i in ignored],
        "server_time": server_time,
        "clock_skew_s": skew_s,
    }


def _heal(session: Session, actor: Actor,
          touched: Sequence[tuple[str, uuid.UUID, str]]) -> list[Ignored]:
    """Make the device's next pull repair what the phone changed in read-only tables.

    Each record is written to the change feed as changed (through the feed's own writer, so
    its position follows the feed's rules); a record the device holds is then sent again
    whole in ``updated`` (or in ``deleted`` if it left the scope meanwhile), and a record it
    made up is first recorded as held, so that it is sent in ``deleted``. Other devices that
    hold a re-sent record get it once more, unchanged.
    """
    if not touched:
        return []
    if session.get(DeviceSync, (actor.user_id, actor.device_id)) is None:
        # Never pulled: its first pull starts from nothing; there is nothing to repair from.
        return [Ignored(t, str(i), k, "read_only") for t, i, k in touched]
    by_table: dict[str, set[uuid.UUID]] = {}
    for table, row_id, _kind in touched:
        by_table.setdefault(table, set()).add(row_id)
    held: set[tuple[str, uuid.UUID]] = set()
    for table, ids in by_table.items():
        found = session.scalars(held_ids(actor.user_id, actor.device_id, table_named(table),
                                         list(ids)))
        held |= {(table, i) for i in found}
        made_up = [i for i in ids if (table, i) not in held]
        if made_up:
            session.execute(sa.insert(HeldRecord.__table__), [
                {"user_id": actor.user_id, "device_id": actor.device_id, "table_name": table,
                 "row_id": i, "parent_id": None} for i in made_up])
    feed._write(session.connection(), {(table, row_id, False)  # noqa: SLF001
                                       for table, ids in by_table.items() for row_id in ids})
    return [Ignored(t, str(i), k, "read_only", heal((t, i) in held)) for t, i, k in touched]
