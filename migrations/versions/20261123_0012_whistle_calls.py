"""township whistle calls and departments reporting on site (issue 5)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23

Reserved in the chain so that work done in parallel does not fork it; filled in by that work.
"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
