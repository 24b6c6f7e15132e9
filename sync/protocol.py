"""Pure rules of the pull protocol: cursors, the start-over decision, the delta, page order.

A cursor is an integer the server gave to one device. The server keeps, per device, what the
phone holds and the page it was sent last, so a cursor only has to say which answer the
phone received: the one before the last page (the answer was lost: send that page again),
the last page (go on), or nothing we know (start over). Cursors of one device only grow; each
is at least the change-feed position its data is complete up to, so the numbers stay
meaningful in logs. Nothing here touches a database or the web.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from enum import IntEnum, StrEnum

# The largest integer a JavaScript number holds exactly (Number.MAX_SAFE_INTEGER).
MAX_SAFE_CURSOR = 2**53 - 1


class Tier(IntEnum):
    """How urgently a record is needed in a first sync: smaller tiers travel first."""

    REFERENCE = 0  # grids, units, catalogue: needed to show anything
    URGENT = 1  # open cases, their events, the inbox, my rejected operations
    HISTORY = 2  # cases closed recently and their events


class Kind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class Verdict(StrEnum):
    FRESH = "fresh"  # no cursor: forget what the phone held, send the whole scope
    NEXT = "next"  # the phone got the last page: go on from there
    # From the last confirmed cursor: an ordinary pull, or the last page was lost (sent again).
    RESUME = "resume"
    START_OVER = "start_over"


class StartOverReason(StrEnum):
    UNKNOWN = "unknown_cursor"  # never given to this device (or its state was removed)
    TOO_OLD = "cursor_too_old"  # older than what the server keeps (tombstones pruned)
    FROM_THE_FUTURE = "cursor_from_the_future"  # e.g. the server was restored from a backup


@dataclass(frozen=True)
class DeviceCursors:
    """The cursors the server holds for one device."""

    acked: int | None  # the phone had received everything up to this cursor
    served: int | None  # the cursor sent with the last page, not yet confirmed
    stale: bool = False  # its data needs changes the server no longer keeps


@dataclass(frozen=True)
class CursorJudgement:
    verdict: Verdict
    reason: StartOverReason | None = None


def judge_cursor(sent: int | None, device: DeviceCursors | None) -> CursorJudgement:
    """What a pull with cursor ``sent`` means for a device in state ``device``."""
    if sent is None:
        return CursorJudgement(Verdict.FRESH)
    known = [c for c in (device.acked, device.served) if c is not None] if device else []
    if not known:
        return CursorJudgement(Verdict.START_OVER, StartOverReason.UNKNOWN)
    if sent > max(known):
        return CursorJudgement(Verdict.START_OVER, StartOverReason.FROM_THE_FUTURE)
    if device.stale:
        return CursorJudgement(Verdict.START_OVER, StartOverReason.TOO_OLD)
    if sent == device.served:
        return CursorJudgement(Verdict.NEXT)
    if sent == device.acked:
        return CursorJudgement(Verdict.RESUME)
    # Older than the phone's last confirmed cursor (a phone restored from its own backup):
    # the server no longer knows what that phone holds.
    return CursorJudgement(Verdict.START_OVER, StartOverReason.TOO_OLD)


def issue_cursor(complete_through: int, device: DeviceCursors | None) -> int:
    """A new cursor for a page: above every cursor the device had, and at least the feed
    position its data is complete up to."""
    previous = [c for c in (device.acked, device.served) if c is not None] if device else []
    cursor = max([complete_through, *(c + 1 for c in previous)])
    if cursor > MAX_SAFE_CURSOR:
        raise OverflowError("sync cursor beyond JavaScript's safe integers")
    return cursor


@dataclass(frozen=True)
class Item:
    """One record the phone must receive: (table, id), what happened, and its place in order."""

    table: str
    id: uuid.UUID
    kind: Kind
    tier: Tier = Tier.URGENT
    parent_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Row:
    """A row in the device's scope: its tier and the record it hangs off."""

    tier: Tier
    parent_id: uuid.UUID | None = None


def reconcile(table: str, in_scope: Mapping[uuid.UUID, Row],
              held: Set[uuid.UUID], changed: Set[uuid.UUID]) -> list[Item]:
    """The whole scope against what the phone holds: rows entering are created (whatever
    their age), rows leaving are deleted, held rows that changed are updated."""
    items = [Item(table, i, Kind.DELETED) for i in held - in_scope.keys()]
    for row_id, row in in_scope.items():
        if row_id not in held:
            items.append(Item(table, row_id, Kind.CREATED, row.tier, row.parent_id))
        elif row_id in changed:
            items.append(Item(table, row_id, Kind.UPDATED, row.tier, row.parent_id))
    return items


def classify_changed(table: str, in_scope: Mapping[uuid.UUID, Row],
                     held: Set[uuid.UUID]) -> list[Item]:
    """Rows that changed since the cursor: ``in_scope`` are those of them the device should
    hold now, ``held`` those of them it holds. Held and gone (deleted, or out of scope) is a
    tombstone; in scope and not held is sent whole."""
    items = [Item(table, i, Kind.DELETED) for i in held - in_scope.keys()]
    items += [Item(table, i, Kind.UPDATED if i in held else Kind.CREATED, r.tier, r.parent_id)
              for i, r in in_scope.items()]
    return items


def merge(items: Iterable[Item]) -> list[Item]:
    """One item per (table, id); a row reached twice (its own change and its parent's
    entering) keeps the first."""
    seen: dict[tuple[str, uuid.UUID], Item] = {}
    for item in items:
        seen.setdefault((item.table, item.id), item)
    return list(seen.values())


def page_order(items: Iterable[Item], table_rank: Mapping[str, int]) -> list[Item]:
    """Most urgent first: tombstones (they free the phone), then reference data, open work,
    history; a record's children right after it (grouped by the parent's id)."""

    def key(item: Item) -> tuple:
        if item.kind is Kind.DELETED:
            return (0, 0, "", table_rank.get(item.table, 0), str(item.id))
        group = item.parent_id or item.id
        return (1, int(item.tier), str(group), table_rank.get(item.table, 0), str(item.id))

    return sorted(items, key=key)
