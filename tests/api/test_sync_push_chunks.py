"""A push committed in chunks: a request cut after a chunk keeps whole chunks, its retry
applies the rest and answers what the cut push had applied; cases are grouped; a bug in a
batched operation rejects that one alone."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from server.api.sync import push_routes
from server.cases.models import CaseEvent
from sync.ledger import OpStatus, SyncOperation
from sync.operations import OPERATIONS, Operation, OpKind, add_note
from tests.api.test_sync_push import op, push, statuses
from tests.fixtures.cases import act


class Cut(Exception):
    """The request dies (a killed worker) after the chunks committed so far."""


@pytest.fixture
def phone(login):  # noqa: ANN001, ANN201
    """phone() -> headers of a token bound to a new device of the grid worker."""
    return lambda: login("t1.worker", device_id=str(uuid.uuid4()))


@pytest.fixture
def chunks_of_two(app, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setitem(app.config, "SYNC_PUSH_CHUNK", 2)


def _cut_after(db_session, monkeypatch, commits: int) -> None:  # noqa: ANN001
    """The push's checkpoint commits ``commits`` chunks, then the request dies."""
    done = []

    def checkpoint() -> None:
        if len(done) == commits:
            raise Cut
        db_session.commit()
        done.append(1)

    monkeypatch.setattr(push_routes, "commit_chunk", checkpoint)


def _ledger(db_session, ids: list[str]) -> Counter:  # noqa: ANN001
    return Counter(db_session.scalars(sa.select(SyncOperation.status).where(
        SyncOperation.id.in_([uuid.UUID(i) for i in ids]))))


def test_a_cut_push_keeps_whole_chunks_and_its_retry_applies_the_rest(
        client, world, login, phone, file_case, db_session, chunks_of_two, monkeypatch):
    dispatcher = login("t1.dispatcher")
    cases = [act(client, dispatcher, file_case(), "accept") for _ in range(3)]
    batch = [op("add_note", case_id=c["id"], note=f"第{n}条") for n in (1, 2) for c in cases]
    ids = [o["id"] for o in batch]
    headers = phone()
    _cut_after(db_session, monkeypatch, commits=1)
    cut = client.post("/api/v1/sync/push", headers=headers,
                      json={"sent_at": batch[0]["device_time"], "operations": batch})
    assert (cut.status_code, cut.get_json()["code"]) == (500, "internal_error")
    # The first chunk (the first case's two notes: a push groups by case) is kept, the
    # chunk in flight was rolled back, the rest waits in the ledger.
    assert _ledger(db_session, ids) == {OpStatus.APPLIED: 2, OpStatus.PENDING: 4}
    notes = Counter(db_session.scalars(sa.select(CaseEvent.case_id).where(
        CaseEvent.action == "note")))
    assert notes == {uuid.UUID(cases[0]["id"]): 2}

    monkeypatch.setattr(push_routes, "commit_chunk", db_session.commit)
    retried = push(client, headers, *batch)
    assert statuses(retried) == [("applied", None)] * 6  # never answered before: not duplicates
    assert [r["id"] for r in retried["results"]] == ids
    assert _ledger(db_session, ids) == {OpStatus.APPLIED: 6}
    again = push(client, headers, *batch)
    assert {(r["status"], r["original_status"]) for r in again["results"]} == {
        ("duplicate", "applied")}
    for case in cases:
        seqs = list(db_session.scalars(sa.select(CaseEvent.seq).where(
            CaseEvent.case_id == uuid.UUID(case["id"])).order_by(CaseEvent.seq)))
        assert seqs == list(range(1, len(seqs) + 1))
        assert Counter(db_session.scalars(sa.select(CaseEvent.action).where(
            CaseEvent.case_id == uuid.UUID(case["id"]))))["note"] == 2


def test_a_case_changes_once_per_push_and_results_keep_the_order_sent(
        client, world, login, phone, file_case, db_session):
    dispatcher = login("t1.dispatcher")
    first, second = (act(client, dispatcher, file_case(), "accept") for _ in range(2))
    batch = [op("add_note", case_id=c["id"], note=f"第{n}条")
             for n in range(3) for c in (first, second)]
    answer = push(client, phone(), *batch)
    assert [r["id"] for r in answer["results"]] == [o["id"] for o in batch]
    # One version per case for the whole push, reported by each of its operations.
    assert {r["result"]["case_id"]: r["result"]["version"] for r in answer["results"]} == {
        first["id"]: first["version"] + 1, second["id"]: second["version"] + 1}
    timeline = client.get(f"/api/v1/cases/{first['id']}/timeline", headers=dispatcher)
    assert [e["data"].get("note") for e in timeline.get_json()[-3:]] == ["第0条", "第1条", "第2条"]


def test_a_bug_in_a_batched_operation_rejects_it_alone_and_leaves_no_trace(
        client, world, login, phone, file_case, db_session, monkeypatch):
    case = act(client, login("t1.dispatcher"), file_case(), "accept")

    def half_done(ctx, **args):  # noqa: ANN001, ANN003, ANN202
        if args["note"] == "坏":
            add_note(ctx, **args)  # writes its event (unflushed), then fails
            raise RuntimeError("a bug after writing")
        return add_note(ctx, **args)

    monkeypatch.setitem(OPERATIONS, "add_note",
                        Operation("add_note", OpKind.FACT, half_done, batched=True))
    answer = push(client, phone(), op("add_note", case_id=case["id"], note="好"),
                  op("add_note", case_id=case["id"], note="坏"),
                  op("add_note", case_id=case["id"], note="也好"))
    assert statuses(answer) == [("applied", None), ("rejected", "internal_error"),
                                ("applied", None)]
    notes = list(db_session.scalars(sa.select(CaseEvent.data).where(
        CaseEvent.case_id == uuid.UUID(case["id"]), CaseEvent.action == "note")
        .order_by(CaseEvent.seq)))
    assert [n["note"] for n in notes] == ["好", "也好"]
