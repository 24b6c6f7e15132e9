"""Postings of department staff to grids, check-ins and check-outs, and patrol track fixes."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.core.db import Base, UTCDateTime, str_enum
from server.core.ids import new_id
from server.grids.models import Grid
from server.org.models import Unit, User
from server.staff.rules import CheckKind, CheckVia, PostingMode, VisitPeriod


class Posting(Base):
    """A staff member posted to one or more grids for a period (驻格 or 巡格).

    Stationed postings carry a weekly schedule (ISO weekdays, local hours); patrolling ones a
    number of visits per grid per week or month. ``valid_to`` is inclusive; ending a posting
    sets it (and ``ended_at``), nothing is deleted.
    """

    __tablename__ = "postings"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    staff_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    department_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    mode: Mapped[PostingMode] = mapped_column(str_enum(PostingMode, 12))
    weekdays: Mapped[list[int] | None] = mapped_column(sa.JSON)
    day_start: Mapped[time | None] = mapped_column(sa.Time)
    day_end: Mapped[time | None] = mapped_column(sa.Time)
    visits_required: Mapped[int | None] = mapped_column(sa.Integer)
    visit_period: Mapped[VisitPeriod | None] = mapped_column(str_enum(VisitPeriod, 8))
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(sa.String(500))

    staff: Mapped[User] = relationship(foreign_keys=[staff_user_id], lazy="joined")
    department: Mapped[Unit] = relationship(foreign_keys=[department_id], lazy="joined")
    grid_rows: Mapped[list[PostingGrid]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PostingGrid.grid_id"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "visits_required IS NULL OR visits_required > 0", name="visits_required"
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    @property
    def grid_ids(self) -> list[uuid.UUID]:
        return [g.grid_id for g in self.grid_rows]


class PostingGrid(Base):
    __tablename__ = "posting_grids"

    posting_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("postings.id"), primary_key=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("grids.id"), primary_key=True, index=True
    )

    grid: Mapped[Grid] = relationship(lazy="joined", innerjoin=True)


class FieldCheck(Base):
    """A check-in or check-out: where the phone was, how sure, and what the server decided.

    The id is minted by the phone: sending the same check-in again is answered with the
    first one. ``recorded_at`` is server time (authoritative); ``device_time`` is kept next
    to it. Outside the tolerance the check is kept and flagged, never dropped.
    """

    __tablename__ = "field_checks"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[CheckKind] = mapped_column(str_enum(CheckKind, 10))
    grid_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("grids.id"))
    posting_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("postings.id"))
    check_in_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    input_crs: Mapped[str] = mapped_column(sa.String(10))
    input_lon: Mapped[float] = mapped_column(sa.Float)
    input_lat: Mapped[float] = mapped_column(sa.Float)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    distance_m: Mapped[float | None] = mapped_column(sa.Float)
    tolerance_m: Mapped[float] = mapped_column(sa.Float)
    inside: Mapped[bool] = mapped_column(sa.Boolean)
    flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    via: Mapped[CheckVia] = mapped_column(str_enum(CheckVia, 8))
    device_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    note: Mapped[str | None] = mapped_column(sa.String(500))

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        sa.Index("ix_field_checks_user_recorded", "user_id", "recorded_at"),
        sa.Index("ix_field_checks_grid_recorded", "grid_id", "recorded_at"),
    )

    def as_fact(self) -> dict[str, Any]:
        return {"id": str(self.id), "kind": self.kind.value, "inside": self.inside}


class TrackFix(Base):
    """One GPS fix of a patrol track. Narrow on purpose (a district writes millions a day):
    the primary key (user, time) is the idempotency key and the only index, and it serves
    every read (a user's track over a period, the latest fix per user). Positions are
    WGS-84 floats, not geometry: tracks are measured in Python (geo/track.py)."""

    __tablename__ = "track_fixes"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    fixed_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    speed_mps: Mapped[float | None] = mapped_column(sa.Float)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
