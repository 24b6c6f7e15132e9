"""Pure rules of the push: phones' clocks and what a case's moves mean for offline operations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.cases.rules import Action, CaseStatus
from server.core.i18n import use_locale
from server.org.rules import Role
from sync import clocks, conflicts
from sync.conflicts import CaseState, Moved, TimelineEntry

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TOWNSHIP, DEPARTMENT = uuid.uuid4(), uuid.uuid4()
WORKER_PATH = f"/{uuid.uuid4().hex}/{TOWNSHIP.hex}/{uuid.uuid4().hex}/"
WORKER = frozenset({Role.GRID_WORKER})


def entry(seq: int, minutes: int, action: str, to: CaseStatus,
          **data) -> TimelineEntry:  # noqa: ANN003
    return TimelineEntry(seq, T0 + timedelta(minutes=minutes), action, to, data)


# received, auto-dispatched to the township, accepted, then re-dispatched to a department.
TIMELINE = [
    entry(1, 0, "received", CaseStatus.RECEIVED),
    entry(2, 0, "dispatch", CaseStatus.DISPATCHED, lead_unit_id=str(TOWNSHIP), auto=True),
    entry(3, 10, "accept", CaseStatus.ACCEPTED),
    entry(4, 60, "dispatch", CaseStatus.DISPATCHED, lead_unit_id=str(DEPARTMENT)),
]


def test_the_skew_is_the_device_clock_minus_the_server_clock():
    assert clocks.estimate_skew_s(T0 + timedelta(minutes=5), T0) == 300.0
    assert clocks.estimate_skew_s(T0 - timedelta(seconds=1.26), T0) == -1.3


def test_acted_at_corrects_the_device_time_and_never_passes_the_arrival():
    assert clocks.acted_at(T0, 3600.0, T0 + timedelta(hours=2)) == T0 - timedelta(hours=1)
    assert clocks.acted_at(T0 + timedelta(hours=3), 0.0, T0) == T0


@given(skew=st.floats(min_value=-1e6, max_value=1e6), late_s=st.floats(min_value=0, max_value=1e6))
def test_acted_at_is_never_after_reception(skew: float, late_s: float):
    received = T0 + timedelta(seconds=late_s)
    assert clocks.acted_at(T0, skew, received) <= received


def test_large_skews_and_device_times_after_sending_are_flagged():
    assert clocks.push_flags(300.0, max_skew_s=300) == []
    assert clocks.push_flags(-300.1, max_skew_s=300) == ["clock_skew_large"]
    assert clocks.operation_flags(T0 + timedelta(seconds=1), T0) == []
    assert clocks.operation_flags(T0 + timedelta(seconds=2), T0) == ["device_time_after_sending"]


def test_the_timeline_replays_status_and_lead_unit_at_any_moment():
    assert conflicts.state_at(TIMELINE, T0 - timedelta(seconds=1)) is None
    assert conflicts.state_at(TIMELINE, T0) == CaseState(CaseStatus.DISPATCHED, TOWNSHIP)
    assert conflicts.state_at(TIMELINE, T0 + timedelta(minutes=30)) == \
        CaseState(CaseStatus.ACCEPTED, TOWNSHIP)
    assert conflicts.state_at(TIMELINE, T0 + timedelta(hours=2)) == \
        CaseState(CaseStatus.DISPATCHED, DEPARTMENT)
    returned = [*TIMELINE[:3], entry(4, 20, "request_return", CaseStatus.RETURN_REQUESTED),
                entry(5, 30, "approve_return", CaseStatus.RECEIVED, returned_by=str(TOWNSHIP))]
    assert conflicts.state_at(returned, T0 + timedelta(hours=1)) == \
        CaseState(CaseStatus.RECEIVED, None, returned=True)
    # Entries may come in any order; the sequence decides.
    assert conflicts.state_at(reversed(TIMELINE), T0 + timedelta(minutes=30)) == \
        CaseState(CaseStatus.ACCEPTED, TOWNSHIP)


def test_a_worker_is_entitled_while_their_unit_leads_and_the_state_allows_the_action():
    accepted = conflicts.state_at(TIMELINE, T0 + timedelta(minutes=30))
    assert conflicts.entitled(accepted, Action.NOTE, unit_path=WORKER_PATH, roles=WORKER)
    assert not conflicts.entitled(accepted, Action.ACCEPT, unit_path=WORKER_PATH, roles=WORKER)
    assert not conflicts.entitled(accepted, Action.NOTE, unit_path=WORKER_PATH,
                                  roles=frozenset({Role.AUDITOR}))
    moved_on = conflicts.state_at(TIMELINE, T0 + timedelta(hours=2))
    assert not conflicts.entitled(moved_on, Action.NOTE, unit_path=WORKER_PATH, roles=WORKER)
    assert not conflicts.entitled(None, Action.NOTE, unit_path=WORKER_PATH, roles=WORKER)


@pytest.mark.parametrize(("now", "expected"), [
    (CaseState(CaseStatus.CLOSED, TOWNSHIP), Moved.CLOSED),
    (CaseState(CaseStatus.CLOSED, DEPARTMENT), Moved.CLOSED),
    (CaseState(CaseStatus.RECEIVED, None, returned=True), Moved.RETURNED),
    (CaseState(CaseStatus.RECEIVED, None), None),
    (CaseState(CaseStatus.DISPATCHED, DEPARTMENT), Moved.REASSIGNED),
    (CaseState(CaseStatus.IN_PROGRESS, DEPARTMENT), Moved.REASSIGNED),
    (CaseState(CaseStatus.COMPLETED, TOWNSHIP), Moved.COMPLETED),
    (CaseState(CaseStatus.ESCALATED, TOWNSHIP), Moved.ESCALATED),
    (CaseState(CaseStatus.HANDED_DOWN, TOWNSHIP), Moved.HANDED_DOWN),
    (CaseState(CaseStatus.RETURN_REQUESTED, TOWNSHIP), Moved.RETURN_REQUESTED),
    (CaseState(CaseStatus.DISPATCHED, TOWNSHIP), Moved.NOT_ACCEPTED),
    (CaseState(CaseStatus.IN_PROGRESS, TOWNSHIP), None),
])
def test_how_a_case_moved_away_from_the_worker(now: CaseState, expected: Moved | None):
    assert conflicts.moved(now, unit_path=WORKER_PATH) is expected


def test_codes_flags_and_messages_name_what_happened():
    assert conflicts.rejection_code(Moved.CLOSED) == "case_closed"
    assert conflicts.flag(Moved.REASSIGNED) == "case_reassigned_since"
    message = conflicts.rejection_message(Moved.REASSIGNED, number="2026-0000012",
                                          what="report of completion")
    assert message == "案件 2026-0000012 已派给其他单位。您的报结未生效，派单员可以看到。"
    with use_locale("en"):
        message = conflicts.rejection_message(Moved.REASSIGNED, number="2026-0000012",
                                              what="report of completion")
    assert message == ("Case 2026-0000012 was sent to another unit. Your report of completion "
                       "was not applied; your dispatcher can see it.")
    assert all(len(conflicts.rejection_message(m, number="2026-0000012", what="note")) < 120
               for m in Moved)
