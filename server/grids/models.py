"""Grids with their history, grid membership of workers, and the index generation counter."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.core.db import Base, GeometryType, UTCDateTime, str_enum
from server.core.ids import new_id
from server.grids.rules import GridKind
from server.org.models import Unit


class Grid(Base):
    """One version of a grid. Retiring keeps the row, so old cases keep their grid.

    A boundary change is a new row with the same code whose ``replaces_id`` points at the
    retired one; only one active row per code (partial unique index).
    """

    __tablename__ = "grids"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[GridKind] = mapped_column(str_enum(GridKind, 10))
    township_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    community_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    owner_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    # Special grids only: what the place is (school, hospital...), named by catalogue rules.
    special_kind: Mapped[str | None] = mapped_column(sa.String(40))
    # MultiPolygon in WGS-84 lon/lat (CGCS2000 is taken as equal).
    boundary: Mapped[BaseGeometry] = mapped_column(GeometryType, nullable=False)
    # The bounding box as plain columns: SQLite's candidate filter, and cheap to export.
    min_lon: Mapped[float] = mapped_column(sa.Float)
    min_lat: Mapped[float] = mapped_column(sa.Float)
    max_lon: Mapped[float] = mapped_column(sa.Float)
    max_lat: Mapped[float] = mapped_column(sa.Float)
    area_m2: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("grids.id"))
    # The import that created this version (None for versions older than import records).
    import_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("grid_imports.id"))

    township: Mapped[Unit] = relationship(foreign_keys=[township_id], lazy="joined")
    community: Mapped[Unit | None] = relationship(foreign_keys=[community_id], lazy="joined")
    owner_unit: Mapped[Unit | None] = relationship(foreign_keys=[owner_unit_id], lazy="joined")

    __table_args__ = (
        sa.Index(
            "uq_grids_active_code",
            "code",
            unique=True,
            sqlite_where=sa.text("retired_at IS NULL"),
            postgresql_where=sa.text("retired_at IS NULL"),
        ),
        sa.Index("ix_grids_bbox", "min_lon", "max_lon", "min_lat", "max_lat"),
        sa.CheckConstraint("min_lon <= max_lon AND min_lat <= max_lat", name="bbox"),
    )

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


class GridImport(Base):
    """One grid import or replacement: who, when, and any tiling problems let through.

    ``topology_override`` is set when the caller passed ``override_topology``; the problems
    that would have refused the file are kept in ``overridden_problems`` (the same dicts as
    the 422's details), with the reason the caller gave.
    """

    __tablename__ = "grid_imports"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    imported_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(sa.String(20))  # "api" | "cli" | "demo"
    feature_count: Mapped[int] = mapped_column(sa.Integer)
    replaced_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    topology_override: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(sa.Text)
    overridden_problems: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)


class GridMember(Base):
    """A grid worker (or leader) responsible for a grid."""

    __tablename__ = "grid_members"

    grid_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("grids.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GridGeneration(Base):
    """One row counting grid changes. Each process compares it with its in-memory index.

    Bumped in the same transaction as the change, so any process on any host that reads a
    newer value after the commit knows its STRtree is stale; see ``server.grids.index_cache``.
    """

    __tablename__ = "grid_generation"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)
