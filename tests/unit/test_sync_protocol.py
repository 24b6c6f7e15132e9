"""The pull protocol's pure rules: judging cursors, issuing them, the delta, page order."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.protocol import (
    MAX_SAFE_CURSOR,
    DeviceCursors,
    Item,
    Kind,
    Row,
    StartOverReason,
    Tier,
    Verdict,
    classify_changed,
    issue_cursor,
    judge_cursor,
    merge,
    page_order,
    reconcile,
)

A, B, C, D = (uuid.UUID(int=n) for n in range(1, 5))


@pytest.mark.parametrize(("sent", "device", "verdict", "reason"), [
    (None, None, Verdict.FRESH, None),
    (None, DeviceCursors(acked=10, served=11), Verdict.FRESH, None),
    (10, None, Verdict.START_OVER, StartOverReason.UNKNOWN),
    (10, DeviceCursors(acked=None, served=None), Verdict.START_OVER, StartOverReason.UNKNOWN),
    (11, DeviceCursors(acked=10, served=11), Verdict.NEXT, None),
    (10, DeviceCursors(acked=10, served=11), Verdict.RESUME, None),  # the last page was lost
    (10, DeviceCursors(acked=10, served=None), Verdict.RESUME, None),
    (12, DeviceCursors(acked=10, served=11), Verdict.START_OVER, StartOverReason.FROM_THE_FUTURE),
    (9, DeviceCursors(acked=10, served=11), Verdict.START_OVER, StartOverReason.TOO_OLD),
    (10, DeviceCursors(acked=10, served=None, stale=True), Verdict.START_OVER,
     StartOverReason.TOO_OLD),
    (99, DeviceCursors(acked=10, served=None, stale=True), Verdict.START_OVER,
     StartOverReason.FROM_THE_FUTURE),
])
def test_judge_cursor(sent, device, verdict, reason):
    judgement = judge_cursor(sent, device)
    assert (judgement.verdict, judgement.reason) == (verdict, reason)


CURSORS = st.integers(0, 10**12)


@given(CURSORS, st.none() | CURSORS, st.none() | CURSORS)
def test_an_issued_cursor_is_above_the_devices_and_at_least_the_position(position, acked, served):
    cursor = issue_cursor(position, DeviceCursors(acked=acked, served=served))
    assert cursor >= position
    assert all(cursor > c for c in (acked, served) if c is not None)
    # ... so the cursor it replaces can never be mistaken for it.
    assert judge_cursor(cursor, DeviceCursors(acked=acked, served=cursor)).verdict is Verdict.NEXT


def test_cursors_stay_javascript_safe():
    assert issue_cursor(MAX_SAFE_CURSOR, None) == MAX_SAFE_CURSOR
    with pytest.raises(OverflowError):
        issue_cursor(MAX_SAFE_CURSOR, DeviceCursors(acked=MAX_SAFE_CURSOR, served=None))


def test_reconcile_sends_entering_rows_whole_and_leaving_rows_as_tombstones():
    in_scope = {A: Row(Tier.URGENT), B: Row(Tier.HISTORY), C: Row(Tier.URGENT)}
    items = reconcile("cases", in_scope, held={B, C, D}, changed={B, D})
    assert {(i.id, i.kind) for i in items} == {
        (A, Kind.CREATED),  # entered: whatever its age
        (B, Kind.UPDATED),  # held and changed
        (D, Kind.DELETED),  # left the scope
    }  # C: held and unchanged, nothing to send


def test_changed_rows_are_classified_by_scope_and_holding():
    items = classify_changed("cases", {A: Row(Tier.URGENT), B: Row(Tier.URGENT)}, held={B, C})
    assert {(i.id, i.kind) for i in items} == {
        (A, Kind.CREATED), (B, Kind.UPDATED), (C, Kind.DELETED)}


def test_merge_keeps_one_item_per_row():
    items = merge([Item("t", A, Kind.CREATED), Item("t", A, Kind.CREATED),
                   Item("u", A, Kind.DELETED)])
    assert [(i.table, i.kind) for i in items] == [("t", Kind.CREATED), ("u", Kind.DELETED)]


ITEMS = st.lists(st.builds(
    Item, table=st.sampled_from(["cases", "case_events", "grids"]), id=st.uuids(),
    kind=st.sampled_from(list(Kind)), tier=st.sampled_from(list(Tier)),
    parent_id=st.none() | st.sampled_from([A, B])), max_size=30)


@given(ITEMS)
def test_page_order_is_tombstones_then_tiers_with_children_after_their_parent(items):
    ranks = {"grids": 20, "cases": 40, "case_events": 41}
    ordered = page_order(items, ranks)
    assert sorted(ordered, key=repr) == sorted(items, key=repr)
    kinds = [i.kind is not Kind.DELETED for i in ordered]
    assert kinds == sorted(kinds)
    live = [i for i in ordered if i.kind is not Kind.DELETED]
    assert [i.tier for i in live] == sorted(i.tier for i in live)


def test_a_case_comes_right_before_its_events():
    case, other = Item("cases", A, Kind.CREATED), Item("cases", C, Kind.CREATED)
    events = [Item("case_events", uuid.UUID(int=n), Kind.CREATED, parent_id=A) for n in (9, 8)]
    ordered = page_order([events[0], other, events[1], case],
                         {"cases": 40, "case_events": 41})
    position = ordered.index(case)
    assert set(ordered[position + 1:position + 3]) == set(events)
