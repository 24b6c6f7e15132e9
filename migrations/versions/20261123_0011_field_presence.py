"""department staff postings, check-ins and patrol tracks (issue 5)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23

Reserved in the chain so that work done in parallel does not fork it; filled in by that work.
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
