"""Claiming a push's operations in the ledger: one ``pending`` row per new operation id,
inserted in id order before anything is applied, so that a concurrent push of the same id
waits and then finds it, and a push cut after some chunks leaves the rest pending for its
retry (``sync.push``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.core import text
from server.core.errors import Conflict, DomainError
from server.core.i18n import _
from sync import clocks
from sync.ledger import OpStatus, SyncOperation


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



@dataclass
class Claim:
    # None: inserted by this push and not read back yet (its chunk reads it), or ``taken``.
    row: SyncOperation | None
    fresh: bool  # this push applies it (claimed now, or left pending by a cut push)
    taken: bool = False  # the id belongs to another user's operation
    unanswered: bool = False  # applied by an earlier push that was cut before it answered
    answered: bool = False

    @property
    def pending(self) -> bool:
        return self.fresh and (self.row is None or self.row.status is OpStatus.PENDING)



def claim_all(session: Session, actor: Actor, operations: Sequence[IncomingOp], *,
           skew_s: float, now: datetime) -> dict[uuid.UUID, Claim]:
    ids = list(dict.fromkeys(op.id for op in operations))
    claims: dict[uuid.UUID, Claim] = {}
    for row in session.scalars(sa.select(SyncOperation).where(SyncOperation.id.in_(ids))):
        # The same user on a new device (a reinstalled app) resending its queue: a replay.
        mine = row.user_id == actor.user_id
        claims[row.id] = Claim(row if mine else None, taken=not mine,
                                fresh=mine and row.status is OpStatus.PENDING)
    seq_owner = dict(session.execute(
        sa.select(SyncOperation.device_seq, SyncOperation.id).where(
            SyncOperation.user_id == actor.user_id, SyncOperation.device_id == actor.device_id,
            SyncOperation.device_seq.in_({op.seq for op in operations}))).all())
    for op in operations:  # within the batch, the first operation sent keeps its number
        if op.id not in claims:
            seq_owner.setdefault(op.seq, op.id)
    fresh = {op.id: op for op in operations if op.id not in claims}
    ordered = [fresh[op_id] for op_id in sorted(fresh)]
    # A reused number is rejected as it is claimed (an ORM row: rejected rows go to the
    # feed); the rest in one bulk INSERT of plain values (no objects: each chunk reads its
    # rows back, locked, when it applies them).
    refused = {op.id for op in ordered
               if seq_owner[op.seq] != op.id or text.bad_char(op.name) is not None}
    reused = [new_row(actor, op, owner=seq_owner[op.seq], skew_s=skew_s, now=now)
              for op in ordered if op.id in refused]
    values = [pending_values(actor, op, skew_s=skew_s, now=now)
              for op in ordered if op.id not in refused]
    try:  # all at once; one by one only if a concurrent push got there first
        with session.begin_nested():
            if values:
                session.execute(sa.insert(SyncOperation), values)
            session.add_all(reused)
            session.flush()
    except sa.exc.IntegrityError:
        for op in ordered:
            claims[op.id] = insert_claim(session, actor, op, owner=seq_owner[op.seq],
                                          skew_s=skew_s, now=now)
    else:
        claims.update((v["id"], Claim(None, fresh=True)) for v in values)
        claims.update((row.id, Claim(row, fresh=True)) for row in reused)
    mark_unanswered(session, actor, claims)
    return claims


def mark_unanswered(session: Session, actor: Actor, claims: dict[uuid.UUID, Claim]) -> None:
    """Stored operations of a push that was cut: it left some of its operations pending, so
    it never answered (a push answers once all its chunks are committed). They are answered
    now with their outcome. A push's operations share its reception time."""
    done = {c.row.received_at for c in claims.values()
            if c.row is not None and not c.fresh}
    if not done:
        return
    cut = set(session.scalars(sa.select(SyncOperation.received_at).distinct().where(
        SyncOperation.user_id == actor.user_id, SyncOperation.status == OpStatus.PENDING,
        SyncOperation.received_at.in_(done))))
    for claim in claims.values():
        if claim.row is not None and not claim.fresh and claim.row.received_at in cut:
            claim.unanswered = True


def pending_values(actor: Actor, op: IncomingOp, *, skew_s: float, now: datetime,
                    seq: int | None = -1) -> dict[str, Any]:
    return {"id": op.id, "user_id": actor.user_id, "device_id": actor.device_id,
            "device_seq": op.seq if seq == -1 else seq, "name": op.name, "args": op.args,
            "base_version": op.base_version, "device_time": op.device_time,
            "acted_at": clocks.acted_at(op.device_time, skew_s, now), "received_at": now,
            "clock_skew_s": skew_s, "status": OpStatus.PENDING, "code": None,
            "message": None, "case_id": None, "result": {}, "flags": []}


def new_row(actor: Actor, op: IncomingOp, *, owner: uuid.UUID, skew_s: float,
             now: datetime) -> SyncOperation:
    reused = owner != op.id
    row = SyncOperation(**pending_values(actor, op, skew_s=skew_s, now=now,
                                          seq=None if reused else op.seq))
    bad_name = text.bad_char(op.name)
    if bad_name is not None:
        row.name = text.clean(op.name)  # kept readable (PostgreSQL stores no NUL), and refused
    if reused:
        reject(row, SequenceReused(
            _("This phone already sent another operation numbered {seq}; this one was "
              "not applied.").format(seq=op.seq),
            details=[{"device_seq": op.seq, "used_by": str(owner)}]))
    elif bad_name is not None:
        reject(row, text.invalid_text(text.BadText(("name",), bad_name), location="operation"))
    return row


def insert_claim(session: Session, actor: Actor, op: IncomingOp, *, owner: uuid.UUID,
                  skew_s: float, now: datetime) -> Claim:
    row = new_row(actor, op, owner=owner, skew_s=skew_s, now=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        # A concurrent push committed this id (a replay) or this number first.
        found = session.get(SyncOperation, op.id)
        if found is not None:
            mine = found.user_id == actor.user_id
            return Claim(found if mine else None, taken=not mine,
                          fresh=mine and found.status is OpStatus.PENDING)
        if owner != op.id:
            raise
        taken_by = session.scalar(sa.select(SyncOperation.id).where(
            SyncOperation.user_id == actor.user_id, SyncOperation.device_id == actor.device_id,
            SyncOperation.device_seq == op.seq))
        return insert_claim(session, actor, op, owner=taken_by, skew_s=skew_s, now=now)
    return Claim(row, fresh=True)



def reject(row: SyncOperation, error: DomainError) -> None:
    row.status, row.code, row.message = OpStatus.REJECTED, error.code, error.message
    row.result = {k: v for k, v in (("errors", error.errors), ("details", error.details)) if v}


