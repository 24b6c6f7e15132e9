"""Open311 GeoReport v2: API keys per channel and the Open311 side of cases (issue 13)

Revision ID: 0019
Revises: 0023
Create Date: 2026-12-02

``open311_keys``: a channel's key, stored as its SHA-256, tied to the receiving unit and to
an inactive service account. ``open311_requests``: per case filed through Open311, the
resident's e-mail, device and account ids, the token, undefined attributes.
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0019"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "open311_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=8), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", server.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_open311_keys_unit_id_units")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_open311_keys_user_id_users")),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_open311_keys_created_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_keys_key_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_open311_keys_user_id")),
    )
    op.create_index(op.f("ix_open311_keys_unit_id"), "open311_keys", ["unit_id"], unique=False)
    op.create_table(
        "open311_requests",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("device_id", sa.String(length=200), nullable=True),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("requested_at", server.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_open311_requests_case_id_cases")),
        sa.ForeignKeyConstraint(["key_id"], ["open311_keys.id"],
                                name=op.f("fk_open311_requests_key_id_open311_keys")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_open311_requests")),
        sa.UniqueConstraint("token", name=op.f("uq_open311_requests_token")),
    )
    op.create_index(op.f("ix_open311_requests_key_id"), "open311_requests", ["key_id"],
                    unique=False)
    op.create_index(op.f("ix_open311_requests_requested_at"), "open311_requests",
                    ["requested_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_open311_requests_requested_at"), table_name="open311_requests")
    op.drop_index(op.f("ix_open311_requests_key_id"), table_name="open311_requests")
    op.drop_table("open311_requests")
    op.drop_index(op.f("ix_open311_keys_unit_id"), table_name="open311_keys")
    op.drop_table("open311_keys")
