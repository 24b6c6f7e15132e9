"""Special grids say what they are (school, hospital...), for dispatch by place (issue 11)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02

``grids.special_kind``: the kind of place a special grid covers, named by catalogue rules
as ``special_grid_owner:<kind>``. NULL for basic grids and for special grids imported
before this column existed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("grids") as batch:
        batch.add_column(sa.Column("special_kind", sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table("grids") as batch:
        batch.drop_column("special_kind")
