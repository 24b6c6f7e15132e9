"""The WatermelonDB adapter's pure rules: timestamps, raw records, reading the phone's
operations records, and sorting a push into operations and ignored changes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from server.core.errors import Invalid
from sync.protocol import MAX_SAFE_CURSOR
from sync.watermelon import (
    OpProblem,
    as_updated,
    device_time,
    heal,
    last_pulled_cursor,
    operation_from_raw,
    plan_push,
    raw_changes,
    raw_record,
    split_push,
    timestamp,
)

READ_ONLY = ["units", "cases", "case_events", "rejected_operations"]
KNOWN = READ_ONLY


def op_raw(seq: int = 1, **over) -> dict:  # noqa: ANN003
    raw = {"id": str(uuid.uuid4()), "_status": "created", "_changed": "", "name": "add_note",
           "args": json.dumps({"case_id": str(uuid.uuid4()), "note": "现场已清理"}),
           "base_version": 3, "device_seq": seq, "device_time": "2026-11-23T15:31:02+08:00"}
    raw.update(over)
    return raw


def tables(**by_table) -> dict:  # noqa: ANN003
    return {name: {"created": [], "updated": [], "deleted": [], **kinds}
            for name, kinds in by_table.items()}


@pytest.mark.parametrize("sent", [None, 0])
def test_null_or_zero_last_pulled_at_is_a_first_sync(sent):  # noqa: ANN001
    assert last_pulled_cursor(sent) is None


@pytest.mark.parametrize("sent", [-1, MAX_SAFE_CURSOR + 1, "12", 1.5, True])
def test_a_last_pulled_at_that_is_not_a_safe_positive_integer_is_refused(sent):  # noqa: ANN001
    with pytest.raises(Invalid):
        last_pulled_cursor(sent)


def test_cursors_are_timestamps_watermelondb_accepts():
    assert last_pulled_cursor(30342) == 30342
    assert timestamp(1) == 1
    assert timestamp(MAX_SAFE_CURSOR) == MAX_SAFE_CURSOR
    for bad in (0, MAX_SAFE_CURSOR + 1):  # synchronize() refuses 0; JS loses digits above
        with pytest.raises(ValueError, match="not a valid WatermelonDB timestamp"):
            timestamp(bad)


def test_raw_records_carry_nested_values_as_json_and_created_updated_at_as_milliseconds():
    record = {"id": "a3f3", "title": "门口占道", "version": 2, "confidential": False, "lon": 116.3,
              "address": None, "special_grid_codes": ["T1-S1"], "data": {"grid": "T1-A1"},
              "updated_at": "2026-11-23T08:00:00.250000+00:00", "created_at": None,
              "received_at": "2026-11-23T08:00:00+00:00"}
    raw = raw_record(record)
    assert raw == {**record, "special_grid_codes": '["T1-S1"]', "data": '{"grid":"T1-A1"}',
                   "updated_at": 1795420800250, "created_at": 0}
    assert datetime.fromtimestamp(raw["updated_at"] / 1000, UTC) == \
        datetime(2026, 11, 23, 8, 0, 0, 250000, tzinfo=UTC)
    changes = raw_changes({"cases": {"created": [record], "updated": [], "deleted": ["x"]}})
    assert changes == {"cases": {"created": [raw], "updated": [], "deleted": ["x"]}}


def test_an_operations_record_becomes_a_push_operation():
    raw = op_raw(seq=7)
    op = operation_from_raw(raw)
    assert (str(op.id), op.seq, op.name, op.base_version) == (raw["id"], 7, "add_note", 3)
    assert op.args == json.loads(raw["args"])
    assert op.device_time == datetime(2026, 11, 23, 7, 31, 2, tzinfo=UTC)
    assert op.device_time.utcoffset() == timedelta(hours=8)


def test_device_time_may_be_javascript_milliseconds_or_iso_with_z():
    assert device_time(1795420800250) == datetime(2026, 11, 23, 8, 0, 0, 250000, tzinfo=UTC)
    assert device_time("2026-11-23T08:00:00.000Z") == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert device_time("2026-11-23T16:00:00+08:00").astimezone(UTC).hour == 8
    for bad in ("2026-11-23T08:00:00", True, None, "yesterday"):
        with pytest.raises((ValueError, TypeError)):
            device_time(bad)


def test_a_missing_base_version_is_none_and_args_may_be_an_object():
    op = operation_from_raw(op_raw(base_version=0, args={"case_id": "x"}))
    assert (op.base_version, op.args) == (None, {"case_id": "x"})
    assert operation_from_raw(op_raw(base_version=None, args="")).args == {}


@pytest.mark.parametrize(("over", "says"), [
    ({"id": "Xk3Jd8sP0qLm2Nb7"}, "must be a UUID"),  # WatermelonDB's default 16-char id
    ({"name": ""}, "name is missing"),
    ({"args": "[1, 2]"}, "args must be a JSON object"),
    ({"args": "{not json"}, "cannot be read"),
    ({"device_seq": -1}, "device_seq"),
    ({"device_seq": 2**53}, "device_seq"),
    ({"device_seq": None}, "device_seq"),
    ({"device_time": "2026-11-23 08:00"}, "offset"),
])
def test_an_operations_record_the_server_cannot_read_is_a_problem(over, says):  # noqa: ANN001
    raw = op_raw(**over)
    problem = operation_from_raw(raw)
    assert isinstance(problem, OpProblem)
    assert problem.id == raw["id"]
    assert says in problem.message


def test_a_push_is_sorted_into_operations_in_device_order_and_changes_to_ignore():
    third, first, second = op_raw(3), op_raw(1), op_raw(2)
    edited, deleted, made_up = (str(uuid.uuid4()) for _ in range(3))
    bad = op_raw(4, device_seq="four")
    plan = plan_push(tables(
        operations={"created": [third, first, bad], "updated": [second, {**first}],
                    "deleted": [str(uuid.uuid4())]},
        cases={"updated": [{"id": edited, "title": "改了"}], "deleted": [deleted]},
        units={"created": [{"id": made_up, "code": "X"}, {"id": "Xk3Jd8sP0qLm2Nb7"}]},
        drafts={"created": [{"id": "local-only"}]},
        case_events={}), read_only=READ_ONLY, known=KNOWN)
    assert [op.seq for op in plan.operations] == [1, 2, 3]  # device order; a resend once
    assert [p.id for p in plan.problems] == [bad["id"]]
    assert [(t, str(i), k) for t, i, k in plan.read_only] == [
        ("cases", edited, "updated"), ("cases", deleted, "deleted"), ("units", made_up, "created")]
    assert [(i.table, i.id, i.reason) for i in plan.ignored] == [
        ("units", "Xk3Jd8sP0qLm2Nb7", "not_a_server_id"), ("drafts", "local-only", "unknown_table")]


@pytest.mark.parametrize("changes", [
    [], {"cases": []}, {"cases": {"created": {}}}, {"cases": {"created": [{"title": "no id"}]}},
    {"operations": {"created": ["not a record"]}},
])
def test_a_push_that_is_not_watermelondb_shaped_is_invalid(changes):  # noqa: ANN001
    with pytest.raises(Invalid) as caught:
        plan_push(changes, read_only=READ_ONLY, known=KNOWN)
    assert "changes" in caught.value.errors["json"]


def test_a_synced_table_that_is_not_read_only_has_no_writer_yet_and_is_reported():
    plan = plan_push(tables(notes={"created": [{"id": "n1"}]}), read_only=READ_ONLY,
                     known=[*KNOWN, "notes"])
    assert [(i.table, i.id, i.reason) for i in plan.ignored] == [("notes", "n1", "no_writer")]


def test_healing_resends_what_the_phone_held_and_removes_what_it_made_up():
    assert heal(True) == "resend"
    assert heal(False) == "remove"


def test_a_push_applies_up_to_the_limit_and_defers_the_rest():
    ops = [SimpleNamespace(id=uuid.UUID(int=n), seq=n) for n in range(5)]
    now, later = split_push(ops, 3)
    assert list(now) == ops[:3]
    assert later == [str(uuid.UUID(int=3)), str(uuid.UUID(int=4))]
    assert split_push(ops, 500) == (ops, [])


def test_a_replacement_answer_sends_every_record_as_updated():
    changes = {"cases": {"created": [{"id": "a"}], "updated": [{"id": "b"}], "deleted": ["c"]}}
    assert as_updated(changes) == {
        "cases": {"created": [], "updated": [{"id": "a"}, {"id": "b"}], "deleted": ["c"]}}
