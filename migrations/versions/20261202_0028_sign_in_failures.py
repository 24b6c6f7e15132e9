"""Failed sign-ins per account, for the backoff and the lock (issue 14, item 2)

Revision ID: 0028
Revises: 0025
Create Date: 2026-12-02

``sign_in_failures``: one row per username that failed to sign in recently: how many times
in a row, the first and latest failure, and until when it is locked. Shared by every host;
deleted by a successful sign-in or an admin's lift (``DELETE /auth/sign-in-locks/{username}``).
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0028"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_in_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_failed_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("locked_until", server.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_sign_in_failures")),
    )


def downgrade():
    op.drop_table("sign_in_failures")
