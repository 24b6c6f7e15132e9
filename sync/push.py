"""The push service: a batch of operations made offline, each applied exactly once.

A push claims every operation up front and then applies them in chunks: the entry point
commits after each chunk (``checkpoint``), so a request cut in the middle (a killed worker,
a lost connection) loses at most the chunk it was applying. The ledger row of an operation
is written in the same transaction as its effects, so the operations of committed chunks
are applied and the others are not; the phone's retry applies the rest (docs/sync.md,
Chunks). Every transaction takes its locks in the same order, so concurrent pushes (a phone
retrying while its first request still runs, two phones on one case) never deadlock:

1. (first chunk) Estimate the phone's clock skew and keep it on its device row.
2. (first chunk) Claim each new operation id by inserting its ledger row, ``pending``, in id
   order. A concurrent push of the same id waits here, then finds the row.
3. Lock the chunk's ledger rows (id order): one still pending is this push's to apply; one
   a concurrent push applied meanwhile is answered ``duplicate``.
4. Lock the cases the chunk names (id order; PostgreSQL, SQLite runs one writer at a time).
5. Apply the chunk's operations in the order sent. Those whose handler checks before it
   writes (``Operation.batched``) run without a savepoint each and the chunk is flushed
   once, so a case gets one UPDATE (one version) and one change-feed row per chunk; the
   others run in a savepoint each. A bug in a batched operation undoes the chunk and
   replays it one savepoint per operation, so that only the faulty one is rejected.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.models import Device
from server.cases.models import Case
from server.cases.queries import visible_cases
from server.cases.services import deferred_case_flushes
from server.core import text
from server.core.db import is_postgres
from server.core.errors import DomainError, PermissionDenied, TooLarge
from server.core.i18n import _
from sync import clocks
from sync.claims import Claim, IncomingOp, claim_all, reject
from sync.ledger import OpStatus, SyncOperation
from sync.operations import Limits, OpContext, operation_named

log = logging.getLogger(__name__)


class DeviceTokenRequired(PermissionDenied):
    code = "device_token_required"


@dataclass(frozen=True)
class PushSettings:
    limits: Limits
    max_skew_s: float
    max_operations: int
    chunk_size: int = 100  # operations per commit (GRID_SYNC_PUSH_CHUNK)


@dataclass(frozen=True)
class OpOutcome:
    id: uuid.UUID
    status: OpStatus
    code: str | None
    message: str | None
    result: dict[str, Any]
    flags: list[str]
    original_status: OpStatus | None = None  # for a duplicate: what the first push got


@dataclass(frozen=True)
class PushResult:
    results: list[OpOutcome]
    server_time: datetime
    clock_skew_s: float


# Checks an operation's arguments and converts them (the HTTP layer owns the schemas);
# raises a DomainError (invalid_arguments) that rejects that one operation.
ArgsParser = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass
class _Chunk:
    """What the operations of one chunk share: the locked cases, which the actor sees."""

    cases: dict[uuid.UUID, Case]
    visible: dict[uuid.UUID, bool]


class _ReplayChunk(Exception):
    """A batched operation failed unexpectedly: the chunk is undone and replayed."""


def push(session: Session, actor: Actor, operations: Sequence[IncomingOp], *,
         sent_at: datetime, parse_args: ArgsParser, settings: PushSettings,
         now: datetime, checkpoint: Callable[[], None] | None = None) -> PushResult:
    """Apply a phone's operations in the order sent; answer one outcome per operation.

    Each is applied, rejected (and kept, with a code and a message for the worker), or
    recognised as a duplicate of one already stored, whose original outcome is returned
    unchanged. One rejected operation never stops the others. ``checkpoint`` (the entry
    point's commit) is called between chunks of ``settings.chunk_size`` operations; an
    operation that an earlier, cut push stored but never answered is answered with its
    outcome, not as a duplicate.
    """
    if actor.device_id is None:
        raise DeviceTokenRequired("Sync needs the app's sign-in (with its device id).")
    if len(operations) > settings.max_operations:
        raise TooLarge(f"Send at most {settings.max_operations} operations per push.",
                       code="too_many_operations")
    skew_s = clocks.estimate_skew_s(sent_at, now)
    _remember_skew(session, actor, skew_s, now)
    claims = claim_all(session, actor, operations, skew_s=skew_s, now=now)
    batch_flags = clocks.push_flags(skew_s, max_skew_s=settings.max_skew_s)
    first: dict[uuid.UUID, IncomingOp] = {}  # each id once, where it was first sent
    for op in operations:  # (a reused number is rejected as it is claimed)
        if claims[op.id].pending:
            first.setdefault(op.id, op)
    todo = _by_case(session, actor, list(first.values()))
    size = max(1, settings.chunk_size)
    for start in range(0, len(todo), size):
        if start and checkpoint is not None:
            checkpoint()
        chunk = _fresh_in_chunk(session, todo[start:start + size], claims)
        flags = {op.id: batch_flags + clocks.operation_flags(op.device_time, sent_at)
                 for op in chunk}
        _apply_chunk(session, actor, chunk, claims, parse_args=parse_args,
                     limits=settings.limits, flags=flags, now=now)

    results = []
    for op in operations:
        claim = claims[op.id]
        if claim.taken:
            results.append(_taken(op))
        elif (claim.fresh or claim.unanswered) and not claim.answered:
            results.append(_outcome(claim.row))
        else:
            results.append(_outcome(claim.row, duplicate=True))
        claim.answered = True
    return PushResult(results, now, skew_s)


def _remember_skew(session: Session, actor: Actor, skew_s: float, now: datetime) -> None:
    device = session.get(Device, (actor.user_id, actor.device_id))
    if device is not None:  # every device token was issued with its device row
        device.clock_skew_s, device.clock_skew_measured_at = skew_s, now
        session.flush()


def _case_named(op: IncomingOp) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(op.args.get("case_id")))
    except ValueError:
        return None  # no case, or not an id: the operation's own checks reject it


def _by_case(session: Session, actor: Actor, operations: list[IncomingOp]) -> list[IncomingOp]:
    """The operations grouped by case, cases in the order first named, each case's in the
    order sent (operations naming no case form one group, in the order sent).

    Operations on different cases do not depend on each other and all carry the push's
    time, so this order has the same effects as the order sent, and a chunk then touches
    each case once per push: one UPDATE, one version and one change-feed row for it. A case
    reported offline is named by its ``report_incident`` operation's id until the phone
    pulls it: both names are one case.
    """
    named = {case_id for op in operations if (case_id := _case_named(op)) is not None}
    reported = dict(session.execute(sa.select(SyncOperation.id, SyncOperation.case_id).where(
        SyncOperation.id.in_(named), SyncOperation.user_id == actor.user_id,
        SyncOperation.name == "report_incident", SyncOperation.case_id.is_not(None)
    )).all()) if named else {}
    groups: dict[uuid.UUID | None, list[IncomingOp]] = {}
    for op in operations:
        key = op.id if op.name == "report_incident" else _case_named(op)
        groups.setdefault(reported.get(key, key), []).append(op)
    return [op for group in groups.values() for op in group]


def _fresh_in_chunk(session: Session, chunk: Sequence[IncomingOp],
                    claims: dict[uuid.UUID, Claim]) -> list[IncomingOp]:
    """Lock the chunk's ledger rows (id order) and keep the operations still pending: one
    that a concurrent push (the same queue sent again) applied meanwhile is its duplicate."""
    query = (sa.select(SyncOperation).where(SyncOperation.id.in_([op.id for op in chunk]))
             .order_by(SyncOperation.id).execution_options(populate_existing=True))
    if is_postgres(session):
        query = query.with_for_update()
    pending = set()
    for row in session.scalars(query):
        claims[row.id].row = row
        if row.status is OpStatus.PENDING:
            pending.add(row.id)
    for op in chunk:
        if op.id not in pending:
            claims[op.id].fresh = False
    return [op for op in chunk if op.id in pending]


def _load_cases(session: Session, actor: Actor, operations: Sequence[IncomingOp]
                ) -> list[Case]:
    """The cases the chunk names, locked in id order on PostgreSQL (SQLite has one writer),
    and read again: an earlier chunk's commit let other writers in.

    A case the phone reported offline is named by its ``report_incident`` operation's id:
    it is locked here too, in order, or a push holding it would deadlock with one waiting.
    """
    ids = {case_id for op in operations if (case_id := _case_named(op)) is not None}
    if not ids:
        return []
    ids |= set(session.scalars(sa.select(SyncOperation.case_id).where(
        SyncOperation.id.in_(ids), SyncOperation.user_id == actor.user_id,
        SyncOperation.name == "report_incident", SyncOperation.case_id.is_not(None))))
    query = (sa.select(Case).where(Case.id.in_(ids)).order_by(Case.id)
             .execution_options(populate_existing=True))
    if is_postgres(session):
        query = query.with_for_update(of=Case)
    return list(session.scalars(query).unique())


def _chunk_of(session: Session, actor: Actor, operations: Sequence[IncomingOp]) -> _Chunk:
    cases = {c.id: c for c in _load_cases(session, actor, operations)}
    seen = set(session.scalars(sa.select(Case.id).where(
        Case.id.in_(cases), visible_cases(session, actor)))) if cases else set()
    return _Chunk(cases, {case_id: case_id in seen for case_id in cases})


def _apply_chunk(session: Session, actor: Actor, chunk: Sequence[IncomingOp],
                 claims: dict[uuid.UUID, Claim], *, parse_args: ArgsParser, limits: Limits,
                 flags: dict[uuid.UUID, list[str]], now: datetime) -> None:
    """Apply one chunk: batched operations without savepoints and one flush; on a bug in
    one of them, undo the chunk and apply it again one savepoint per operation."""
    if not chunk:
        return
    shared = _chunk_of(session, actor, chunk)
    try:
        with session.begin_nested():
            done = [_apply(session, actor, op, claims[op.id].row, parse_args=parse_args,
                           limits=limits, flags=flags[op.id], shared=shared, batched=True,
                           now=now) for op in chunk]
            try:
                session.flush()  # the cases and their events: one UPDATE per case
            except (sa.exc.OperationalError, sa.exc.InternalError):
                raise
            except Exception as exc:
                raise _ReplayChunk from exc
            for row, outcome in done:
                _store(row, outcome)
            session.flush()
    except _ReplayChunk:
        # Rolled back to the chunk's start; what was added or changed in memory since the
        # last flush is dropped with it.
        for obj in list(session.new):
            session.expunge(obj)
        for obj in list(session.dirty):
            session.expire(obj)
        shared = _chunk_of(session, actor, chunk)
        for op in chunk:
            row = claims[op.id].row
            _store(row, _apply(session, actor, op, row, parse_args=parse_args, limits=limits,
                               flags=flags[op.id], shared=shared, batched=False, now=now)[1])
            session.flush()


@dataclass
class _Done:
    error: DomainError | None
    result: dict[str, Any]
    flags: list[str]
    case: Case | None


def _apply(session: Session, actor: Actor, op: IncomingOp, row: SyncOperation, *,
           parse_args: ArgsParser, limits: Limits, flags: list[str], shared: _Chunk,
           batched: bool, now: datetime) -> tuple[SyncOperation, _Done]:
    ctx = OpContext(session, actor, op.id, row.acted_at, now, limits, cases=shared.cases,
                    visible=shared.visible)
    result: dict[str, Any] = {}
    error: DomainError | None = None
    try:
        operation = operation_named(op.name)
        # Before the schema: the worker is told which text to fix, and nothing with a NUL
        # reaches the database (a 500 on PostgreSQL, an internal_error here before).
        bad = text.find_bad_text(op.args)
        if bad is not None:
            raise text.invalid_text(bad, location="args")
        args = parse_args(op.name, op.args)
        if batched and operation.batched:
            try:
                with deferred_case_flushes(session):
                    result = operation.handler(ctx, **args)
            except DomainError:
                raise
            except Exception as exc:
                raise _ReplayChunk from exc
        else:
            with session.begin_nested():
                result = operation.handler(ctx, **args)
    except DomainError as refused:
        error = refused
    except (sa.exc.OperationalError, sa.exc.InternalError, _ReplayChunk):
        # Lock timeouts, deadlocks, a lost connection: nothing of this chunk is kept and
        # the phone sends it again, which is safe. (_ReplayChunk: see _apply_chunk.)
        raise
    except Exception:
        # A bug must not block the phone's queue forever: the operation is rejected and
        # kept, so a dispatcher sees it, and the traceback goes to the log.
        log.exception("sync operation %s (%s) failed", op.id, op.name)
        error = DomainError(_("Something went wrong on our side with this operation. "
                              "It was kept and will be looked at."), code="internal_error")
    # A case created in a savepoint that was rolled back is gone again.
    case = ctx.case if ctx.case is not None and sa.inspect(ctx.case).persistent else None
    return row, _Done(error, result, list(dict.fromkeys([*flags, *ctx.flags])), case)


def _store(row: SyncOperation, done: _Done) -> None:
    """The outcome into the ledger row; the case's version as it now is (a batched chunk
    flushes its cases once, after its operations)."""
    if done.error is not None:
        reject(row, done.error)
    else:
        result = done.result
        if done.case is not None and "version" in result:
            result = {**result, "version": done.case.version}
        row.status, row.result = OpStatus.APPLIED, result
    if done.case is not None:
        row.case_id = done.case.id
    row.flags = done.flags


def _outcome(row: SyncOperation, *, duplicate: bool = False) -> OpOutcome:
    return OpOutcome(
        id=row.id, status=OpStatus.DUPLICATE if duplicate else row.status, code=row.code,
        message=row.message, result=row.result or {}, flags=list(row.flags or ()),
        original_status=row.status if duplicate else None)


def _taken(op: IncomingOp) -> OpOutcome:
    return OpOutcome(id=op.id, status=OpStatus.REJECTED, code="operation_id_taken",
                     message=_("This operation's id is already used; the app must make a new "
                               "one."),
                     result={}, flags=[])
