"""case numbers from a sequence (issue 3)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23

Reserved in the chain so that work done in parallel does not fork it; filled in by that work.
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
