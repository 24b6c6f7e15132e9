"""Open311 API keys (one per channel, hashed at rest) and what a resident's POST carried."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.core.db import Base, UTCDateTime
from server.core.ids import new_id
from server.org.models import Unit


class Open311Key(Base):
    """A channel's key (a website, an app). Only its SHA-256 is stored, like bearer tokens:
    keys are 256 random bits, so a fast hash is enough and the lookup is one equality.

    Cases filed with the key are received under ``unit_id`` (a township's or district's
    command centre) by ``user_id``, an inactive service account that cannot sign in, so every
    event names the channel.
    """

    __tablename__ = "open311_keys"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(120))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(sa.String(8))  # to tell keys apart in lists
    unit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("units.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship(lazy="joined")


class Open311Request(Base):
    """The Open311 side of a case: the resident's contact data (never answered back), the
    token of the POST, and attributes we do not define (kept, not interpreted)."""

    __tablename__ = "open311_requests"

    case_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    key_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("open311_keys.id"), index=True)
    token: Mapped[str] = mapped_column(sa.String(40), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(200))
    device_id: Mapped[str | None] = mapped_column(sa.String(200))
    account_id: Mapped[str | None] = mapped_column(sa.String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
