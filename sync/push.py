"""The push service: a batch of operations made offline, each applied exactly once.

One push is one transaction, in four steps whose order keeps concurrent pushes (a phone
retrying while its first request is still running, two phones on one case) from
deadlocking: every push takes its locks in the same order.

1. Estimate the phone's clock skew and keep it on its device row (which also makes two
   pushes of one phone run one after the other).
2. Claim each new operation id by inserting its ledger row, in id order. A concurrent push
   of the same id waits here, then finds the row and answers ``duplicate``.
3. Load the cases the batch names and lock them, in id order (PostgreSQL; SQLite runs one
   writer at a time).
4. Apply the operations in the order sent, each in its own savepoint. The outcome goes in
   the ledger row, in the same transaction as the effects: both commit or neither does.
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
from server.core import text
from server.core.db import is_postgres
from server.core.errors import Conflict, DomainError, PermissionDenied, TooLarge
from server.core.i18n import _
from sync import clocks
from sync.ledger import OpStatus, SyncOperation
from sync.operations import Limits, OpContext, operation_named

log = logging.getLogger(__name__)


class DeviceTokenRequired(PermissionDenied):
    code = "device_token_required"


class SequenceReused(Conflict):
    code = "sequence_reused"


@dataclass(frozen=True)
class IncomingOp:
    id: uuid.UUID
    seq: int
    name: str
    args: dict[str, Any]
    base_version: int | None
    device_time: datetime


@dataclass(frozen=True)
class PushSettings:
    limits: Limits
    max_skew_s: float
    max_operations: int


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
class _Claim:
    row: SyncOperation | None  # None: the id belongs to another user's operation
    fresh: bool  # inserted by this push
    answered: bool = False


def push(session: Session, actor: Actor, operations: Sequence[IncomingOp], *,
         sent_at: datetime, parse_args: ArgsParser, settings: PushSettings,
         now: datetime) -> PushResult:
    """Apply a phone's operations in the order sent; answer one outcome per operation.

    Each is applied, rejected (and kept, with a code and a message for the worker), or
    recognised as a duplicate of one already stored, whose original outcome is returned
    unchanged. One rejected operation never stops the others.
    """
    if actor.device_id is None:
        raise DeviceTokenRequired("Sync needs the app's sign-in (with its device id).")
    if len(operations) > settings.max_operations:
        raise TooLarge(f"Send at most {settings.max_operations} operations per push.",
                       code="too_many_operations")
    skew_s = clocks.estimate_skew_s(sent_at, now)
    _remember_skew(session, actor, skew_s, now)
    claims = _claim(session, actor, operations, skew_s=skew_s, now=now)
    # Held for the whole push: the session's identity map keeps only referenced objects,
    # and a batch of notes on a few cases should not load them once per note.
    cases = {c.id: c for c in _load_cases(session, actor, [op for op in operations
                                                             if claims[op.id].fresh])}
    visible: dict[uuid.UUID, bool] = {}
    batch_flags = clocks.push_flags(skew_s, max_skew_s=settings.max_skew_s)

    results = []
    for op in operations:
        claim = claims[op.id]
        if claim.row is None:
            results.append(_taken(op))
            continue
        if claim.fresh and not claim.answered:
            if claim.row.status is OpStatus.PENDING:
                flags = batch_flags + clocks.operation_flags(op.device_time, sent_at)
                _apply(session, actor, op, claim.row, parse_args=parse_args,
                       limits=settings.limits, flags=flags, cases=cases,
                       visible=visible, now=now)
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


def _claim(session: Session, actor: Actor, operations: Sequence[IncomingOp], *,
           skew_s: float, now: datetime) -> dict[uuid.UUID, _Claim]:
    ids = list(dict.fromkeys(op.id for op in operations))
    claims: dict[uuid.UUID, _Claim] = {}
    for row in session.scalars(sa.select(SyncOperation).where(SyncOperation.id.in_(ids))):
        # The same user on a new device (a reinstalled app) resending its queue: a replay.
        claims[row.id] = _Claim(row if row.user_id == actor.user_id else None, fresh=False)
    seq_owner = dict(session.execute(
        sa.select(SyncOperation.device_seq, SyncOperation.id).where(
            SyncOperation.user_id == actor.user_id, SyncOperation.device_id == actor.device_id,
            SyncOperation.device_seq.in_({op.seq for op in operations}))).all())
    for op in operations:  # within the batch, the first operation sent keeps its number
        if op.id not in claims:
            seq_owner.setdefault(op.seq, op.id)
    fresh = {op.id: op for op in operations if op.id not in claims}
    ordered = [fresh[op_id] for op_id in sorted(fresh)]
    rows = [_new_row(actor, op, owner=seq_owner[op.seq], skew_s=skew_s, now=now)
            for op in ordered]
    try:  # all at once; one by one only if a concurrent push got there first
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except sa.exc.IntegrityError:
        for op in ordered:
            claims[op.id] = _insert_claim(session, actor, op, owner=seq_owner[op.seq],
                                          skew_s=skew_s, now=now)
    else:
        claims.update((row.id, _Claim(row, fresh=True)) for row in rows)
    return claims


def _new_row(actor: Actor, op: IncomingOp, *, owner: uuid.UUID, skew_s: float,
             now: datetime) -> SyncOperation:
    reused = owner != op.id
    bad_name = text.bad_char(op.name)
    row = SyncOperation(
        id=op.id, user_id=actor.user_id, device_id=actor.device_id,
        device_seq=None if reused else op.seq,
        # Kept readable (PostgreSQL stores no NUL), and rejected below.
        name=text.clean(op.name) if bad_name else op.name, args=op.args,
        base_version=op.base_version, device_time=op.device_time,
        acted_at=clocks.acted_at(op.device_time, skew_s, now), received_at=now,
        clock_skew_s=skew_s, status=OpStatus.PENDING, result={}, flags=[])
    if reused:
        _reject(row, SequenceReused(
            _("This phone already sent another operation numbered {seq}; this one was "
              "not applied.").format(seq=op.seq),
            details=[{"device_seq": op.seq, "used_by": str(owner)}]))
    elif bad_name:
        _reject(row, text.invalid_text(text.BadText(("name",), bad_name), location="operation"))
    return row


def _insert_claim(session: Session, actor: Actor, op: IncomingOp, *, owner: uuid.UUID,
                  skew_s: float, now: datetime) -> _Claim:
    row = _new_row(actor, op, owner=owner, skew_s=skew_s, now=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        # A concurrent push committed this id (a replay) or this number first.
        found = session.get(SyncOperation, op.id)
        if found is not None:
            return _Claim(found if found.user_id == actor.user_id else None, fresh=False)
        if owner != op.id:
            raise
        taken_by = session.scalar(sa.select(SyncOperation.id).where(
            SyncOperation.user_id == actor.user_id, SyncOperation.device_id == actor.device_id,
            SyncOperation.device_seq == op.seq))
        return _insert_claim(session, actor, op, owner=taken_by, skew_s=skew_s, now=now)
    return _Claim(row, fresh=True)


def _load_cases(session: Session, actor: Actor, operations: Sequence[IncomingOp]
                ) -> list[Case]:
    """The cases the batch names, locked in id order on PostgreSQL (SQLite has one writer).

    A case the phone reported offline is named by its ``report_incident`` operation's id:
    it is locked here too, in order, or a push holding it would deadlock with one waiting.
    """
    ids = set()
    for op in operations:
        try:
            ids.add(uuid.UUID(str(op.args.get("case_id"))))
        except ValueError:
            continue  # no case, or not an id: the operation's own checks reject it
    if not ids:
        return []
    ids |= set(session.scalars(sa.select(SyncOperation.case_id).where(
        SyncOperation.id.in_(ids), SyncOperation.user_id == actor.user_id,
        SyncOperation.name == "report_incident", SyncOperation.case_id.is_not(None))))
    query = sa.select(Case).where(Case.id.in_(ids)).order_by(Case.id)
    if is_postgres(session):
        query = query.with_for_update(of=Case)
    return list(session.scalars(query).unique())


def _apply(session: Session, actor: Actor, op: IncomingOp, row: SyncOperation, *,
           parse_args: ArgsParser, limits: Limits, flags: list[str],
           cases: dict[uuid.UUID, Case], visible: dict[uuid.UUID, bool],
           now: datetime) -> None:
    ctx = OpContext(session, actor, op.id, row.acted_at, now, limits, cases=cases,
                    visible=visible)
    try:
        operation = operation_named(op.name)
        # Before the schema: the worker is told which text to fix, and nothing with a NUL
        # reaches the database (a 500 on PostgreSQL, an internal_error here before).
        bad = text.find_bad_text(op.args)
        if bad is not None:
            raise text.invalid_text(bad, location="args")
        args = parse_args(op.name, op.args)
        with session.begin_nested():
            result = operation.handler(ctx, **args)
    except DomainError as error:
        _reject(row, error)
    except (sa.exc.OperationalError, sa.exc.InternalError):
        # Lock timeouts, deadlocks, a lost connection: nothing of this push is kept and the
        # phone sends it again, which is safe.
        raise
    except Exception:
        # A bug must not block the phone's queue forever: the operation is rejected and
        # kept, so a dispatcher sees it, and the traceback goes to the log.
        log.exception("sync operation %s (%s) failed", op.id, op.name)
        _reject(row, DomainError(_("Something went wrong on our side with this operation. "
                                   "It was kept and will be looked at."), code="internal_error"))
    else:
        row.status, row.result = OpStatus.APPLIED, result
    # A case created in a savepoint that was rolled back is gone again.
    if ctx.case is not None and sa.inspect(ctx.case).persistent:
        row.case_id = ctx.case.id
    row.flags = list(dict.fromkeys([*flags, *ctx.flags]))
    session.flush()


def _reject(row: SyncOperation, error: DomainError) -> None:
    row.status, row.code, row.message = OpStatus.REJECTED, error.code, error.message
    row.result = {k: v for k, v in (("errors", error.errors), ("details", error.details)) if v}


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
