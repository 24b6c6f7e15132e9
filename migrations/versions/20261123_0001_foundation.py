"""foundation: units, users, roles, tokens, grids, grid members, grid generation

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UNIT_KINDS = ("city", "district", "township", "community", "command_centre", "department",
              "owner_unit")
ROLES = ("grid_worker", "grid_leader", "department_staff", "department_handler",
         "township_dispatcher", "district_dispatcher", "admin", "auditor")


def _enum(values, length, name):
    return sa.Enum(*values, name=name, native_enum=False, length=length, create_constraint=False)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Needs a superuser the first time; a DBA may create it beforehand instead.
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "units",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", _enum(UNIT_KINDS, 20, "unitkind"), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("path", sa.String(length=600), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("department_kind", sa.String(length=40), nullable=True),
        sa.Column("boundary", server.core.db.GeometryType(), nullable=True),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("population IS NULL OR population >= 0", name=op.f("ck_units_population")),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"], name=op.f("fk_units_parent_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )
    op.create_index(op.f("ix_units_parent_id"), "units", ["parent_id"])
    op.create_index(op.f("ix_units_path"), "units", ["path"])

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_users_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_unit_id"), "users", ["unit_id"])

    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", _enum(ROLES, 30, "role"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_roles")),
    )

    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("device_name", sa.String(length=120), nullable=True),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", server.core.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", server.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_auth_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_tokens_token_hash")),
    )
    op.create_index(op.f("ix_auth_tokens_user_id"), "auth_tokens", ["user_id"])
    op.create_index("ix_auth_tokens_user_device", "auth_tokens", ["user_id", "device_id"])

    op.create_table(
        "grids",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", _enum(("basic", "special"), 10, "gridkind"), nullable=False),
        sa.Column("township_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=True),
        sa.Column("owner_unit_id", sa.Uuid(), nullable=True),
        sa.Column("boundary", server.core.db.GeometryType(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("retired_at", server.core.db.UTCDateTime(), nullable=True),
        sa.Column("replaces_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("min_lon <= max_lon AND min_lat <= max_lat", name=op.f("ck_grids_bbox")),
        sa.ForeignKeyConstraint(["community_id"], ["units.id"], name=op.f("fk_grids_community_id_units")),
        sa.ForeignKeyConstraint(["owner_unit_id"], ["units.id"], name=op.f("fk_grids_owner_unit_id_units")),
        sa.ForeignKeyConstraint(["replaces_id"], ["grids.id"], name=op.f("fk_grids_replaces_id_grids")),
        sa.ForeignKeyConstraint(["township_id"], ["units.id"], name=op.f("fk_grids_township_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
    )
    op.create_index(op.f("ix_grids_township_id"), "grids", ["township_id"])
    op.create_index("ix_grids_bbox", "grids", ["min_lon", "max_lon", "min_lat", "max_lat"])
    op.create_index(
        "uq_grids_active_code", "grids", ["code"], unique=True,
        sqlite_where=sa.text("retired_at IS NULL"), postgresql_where=sa.text("retired_at IS NULL"),
    )

    op.create_table(
        "grid_members",
        sa.Column("grid_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_grid_members_grid_id_grids")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_grid_members_user_id_users")),
        sa.PrimaryKeyConstraint("grid_id", "user_id", name=op.f("pk_grid_members")),
    )
    op.create_index(op.f("ix_grid_members_user_id"), "grid_members", ["user_id"])

    generation = op.create_table(
        "grid_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_generation")),
    )
    op.bulk_insert(generation, [{"id": 1, "value": 0}])

    if op.get_bind().dialect.name == "postgresql":
        # GiST indexes serve the && and ST_Intersects of the SQL assignment path and the audit.
        op.execute("CREATE INDEX ix_grids_boundary_gist ON grids USING gist (boundary)")
        op.execute("CREATE INDEX ix_units_boundary_gist ON units USING gist (boundary)")


def downgrade():
    for table in ("grid_generation", "grid_members", "grids", "auth_tokens", "user_roles",
                  "users", "units"):
        op.drop_table(table)
