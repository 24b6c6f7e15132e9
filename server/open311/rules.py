"""Open311's rules in plain Python: status mapping, the request window, retry identity.

GeoReport v2 (open311.org, frozen) knows two statuses, ``open`` and ``closed``; our case loop
has nine. A case is ``closed`` for Open311 only when the loop is closed (after the callback):
a completed case awaiting its callback is still ``open``, with a note saying so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from server.cases.rules import CaseStatus
from server.core.i18n import N_

DEFAULT_WINDOW = timedelta(days=90)  # the spec: "defaults to most recent 90 days"
MAX_WINDOW = timedelta(days=90)  # "may not span more than 90 days"
MAX_RESULTS = 1000  # "a maximum of 1000 requests"
SUBCATEGORY = "subcategory"  # the one attribute we define: a child item of the catalogue


class Open311Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


STATUS_NOTES = {
    CaseStatus.RECEIVED: N_("Received; waiting to be dispatched."),
    CaseStatus.DISPATCHED: N_("Dispatched to the responsible unit."),
    CaseStatus.ACCEPTED: N_("Accepted by the responsible unit."),
    CaseStatus.IN_PROGRESS: N_("Being handled."),
    CaseStatus.RETURN_REQUESTED: N_("The unit asked to return it; it is being dispatched again."),
    CaseStatus.ESCALATED: N_("Referred to the district for coordination."),
    CaseStatus.HANDED_DOWN: N_("Handed to the community for residents' review."),
    CaseStatus.COMPLETED: N_("Handled; awaiting the callback to the resident."),
    CaseStatus.CLOSED: N_("Closed."),
}


def open311_status(status: CaseStatus) -> Open311Status:
    return Open311Status.CLOSED if status is CaseStatus.CLOSED else Open311Status.OPEN


def case_statuses(wanted: Iterable[Open311Status]) -> frozenset[CaseStatus]:
    """The case states behind a ``status=open,closed`` filter."""
    return frozenset(s for s in CaseStatus if open311_status(s) in set(wanted))


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


class WindowTooWide(ValueError):
    pass


def request_window(start: datetime | None, end: datetime | None, *, now: datetime) -> Window:
    """The spec's date range: 90 days ending now by default, never wider than 90 days."""
    if start is None and end is None:
        return Window(now - DEFAULT_WINDOW, now)
    if start is None:
        return Window(end - DEFAULT_WINDOW, end)
    if end is None:
        return Window(start, start + DEFAULT_WINDOW)
    if end < start:
        raise WindowTooWide("end_date is before start_date")
    if end - start > MAX_WINDOW:
        raise WindowTooWide("start_date and end_date may not span more than 90 days")
    return Window(start, end)


def retry_ids(key_id: str, fields: Mapping[str, Iterable[str]], *, now: datetime,
              window: timedelta) -> tuple[str, str]:
    """The ``client_request_id`` of this POST in this window, and in the window before.

    Everything the resident sent (``device_id``, ``account_id``, the body; not the key, which
    is the channel's and is hashed in as its id) makes the identity. Time is cut into windows
    of ``window``; a retry is found in the current or the previous one, and the caller checks
    that the case it finds is younger than ``window``, so the window slides.
    """
    canonical = json.dumps(
        sorted((name, sorted(values)) for name, values in fields.items()), ensure_ascii=False)
    bucket = int(now.timestamp() // window.total_seconds())

    def digest(n: int) -> str:
        return hashlib.sha256(f"open311|{key_id}|{n}|{canonical}".encode()).hexdigest()

    return digest(bucket), digest(bucket - 1)


def resident_name(first: str | None, last: str | None) -> str | None:
    """Chinese names are family name first, written together (张 + 三 = 张三)."""
    first, last = (first or "").strip(), (last or "").strip()
    if not first and not last:
        return None
    if _is_cjk(first + last):
        return (last + first)[:60]
    return " ".join(p for p in (first, last) if p)[:60]


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


TITLE_SEPARATOR = "："  # a case's title: the service's name, then the resident's first line


def title_without_resident_text(title: str) -> str:
    """An Open311 case's title with the resident's words cut off (residents' data erasure):
    the service's name, as the title was made from it."""
    return title.split(TITLE_SEPARATOR, 1)[0]
