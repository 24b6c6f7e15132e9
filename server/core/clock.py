"""The one clock: aware UTC. Services take ``now`` as an argument; entry points call this."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# Beijing time: calendar years of case numbers, local days and months of reports and postings.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    return datetime.now(UTC)
