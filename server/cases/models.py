"""Cases, their append-only events, returns, special-grid links and personal-data view log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.rules import (
    AppealType,
    CaseStatus,
    Channel,
    RatingChannel,
    RatingSource,
    ReviewOutcome,
    Satisfaction,
    Urgency,
)
from server.catalogue.models import CatalogueItem
from server.core.db import Base, GeometryType, UTCDateTime, str_enum
from server.core.ids import new_id
from server.org.models import Unit


class Case(Base):
    """One resident's appeal from intake to close. ``version`` guards against lost updates."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    # The client's idempotency key: a retried intake finds the case it already created.
    client_request_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # The 12345 platform's own order number (工单编号), given at intake; one case per order.
    city_order_number: Mapped[str | None] = mapped_column(sa.String(40))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 20))
    appeal_type: Mapped[AppealType] = mapped_column(str_enum(AppealType, 20))
    category_code: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, 10))
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, 20))

    # Where: WGS-84 as stored, the coordinates as the client sent them, and the address.
    lon: Mapped[float | None] = mapped_column(sa.Float)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    location: Mapped[BaseGeometry | None] = mapped_column(GeometryType)
    input_crs: Mapped[str | None] = mapped_column(sa.String(10))
    input_lon: Mapped[float | None] = mapped_column(sa.Float)
    input_lat: Mapped[float | None] = mapped_column(sa.Float)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    # Assigned at intake and kept: a later grid change does not move an old case.
    basic_grid_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("grids.id"))
    basic_grid_code: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    assignment_method: Mapped[str | None] = mapped_column(sa.String(10))
    assignment_distance_m: Mapped[float | None] = mapped_column(sa.Float)
    township_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    district_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))

    resident_name: Mapped[str | None] = mapped_column(sa.String(60))
    resident_phone: Mapped[str | None] = mapped_column(sa.String(30))
    # Erased GRID_RESIDENT_DATA_RETENTION_DAYS after close (server/retention.py): then the
    # name and phone are NULL, this says when, and ``resident_ref`` (an opaque token shared
    # by the cases that had the same phone) keeps the repeat complaints by phone countable.
    resident_data_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resident_ref: Mapped[str | None] = mapped_column(sa.String(32))
    confidential: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)

    lead_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    returnable: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    needs_triage: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    triage_reason: Mapped[str | None] = mapped_column(sa.String(200))

    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    received_by_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_by_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The status a refused return goes back to.
    status_before_return: Mapped[CaseStatus | None] = mapped_column(str_enum(CaseStatus, 20))

    result: Mapped[str | None] = mapped_column(sa.Text)
    resolved: Mapped[bool | None] = mapped_column(sa.Boolean)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(str_enum(Satisfaction, 20))
    rehandle_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    extension_state: Mapped[str | None] = mapped_column(sa.String(10))  # requested|approved|refused
    extension_requested_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who asked, so that nobody approves their own request (separation of duties).
    extension_requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id"))
    extension_requested_by_unit_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("units.id"))
    exemption_state: Mapped[str | None] = mapped_column(sa.String(10))
    exemption_requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id"))
    exemption_requested_by_unit_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("units.id"))
    exempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 剔除 approved
    master_case_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # 下交群评: the community reviewing the case, by when, and what its review came to. The
    # lead unit's own ``result`` is kept; the review has its own fields.
    handed_down_to_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_outcome: Mapped[ReviewOutcome | None] = mapped_column(str_enum(ReviewOutcome, 20))
    review_note: Mapped[str | None] = mapped_column(sa.Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    lead_unit: Mapped[Unit | None] = relationship(foreign_keys=[lead_unit_id], lazy="joined")
    # Its category in the catalogue, for the name beside the code (codes are never deleted).
    category: Mapped[CatalogueItem | None] = relationship(
        primaryjoin="foreign(Case.category_code) == CatalogueItem.code", viewonly=True)
    township: Mapped[Unit | None] = relationship(foreign_keys=[township_id], lazy="joined")
    cooperators: Mapped[list[CaseCooperator]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CaseCooperator.unit_id"
    )
    special_grids: Mapped[list[CaseSpecialGrid]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CaseSpecialGrid.grid_code"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.Index("ix_cases_township_status_received", "township_id", "status", "received_at"),
        sa.Index("ix_cases_received", "received_at", "id"),
        sa.Index("ix_cases_lon_lat", "lon", "lat"),
        sa.Index("uq_cases_city_order_number", "city_order_number", unique=True),
        sa.Index("ix_cases_resident_phone", "resident_phone"),
        sa.Index("ix_cases_closed_at", "closed_at"),
    )


class CaseCooperator(Base):
    """A cooperating unit of a case (协办, 一单多派); a table so departments can filter by it."""

    __tablename__ = "case_cooperators"

    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("units.id"), primary_key=True, index=True
    )


