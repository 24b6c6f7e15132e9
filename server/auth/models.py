"""Bearer tokens, stored as hashes, one per sign-in (and per device for phones)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.core.db import Base, UTCDateTime
from server.core.ids import new_id
from server.org.models import User


class AuthToken(Base):
    """A token's SHA-256, never the token: a leaked table grants nothing.

    SHA-256 rather than a slow hash is enough because tokens are 256 random bits, not
    guessable passwords, and it keeps the per-request lookup a single indexed equality.
    """

    __tablename__ = "auth_tokens"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # No index of its own: ix_auth_tokens_user_device (user_id first) serves it.
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    # Phones send their own UUID; a new sign-in from the same device revokes the old token.
    device_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    device_name: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (sa.Index("ix_auth_tokens_user_device", "user_id", "device_id"),)


class Device(Base):
    """A phone a user signed in on. The phone makes its own UUID; sync state hangs off this."""

    __tablename__ = "devices"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(120))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # How far the phone's clock is ahead of the server's (seconds, negative: behind), as
    # estimated at its latest push; large skews are flagged on its operations.
    clock_skew_s: Mapped[float | None] = mapped_column(sa.Float)
    clock_skew_measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
