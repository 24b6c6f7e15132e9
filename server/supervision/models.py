"""Deadlines, their reminder nodes, and the notifications that fill units' and users' inboxes."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.core.db import Base, UTCDateTime, str_enum
from server.core.ids import new_id
from server.supervision.rules import DeadlineKind, DeadlineStatus, ReminderState


class Deadline(Base):
    """One time limit on one subject (a case's response or completion, a whistle call's arrival).

    ``closed_at`` is null while it is open; at most one open deadline per subject and kind
    (partial unique index), so a re-dispatch cancels the old one before opening the next.
    ``fractions``, ``overdue_grace_s`` and ``calendar`` are kept so an extension can place
    the remaining nodes the way the first ones were placed.
    """

    __tablename__ = "deadlines"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    kind: Mapped[DeadlineKind] = mapped_column(str_enum(DeadlineKind, 20))
    label: Mapped[str] = mapped_column(sa.String(200))
    unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    supervisor_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped by each approved extension; reminders of older generations stay as history.
    generation: Mapped[int] = mapped_column(sa.Integer, default=1)
    fractions: Mapped[list[float]] = mapped_column(sa.JSON)
    overdue_grace_s: Mapped[int] = mapped_column(sa.Integer, default=0)
    calendar: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[DeadlineStatus] = mapped_column(str_enum(DeadlineStatus, 12))
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the overdue escalation went out; never cleared, so a later extension or a late
    # completion does not hide that the limit was once missed.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    reminders: Mapped[list[Reminder]] = relationship(
        back_populates="deadline", order_by="Reminder.fire_at"
    )

    __table_args__ = (
        sa.Index(
            "uq_deadlines_open_subject", "subject_type", "subject_id", "kind", unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        ),
        sa.Index("ix_deadlines_subject", "subject_type", "subject_id"),
        # The response rate reads one period's response deadlines by due time (issue 9).
        sa.Index("ix_deadlines_subject_kind_due", "subject_type", "kind", "due_at"),
        sa.CheckConstraint("due_at > starts_at", name="window"),
    )

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def on_time(self) -> bool | None:
        """None while not met; otherwise whether it was met by the due time."""
        return None if self.met_at is None else self.met_at <= self.due_at


class Reminder(Base):
    """One node of a deadline: claimed and sent exactly once by whichever scheduler gets it.

    ``fire_at`` is when it should go out and ``sent_at`` when it did (server time), so a
    late run is visible. Unique per (deadline, generation, node): an extension arms its
    nodes under the next generation without clashing with the ones already sent.
    """

    __tablename__ = "reminders"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    deadline_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("deadlines.id"))
    generation: Mapped[int] = mapped_column(sa.Integer)
    node: Mapped[str] = mapped_column(sa.String(12))
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[ReminderState] = mapped_column(str_enum(ReminderState, 12))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded with the reminder: the claim query and the inbox both need it.
    deadline: Mapped[Deadline] = relationship(
        back_populates="reminders", lazy="joined", innerjoin=True
    )

    __table_args__ = (
        sa.UniqueConstraint("deadline_id", "generation", "node", name="uq_reminders_node"),
        # The scheduler's claim query reads only pending rows, oldest first.
        sa.Index(
            "ix_reminders_pending_fire_at", "fire_at",
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        ),
    )


class Notification(Base):
    """An inbox entry. ``user_id`` set: that user's own; otherwise the whole unit's.

    A unit's notification is acknowledged once for the unit, by whoever reads it first.
    A reminder's notifications are unique per (reminder, unit): the second guard against
    sending a node twice, after the claim itself.
    """

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    reminder_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("reminders.id"))

    reminder: Mapped[Reminder | None] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("reminder_id", "unit_id", name="uq_notifications_reminder_unit"),
        sa.CheckConstraint("unit_id IS NOT NULL OR user_id IS NOT NULL", name="recipient"),
        # Inboxes are read newest first, per unit and per user.
        sa.Index("ix_notifications_unit_created", "unit_id", "created_at"),
        sa.Index("ix_notifications_user_created", "user_id", "created_at"),
    )