class CaseSpecialGrid(Base):
    __tablename__ = "case_special_grids"

    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("grids.id"), primary_key=True)
    grid_code: Mapped[str] = mapped_column(sa.String(40), index=True)


class CaseEvent(Base):
    """Append-only: the API offers no way to change or delete one (parcel-style tracking)."""

    __tablename__ = "case_events"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    # No index of its own: the unique (case_id, seq) index serves every lookup by case.
    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"))
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
    # Never loaded (events are read by case_id); it tells the unit of work to insert a new
    # case before its events when both go in one flush.
    case: Mapped[Case] = relationship(lazy="raise", viewonly=False)

    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)


class CaseReturn(Base):
    """Every return request and its decision, counted per unit and month (退单率)."""

    __tablename__ = "case_returns"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved: Mapped[bool | None] = mapped_column(sa.Boolean)
    with_fault: Mapped[bool | None] = mapped_column(sa.Boolean)
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))


class CaseRating(Base):
    """One callback (回访) and the resident's rating: append-only, the facts 三率 are built on.

    ``recorded_at`` (server time) decides the evaluation period; ``rated_at`` is when the
    resident rated as reported (the city platform's time, or ``recorded_at`` for our own
    callbacks). ``lead_unit_id`` is the unit judged: the lead when the rating came in.
    """

    __tablename__ = "case_ratings"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    # No index of its own: the unique (case_id, seq) index serves every lookup by case.
    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(sa.Integer)  # 1 for the case's first callback
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lead_unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"))
    resolved: Mapped[bool] = mapped_column(sa.Boolean)
    satisfaction: Mapped[Satisfaction] = mapped_column(str_enum(Satisfaction, 20))
    double_yes: Mapped[bool] = mapped_column(sa.Boolean)
    source: Mapped[RatingSource] = mapped_column(str_enum(RatingSource, 20))
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_by_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    rater: Mapped[str | None] = mapped_column(sa.String(100))  # agent or platform name
    channel: Mapped[RatingChannel | None] = mapped_column(str_enum(RatingChannel, 10))
    rehandle_count: Mapped[int] = mapped_column(sa.Integer)  # re-handlings before this rating
    comment: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.UniqueConstraint("case_id", "seq", name="uq_case_ratings_case_seq"),
        sa.Index("ix_case_ratings_recorded_at", "recorded_at"),
        sa.Index("ix_case_ratings_lead_unit_recorded", "lead_unit_id", "recorded_at"),
    )


class CaseNumberCounter(Base):
    """Per-year counter for human case numbers (a row lock, never max()+1)."""

    __tablename__ = "case_number_counters"

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(sa.Integer)


class PersonalDataAccess(Base):
    """Who saw a resident's unmasked name and phone, when and why (the regulation's duty).

    ``purpose``: ``view`` (a case shown unmasked) or ``lookup`` (found by the resident's
    phone). Auditors read it per case or per user, newest first.
    """

    __tablename__ = "personal_data_access"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(sa.String(30))

    __table_args__ = (sa.Index("ix_personal_data_access_user_at", "user_id", "at"),
                      sa.Index("ix_personal_data_access_at", "at", "id"))
