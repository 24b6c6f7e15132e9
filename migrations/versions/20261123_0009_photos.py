"""photos: stored photos by SHA-256, resumable uploads, links to cases

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")


def _enum(values, length):
    return sa.Enum(*values, native_enum=False, length=length, create_constraint=False)


def upgrade():
    op.create_table(
        "photos",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", _enum(PHOTO_TYPES, 20), nullable=False),
        sa.Column("stored_at", T(), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by_user_id"], ["users.id"],
                                name=op.f("fk_photos_uploaded_by_user_id_users")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_photos")),
    )
    op.create_table(
        "photo_uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", _enum(PHOTO_TYPES, 20), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", T(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        sa.Column("finished_at", T(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_photo_uploads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_uploads")),
        sa.UniqueConstraint("sha256", "user_id", name=op.f("uq_photo_uploads_sha256")),
    )
    op.create_table(
        "photo_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("subject_type", _enum(("case",), 20), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("linked_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("linked_at", T(), nullable=False),
        sa.ForeignKeyConstraint(["linked_by_user_id"], ["users.id"],
                                name=op.f("fk_photo_links_linked_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_links")),
        sa.UniqueConstraint("sha256", "subject_type", "subject_id",
                            name=op.f("uq_photo_links_sha256")),
    )
    op.create_index("ix_photo_links_subject", "photo_links", ["subject_type", "subject_id"])


def downgrade():
    op.drop_index("ix_photo_links_subject", table_name="photo_links")
    op.drop_table("photo_links")
    op.drop_table("photo_uploads")
    op.drop_table("photos")
