"""Opaque identifiers: UUIDs for objects, url-safe random strings for secrets."""

from __future__ import annotations

import secrets
import uuid


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
