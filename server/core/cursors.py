"""Opaque keyset cursors for lists: (sort key, row id) in URL-safe base64, one way for all."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from server.core.errors import Invalid


def _invalid() -> Invalid:
    return Invalid.for_field("cursor", "This cursor is not one we gave out.", location="query",
                             code="invalid_cursor")


def encode_cursor(key: str | datetime, row_id: uuid.UUID) -> str:
    text = key.isoformat() if isinstance(key, datetime) else key
    return base64.urlsafe_b64encode(f"{text}|{row_id.hex}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    """(key, id); any cursor we did not give out is a 422 ``invalid_cursor`` on ``cursor``."""
    try:
        key, hex_id = base64.urlsafe_b64decode(cursor.encode()).decode().rsplit("|", 1)
        return key, uuid.UUID(hex=hex_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid() from exc


def decode_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A cursor whose key is an aware time (newest-first lists)."""
    key, row_id = decode_cursor(cursor)
    try:
        at = datetime.fromisoformat(key)
    except ValueError as exc:
        raise _invalid() from exc
    if at.tzinfo is None:
        raise _invalid()
    return at, row_id
