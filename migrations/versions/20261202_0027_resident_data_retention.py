"""Residents' contact data leaves closed cases after the retention period (issue 14 part 9)

Revision ID: 0027
Revises: 0019
Create Date: 2026-12-02

``cases.resident_data_erased_at``: when the reporting resident's name and phone (and the
Open311 contact fields) were erased, NULL while they are kept. ``cases.resident_ref``: an
opaque token shared by the cases that had the same phone, written at erasure so that the
repeat complaints by phone (重复诉求) of a past period count the same afterwards; it holds no
part of the phone. ``ix_cases_closed_at`` finds the cases due for erasure.
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0027"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("resident_data_erased_at", server.core.db.UTCDateTime(),
                                   nullable=True))
        batch.add_column(sa.Column("resident_ref", sa.String(length=32), nullable=True))
        batch.create_index("ix_cases_closed_at", ["closed_at"], unique=False)


def downgrade():
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_closed_at")
        batch.drop_column("resident_ref")
        batch.drop_column("resident_data_erased_at")
