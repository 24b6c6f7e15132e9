"""Whistle calls, the departments they name, arrivals on site, joint-action records, events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.rules import Satisfaction, Urgency
from server.core.db import Base, GeometryType, UTCDateTime, str_enum
from server.core.ids import new_id
from server.org.models import Unit
from server.whistle.rules import DepartmentRole, WhistleKind, WhistleStatus


class WhistleCall(Base):
    """One call from raise to rating. ``version`` guards against lost updates (like cases)."""

    __tablename__ = "whistle_calls"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    # The client's idempotency key: a retried raise finds the call it already created.
    client_request_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[WhistleKind] = mapped_column(str_enum(WhistleKind, 20))
    category_code: Mapped[str | None] = mapped_column(sa.String(40))
    description: Mapped[str] = mapped_column(sa.Text)
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, 10))
    status: Mapped[WhistleStatus] = mapped_column(str_enum(WhistleStatus, 20))

    # Where: WGS-84 as stored, the coordinates as the client sent them, and the address.
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    location: Mapped[BaseGeometry] = mapped_column(GeometryType)
    input_crs: Mapped[str] = mapped_column(sa.String(10))
    input_lon: Mapped[float] = mapped_column(sa.Float)
    input_lat: Mapped[float] = mapped_column(sa.Float)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    grid_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("grids.id"))
    grid_code: Mapped[str] = mapped_column(sa.String(40))
    township_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"))
    district_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"), index=True)

    linked_case_ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    photos: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # SHA-256 of each photo

    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_by_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    raised_by_unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"))
    # The department that raised it (its handler or staff); None when a township did.
    raised_by_department_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("units.id"), index=True)

    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    judged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    judged_by_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    lead_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    arrival_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How near an arrival must be, fixed by the judgement (the web and phones judge alike).
    arrival_radius_m: Mapped[float | None] = mapped_column(sa.Float)
    arrival_accuracy_cap_m: Mapped[float | None] = mapped_column(sa.Float)

    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    result: Mapped[str | None] = mapped_column(sa.Text)

    event_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    township: Mapped[Unit] = relationship(foreign_keys=[township_id], lazy="joined")
    departments: Mapped[list[WhistleDepartment]] = relationship(
        back_populates="call", cascade="all, delete-orphan", lazy="selectin",
        order_by="WhistleDepartment.position",
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.Index("ix_whistle_calls_township_status_raised", "township_id", "status", "raised_at"),
        sa.Index("ix_whistle_calls_raised", "raised_at", "id"),
    )


class WhistleDepartment(Base):
    """A department on a call: requested by the raiser, named by the judgement (lead or
    cooperating), or both. Its first arrival, its rating and its objection live here.

    Its id is the subject of its arrival deadline (one open deadline per subject and kind).
    """

    __tablename__ = "whistle_call_departments"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    call_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("whistle_calls.id"))
    unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)  # lead first, then the list's order
    requested: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    role: Mapped[DepartmentRole | None] = mapped_column(str_enum(DepartmentRole, 12))
    first_arrival_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_arrival_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating_satisfaction: Mapped[Satisfaction | None] = mapped_column(str_enum(Satisfaction, 20))
    rating_comment: Mapped[str | None] = mapped_column(sa.Text)
    unjustified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unjustified_reason: Mapped[str | None] = mapped_column(sa.Text)
    unjustified_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))

    call: Mapped[WhistleCall] = relationship(back_populates="departments", lazy="raise")
    unit: Mapped[Unit] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "unit_id", name="uq_whistle_call_departments_call_unit"),
    )


class WhistleArrival(Base):
    """报到: one check-in near the call's place; the id is the client's (idempotency).

    Kept even when too far away (``within`` false, flagged): nothing a phone sends is dropped.
    """

    __tablename__ = "whistle_arrivals"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    call_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("whistle_calls.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # server time: deadlines use it
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the phone's, as sent
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    input_crs: Mapped[str] = mapped_column(sa.String(10))
    input_lon: Mapped[float] = mapped_column(sa.Float)
    input_lat: Mapped[float] = mapped_column(sa.Float)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    distance_m: Mapped[float] = mapped_column(sa.Float)
    tolerance_m: Mapped[float] = mapped_column(sa.Float)
    within: Mapped[bool] = mapped_column(sa.Boolean)
    late: Mapped[bool] = mapped_column(sa.Boolean)
    via: Mapped[str] = mapped_column(sa.String(10))  # api | sync


class WhistleAction(Base):
    """A joint-action record by a named department: what was done, photos, result."""

    __tablename__ = "whistle_actions"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    call_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("whistle_calls.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(sa.Text)
    result: Mapped[str | None] = mapped_column(sa.Text)
    photos: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    via: Mapped[str] = mapped_column(sa.String(10))


class WhistleEvent(Base):
    """Append-only, like case events: the API offers no way to change or delete one."""

    __tablename__ = "whistle_events"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    # No index of its own: the unique (call_id, seq) index serves every lookup by call.
    call_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("whistle_calls.id"))
    seq: Mapped[int] = mapped_column(sa.Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(sa.String(30))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_username: Mapped[str | None] = mapped_column(sa.String(64))
    actor_roles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    actor_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Never loaded; orders the INSERT of a new call before its events in one flush.
    call: Mapped[WhistleCall] = relationship(lazy="raise", viewonly=False)

    __table_args__ = (sa.UniqueConstraint("call_id", "seq", name="uq_whistle_events_call_seq"),)
