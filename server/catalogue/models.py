"""Items of the dispatch catalogue (派单事项目录): one list for the whole deployment."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from server.catalogue.rules import ItemSpec, code_level, hours_from_minutes
from server.core.db import Base, UTCDateTime
from server.core.ids import new_id


class CatalogueItem(Base):
    """One category of the catalogue. Never deleted, only deactivated: cases keep its code.

    ``parent_code`` is the code without its last segment; the import service guarantees
    the parent exists, and since nothing is deleted it cannot disappear later (no foreign
    key, so a file may list children before parents). ``lead`` and ``cooperating`` hold
    canonical responsibility tokens, resolved to units per case by ``plan_dispatch``.
    """

    __tablename__ = "catalogue_items"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    parent_code: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    lead: Mapped[str | None] = mapped_column(sa.String(60))
    cooperating: Mapped[list[str]] = mapped_column(sa.JSON)
    # Minutes, so that 0.5 h is exact; the API speaks hours.
    response_limit_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    completion_limit_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    returnable: Mapped[bool] = mapped_column(sa.Boolean)
    active: Mapped[bool] = mapped_column(sa.Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint(
            "response_limit_minutes > 0 AND completion_limit_minutes > 0", name="limits_positive"
        ),
        sa.CheckConstraint(
            "completion_limit_minutes >= response_limit_minutes", name="completion_after_response"
        ),
        sa.CheckConstraint(
            "lead IS NULL OR (response_limit_minutes IS NOT NULL "
            "AND completion_limit_minutes IS NOT NULL)",
            name="lead_has_limits",
        ),
    )

    @property
    def spec(self) -> ItemSpec:
        return ItemSpec(
            code=self.code,
            name=self.name,
            description=self.description,
            lead=self.lead,
            cooperating=tuple(self.cooperating),
            response_limit_minutes=self.response_limit_minutes,
            completion_limit_minutes=self.completion_limit_minutes,
            returnable=self.returnable,
            active=self.active,
        )

    @property
    def level(self) -> int:
        return code_level(self.code)

    @property
    def dispatchable(self) -> bool:
        return self.active and self.lead is not None

    @property
    def response_limit_hours(self) -> int | float | None:
        return hours_from_minutes(self.response_limit_minutes)

    @property
    def completion_limit_hours(self) -> int | float | None:
        return hours_from_minutes(self.completion_limit_minutes)
