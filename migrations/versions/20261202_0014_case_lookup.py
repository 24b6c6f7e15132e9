"""case lookup: the 12345 platform's order number, phone lookups, the access log by user

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

``cases.city_order_number`` is unique where given (both databases allow many NULLs in a unique
index). The personal-data access log gets the indexes its auditors' reads use: by user and
newest first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("cases", sa.Column("city_order_number", sa.String(length=40), nullable=True))
    op.create_index("uq_cases_city_order_number", "cases", ["city_order_number"], unique=True)
    op.create_index("ix_cases_resident_phone", "cases", ["resident_phone"])
    op.create_index("ix_personal_data_access_user_at", "personal_data_access", ["user_id", "at"])
    op.create_index("ix_personal_data_access_at", "personal_data_access", ["at", "id"])


def downgrade():
    op.drop_index("ix_personal_data_access_at", table_name="personal_data_access")
    op.drop_index("ix_personal_data_access_user_at", table_name="personal_data_access")
    op.drop_index("ix_cases_resident_phone", table_name="cases")
    op.drop_index("uq_cases_city_order_number", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("city_order_number")
