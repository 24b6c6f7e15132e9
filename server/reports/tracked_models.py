"""每月一题 (tracked problems), and the case indexes the hotspot GROUP BY queries use."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from server.cases.models import Case
from server.core.db import Base, UTCDateTime
from server.core.ids import new_id


class TrackedProblem(Base):
    """A high-frequency problem a district chose to act on (每月一题): which categories, in
    which territory, since when. Its counts are computed from cases, never stored."""

    __tablename__ = "tracked_problems"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    category_codes: Mapped[list[str]] = mapped_column(sa.JSON)
    area_unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"))
    # The district the area lies in: whose problem it is, and who sees it.
    district_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    starts_on: Mapped[date] = mapped_column(sa.Date)  # a Beijing-time day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))


# Hotspot and 万人诉求比 counts are one GROUP BY over a period's cases of one territory:
# these cover it (index-only on PostgreSQL). Declared here, with the queries that need them,
# rather than in the case model.
# (linked_at too: a linked duplicate is left out of the counts.)
sa.Index("ix_cases_district_received_category", Case.district_id, Case.received_at,
         Case.category_code, Case.basic_grid_code, Case.linked_at)
sa.Index("ix_cases_township_received_category", Case.township_id, Case.received_at,
         Case.category_code, Case.basic_grid_code, Case.linked_at)
