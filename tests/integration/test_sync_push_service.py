"""The push service on both databases: a bug in one operation, the phone's rejected operations
in its pull, and the two registries (handlers, argument schemas) kept in step."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.api.sync.push_schemas import ARGS, parse_args
from server.auth.services import authenticate, login
from server.cases.models import Case
from server.core.errors import Invalid
from sync import operations
from sync.ledger import OpStatus, SyncOperation
from sync.operations import OPERATIONS, Limits, Operation, OpKind
from sync.push import IncomingOp, PushSettings, push
from sync.tables import SyncContext, table_named
from tests.fixtures.world import NOW, PASSWORD


@pytest.fixture
def settings(app):  # noqa: ANN001, ANN201
    return PushSettings(Limits(app.extensions["gridops.grid_index"], 50.0, 200.0),
                        max_skew_s=300.0, max_operations=500)


@pytest.fixture
def device_actor(app, db_session, world):  # noqa: ANN001, ANN201
    """device_actor(username) -> the Actor of a fresh phone sign-in of that user."""

    def _actor(username: str = "t1.worker"):  # noqa: ANN202
        issued = login(db_session, app.extensions["gridops.passwords"], username, PASSWORD,
                       now=NOW, lifetime=timedelta(days=1), device_id=uuid.uuid4())
        return authenticate(db_session, issued.token, now=NOW)

    return _actor


def incoming(name: str, seq: int, **args) -> IncomingOp:  # noqa: ANN003
    return IncomingOp(uuid.uuid4(), seq, name, {k: str(v) for k, v in args.items()}, None, NOW)


def report(seq: int) -> IncomingOp:
    return incoming("report_incident", seq, appeal_type="report", title="t", description="d")


def test_every_operation_has_an_argument_schema():
    assert set(ARGS) == set(OPERATIONS)


def test_a_bug_in_one_operation_rejects_it_and_the_batch_goes_on(
        db_session, device_actor, settings, monkeypatch):
    def broken(ctx, **args):  # noqa: ANN001, ANN003, ANN202
        raise RuntimeError("a bug")

    monkeypatch.setitem(OPERATIONS, "add_note", Operation("add_note", OpKind.FACT, broken))
    actor = device_actor()
    batch = [report(1), incoming("add_note", 2, case_id=uuid.uuid4(), note="x"), report(3)]
    result = push(db_session, actor, batch, sent_at=NOW, parse_args=parse_args,
                  settings=settings, now=NOW)
    assert [(r.status, r.code) for r in result.results] == [
        (OpStatus.APPLIED, None), (OpStatus.REJECTED, "internal_error"), (OpStatus.APPLIED, None)]
    assert result.results[1].message == "服务器处理此操作时出错。操作已保留，将有人查看。"
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Case)) == 2


def test_a_case_created_then_rolled_back_is_not_named_by_the_rejected_operation(
        db_session, device_actor, settings, monkeypatch):
    def refuse_photo(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise Invalid("No such photo.", code="photo_refused")

    monkeypatch.setattr(operations, "link_photo", refuse_photo)
    op = incoming("report_incident", 1, appeal_type="report", title="t", description="d")
    op = IncomingOp(op.id, 1, op.name, {**op.args, "photos": ["ab" * 32]}, None, NOW)
    [outcome] = push(db_session, device_actor(), [op], sent_at=NOW, parse_args=parse_args,
                     settings=settings, now=NOW).results
    assert (outcome.status, outcome.code) == (OpStatus.REJECTED, "photo_refused")
    assert db_session.get(SyncOperation, op.id).case_id is None
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_a_phone_pulls_its_own_rejected_operations_only(db_session, device_actor, settings):
    phone, other_phone = device_actor(), device_actor()
    mine = [incoming("add_note", 1, case_id=uuid.uuid4(), note="x"), report(2)]
    push(db_session, phone, mine, sent_at=NOW, parse_args=parse_args, settings=settings, now=NOW)
    push(db_session, other_phone, [incoming("add_note", 1, case_id=uuid.uuid4(), note="y")],
         sent_at=NOW, parse_args=parse_args, settings=settings, now=NOW)
    table = table_named("rejected_operations")
    assert table is not None
    assert table.model is SyncOperation
    ctx = SyncContext(actor=phone, device_id=phone.device_id, now=NOW)
    ids = [row[0] for row in db_session.execute(table.scope(db_session, ctx))]
    assert ids == [mine[0].id]
    [record] = table.records(db_session, ctx, ids)
    assert record == {"id": str(mine[0].id), "name": "add_note", "code": "case_not_found",
                      "message": record["message"], "device_seq": 1, "case_id": None,
                      "received_at": NOW.isoformat(), "flags": []}
