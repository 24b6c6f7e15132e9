"""The operation ledger: every operation a phone pushed, with the outcome it got, kept for good;
and its reads: the dispatchers' review list and each phone's own rejected operations.

A row is written in the same transaction as the operation's effects, so "applied" in the
ledger and the effects on the case can never disagree, and a replay finds the row and answers
with the stored outcome instead of applying anything again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.cases.models import Case
from server.cases.queries import visible_cases
from server.cases.rules import DISPATCHER_ROLES, mask_name, mask_phone
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.db import Base, UTCDateTime, str_enum
from server.org.models import Unit, User
from server.org.rules import Role
from sync.tables import SyncContext, SyncedTable, Tier, register


class OpStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # only in answers: a replay of an operation already stored
    REJECTED = "rejected"
    # Only inside the pushing transaction, between claiming the id and applying the
    # operation; every row leaves that transaction applied or rejected.
    PENDING = "pending"


class SyncOperation(Base):
    """One operation of one device, identified by the UUID the phone made for it."""

    __tablename__ = "sync_operations"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    device_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    # The device's own counter. NULL only on an operation rejected because another operation
    # already holds its number (sequence_reused); the number it sent is in ``result``.
    device_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    name: Mapped[str] = mapped_column(sa.String(40))
    args: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    base_version: Mapped[int | None] = mapped_column(sa.Integer)
    # Three clocks: the phone's (untrusted), the phone's corrected by the skew estimated for
    # this push and capped at reception (used to judge what the worker was entitled to),
    # and the server's. Deadlines and "on time" use the server's only.
    device_time: Mapped[datetime] = mapped_column(UTCDateTime)
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    clock_skew_s: Mapped[float] = mapped_column(sa.Float)
    # The case the operation concerned (or created), for the dispatchers' review list.
    case_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    status: Mapped[OpStatus] = mapped_column(str_enum(OpStatus, 10))
    code: Mapped[str | None] = mapped_column(sa.String(60))
    message: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "device_id", "device_seq",
                            name="uq_sync_operations_user_device_seq"),
        # The review list and each device's rejected operations, newest first.
        sa.Index("ix_sync_operations_status_received", "status", "received_at", "id"),
    )


# --- reads -------------------------------------------------------------------------------------

REVIEWER_ROLES = DISPATCHER_ROLES | {Role.GRID_LEADER}


@dataclass(frozen=True)
class RejectedOperation:
    operation: SyncOperation
    username: str
    case_number: str | None


@dataclass(frozen=True)
class RejectedPage:
    items: list[RejectedOperation]
    next_cursor: str | None


def _reviewable(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """One's own operations; for dispatchers and grid leaders also those about cases they see
    and, for operations about no case (a report that failed, an unknown case), those sent by
    users of their territory; everything for admins and auditors."""
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return sa.true()
    clauses: list[sa.ColumnElement[bool]] = [SyncOperation.user_id == actor.user_id]
    if actor.has_any(REVIEWER_ROLES):
        clauses.append(SyncOperation.case_id.in_(
            sa.select(Case.id).where(visible_cases(session, actor))))
        territory_users = sa.select(User.id).join(Unit, User.unit_id == Unit.id).where(
            sa.or_(*(Unit.path.startswith(p, autoescape=True) for p in scope.unit_paths or ())))
        clauses.append(sa.and_(SyncOperation.case_id.is_(None),
                               SyncOperation.user_id.in_(territory_users)))
    return sa.or_(*clauses)


def rejected_operations(session: Session, actor: Actor, *, case_id: uuid.UUID | None = None,
                        limit: int = 50, cursor: str | None = None) -> RejectedPage:
    """Rejected operations the actor may review, newest first, keyset-paginated."""
    query = (sa.select(SyncOperation, User.username, Case.number)
             .join(User, SyncOperation.user_id == User.id)
             .outerjoin(Case, SyncOperation.case_id == Case.id)
             .where(SyncOperation.status == OpStatus.REJECTED, _reviewable(session, actor)))
    if case_id is not None:
        query = query.where(SyncOperation.case_id == case_id)
    if cursor is not None:
        at, after_id = decode_time_cursor(cursor)
        query = query.where(sa.or_(
            SyncOperation.received_at < at,
            sa.and_(SyncOperation.received_at == at, SyncOperation.id < after_id)))
    rows = session.execute(query.order_by(SyncOperation.received_at.desc(),
                                          SyncOperation.id.desc()).limit(limit + 1)).all()
    items = [RejectedOperation(op, username, number) for op, username, number in rows[:limit]]
    last = rows[limit - 1][0] if len(rows) > limit else None
    return RejectedPage(items, encode_cursor(last.received_at, last.id) if last else None)


def args_for(operation: SyncOperation, actor: Actor) -> dict[str, Any]:
    """The operation's arguments as this actor may see them: a reported resident's name and
    phone as the web shows a case's (shown to the sender and dispatchers, masked for others,
    only the sender's if confidential)."""
    args = dict(operation.args or {})
    if operation.user_id == actor.user_id or not (
            args.get("resident_name") or args.get("resident_phone")):
        return args
    if args.get("confidential"):
        args["resident_name"] = args["resident_phone"] = None
    elif not actor.has_any(DISPATCHER_ROLES):
        args["resident_name"] = mask_name(args.get("resident_name"))
        args["resident_phone"] = mask_phone(args.get("resident_phone"))
    return args


# --- each phone's own rejected operations travel in its pull -------------------------------


def _device_rejected(session: Session, ctx: SyncContext) -> sa.Select:
    return sa.select(SyncOperation.id, sa.literal(int(Tier.URGENT)),
                     sa.null().cast(sa.Uuid)).where(
        SyncOperation.user_id == ctx.actor.user_id, SyncOperation.device_id == ctx.device_id,
        SyncOperation.status == OpStatus.REJECTED)


def _device_records(session: Session, ctx: SyncContext,
                    ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    rows = session.scalars(sa.select(SyncOperation).where(SyncOperation.id.in_(ids)))
    return [{"id": str(r.id), "name": r.name, "code": r.code, "message": r.message,
             "device_seq": r.device_seq, "case_id": str(r.case_id) if r.case_id else None,
             "received_at": r.received_at.isoformat(), "flags": list(r.flags or ())}
            for r in rows]


def _reaches_phones(row: SyncOperation) -> bool:
    # Only rejected operations are sent (a rejected row never changes again); pending and
    # applied rows are the push's own bookkeeping.
    return row.status is OpStatus.REJECTED


register(SyncedTable(name="rejected_operations", model=SyncOperation, scope=_device_rejected,
                     records=_device_records, rank=90, feeds=_reaches_phones))
