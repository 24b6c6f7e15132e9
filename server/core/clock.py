"""The one clock: aware UTC. Services take ``now`` as an argument; entry points call this."""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC)
