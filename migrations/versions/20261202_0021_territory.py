"""Territory: grid import records (with topology overrides) and unit revisions (issue 11)

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-02

``grid_imports``: one row per grid import or replacement, with who ran it and, when the
tiling checks were overridden, the reason and the problems that were let through; each grid
version points at the import that created it (``grids.import_id``). ``unit_revisions``: every
change of a unit's name, population, parent or boundary, before and after.
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0021"
down_revision = "0017"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def upgrade():
    op.create_table(
        "grid_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("imported_at", T(), nullable=False),
        sa.Column("imported_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("feature_count", sa.Integer(), nullable=False),
        sa.Column("replaced_codes", sa.JSON(), nullable=False),
        sa.Column("topology_override", sa.Boolean(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("overridden_problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["imported_by_user_id"], ["users.id"],
                                name=op.f("fk_grid_imports_imported_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_imports")),
    )
    op.create_index(op.f("ix_grid_imports_imported_at"), "grid_imports", ["imported_at"])
    _add_reference(op.get_bind().dialect.name, "grids", "import_id", "grid_imports")
    op.create_table(
        "unit_revisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("changed_at", T(), nullable=False),
        sa.Column("changed_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("boundary_before", server.core.db.GeometryType(), nullable=True),
        sa.Column("boundary_after", server.core.db.GeometryType(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_unit_revisions_unit_id_units")),
        sa.ForeignKeyConstraint(["changed_by_user_id"], ["users.id"],
                                name=op.f("fk_unit_revisions_changed_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_revisions")),
    )
    op.create_index(op.f("ix_unit_revisions_unit_id"), "unit_revisions", ["unit_id"])


def _add_reference(dialect, table, column, target):
    """A nullable UUID column referring to ``target``; on SQLite one ALTER with the named
    foreign key (batch mode would copy ``grids``, which cases refer to)."""
    name = op.f(f"fk_{table}_{column}_{target}")
    if dialect == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} CHAR(32) "
                   f"CONSTRAINT {name} REFERENCES {target} (id)")
        return
    op.add_column(table, sa.Column(column, sa.Uuid(), nullable=True))
    op.create_foreign_key(name, table, target, [column], ["id"])


def downgrade():
    op.drop_index(op.f("ix_unit_revisions_unit_id"), table_name="unit_revisions")
    op.drop_table("unit_revisions")
    with op.batch_alter_table("grids") as batch:
        batch.drop_constraint(op.f("fk_grids_import_id_grid_imports"), type_="foreignkey")
        batch.drop_column("import_id")
    op.drop_index(op.f("ix_grid_imports_imported_at"), table_name="grid_imports")
    op.drop_table("grid_imports")
