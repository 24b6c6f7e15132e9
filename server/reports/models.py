"""The one table the evaluation layer owns: each district's evaluation settings, with history."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from server.cases.models import Case
from server.core.db import Base, UTCDateTime
from server.core.ids import new_id

# The evaluation leaves out cases exempted or linked before a period's end. They are a few
# percent of all cases, so partial indexes find them without reading the table (declared
# here, with the queries that need them; migration 0016).
# The id is in the index so that PostgreSQL answers from the index alone.
sa.Index("ix_cases_exempted_at", Case.exempted_at, Case.id,
         sqlite_where=Case.exempted_at.is_not(None), postgresql_where=Case.exempted_at.is_not(None))
sa.Index("ix_cases_linked_at", Case.linked_at, Case.id,
         sqlite_where=Case.linked_at.is_not(None), postgresql_where=Case.linked_at.is_not(None))


class EvaluationSettingsRow(Base):
    """Settings a district put in force from ``effective_from`` (a Beijing-time day) on.

    Append-only: a change is a new row, so a past period is always judged by the settings in
    force then. Weights are stored in basis points of the composite (1000 = 10 %), the
    basic-satisfied weight in thousandths (800 = 0.8): integers, exact on both databases.
    """

    __tablename__ = "evaluation_settings"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    district_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"))
    effective_from: Mapped[date] = mapped_column(sa.Date)
    response_weight_bp: Mapped[int] = mapped_column(sa.Integer)
    resolution_weight_bp: Mapped[int] = mapped_column(sa.Integer)
    satisfaction_weight_bp: Mapped[int] = mapped_column(sa.Integer)
    basic_weight_permille: Mapped[int] = mapped_column(sa.Integer)
    bottom_townships: Mapped[int] = mapped_column(sa.Integer)
    bottom_departments: Mapped[int] = mapped_column(sa.Integer)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (
        sa.Index("ix_evaluation_settings_district_from", "district_id", "effective_from",
                 "set_at"),
        sa.CheckConstraint(
            "response_weight_bp + resolution_weight_bp + satisfaction_weight_bp = 10000",
            name="weights_sum"),
        sa.CheckConstraint("basic_weight_permille BETWEEN 0 AND 1000", name="basic_weight"),
    )
