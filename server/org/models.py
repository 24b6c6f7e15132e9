"""Units of the administrative tree and the users who belong to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.core.db import Base, GeometryType, UTCDateTime, str_enum
from server.core.ids import new_id
from server.org.rules import Role, UnitKind


class Unit(Base):
    """A node of the tree: district, township, community, command centre, department, owner.

    ``path`` is the materialised chain of ancestor ids ("/<id>/<id>/"), so a subtree is one
    indexed prefix query whatever the depth.
    """

    __tablename__ = "units"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, 20))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(600), index=True)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    # For departments: which function (city_management, market_supervision, ...).
    department_kind: Mapped[str | None] = mapped_column(sa.String(40))
    # Townships: the territory their basic grids must tile (used by the topology audit).
    # Deferred: units are joined into nearly every case and grid row, and nothing there
    # needs their outline; it loads on first access.
    boundary: Mapped[BaseGeometry | None] = mapped_column(GeometryType, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    __table_args__ = (
        sa.CheckConstraint("population IS NULL OR population >= 0", name="population"),
    )


class UnitRevision(Base):
    """One change of a unit: name, population, parent code (``before``/``after`` JSON) and
    boundary (geometry columns, so PostGIS can show old outlines). Newest last by time."""

    __tablename__ = "unit_revisions"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(sa.String(20))  # "edit" | "boundary_import"
    before: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    boundary_before: Mapped[BaseGeometry | None] = mapped_column(GeometryType)
    boundary_after: Mapped[BaseGeometry | None] = mapped_column(GeometryType)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 30), primary_key=True)
