"""The cursor never skips a late commit: on PostGIS, with real connections, a writer that
started before a pull and commits after it still reaches the phone on the next pull."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.cases.models import Case
from server.extensions import db
from sync.feed import SyncChange
from tests.fixtures.world import PASSWORD, build_world


def _txids(ids: list[str]) -> list[int]:
    return list(db.session.scalars(sa.select(SyncChange.txid).where(
        SyncChange.table_name == "cases", SyncChange.row_id.in_([uuid.UUID(i) for i in ids]))))


def _wait_until_finished(txid: int) -> None:
    """Wait until every transaction up to ``txid`` has finished, cluster-wide.

    Transaction ids belong to the whole PostgreSQL cluster: a test run in another database
    of this server can hold the snapshot's xmin back for a moment, and with it (by design)
    what pulls may send. The claim under test is that nothing is skipped once it is sent.
    """
    deadline = time.monotonic() + 60
    query = sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    while db.session.scalar(query) <= txid:
        db.session.rollback()
        assert time.monotonic() < deadline, "another transaction stayed open for a minute"
        time.sleep(0.05)
    db.session.remove()


def _pull(client, headers, cursor):  # noqa: ANN001, ANN202
    answer = client.post("/api/v1/sync/pull", json={"cursor": cursor}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


@pytest.mark.concurrency
def test_a_transaction_committing_after_a_pull_is_in_the_next_pull(committing_postgis_app):
    app = committing_postgis_app
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        client = app.test_client()

        def login(username: str, **extra) -> dict[str, str]:  # noqa: ANN003
            token = client.post("/api/v1/auth/login", json={
                "username": username, "password": PASSWORD, **extra}).get_json()["token"]
            return {"Authorization": f"Bearer {token}"}

        dispatcher = login("t1.dispatcher")
        ids = [client.post("/api/v1/cases", headers=dispatcher, json={
            "channel": "internet", "appeal_type": "complaint", "title": f"case {n}",
            "description": "d", "lon": 116.306, "lat": 39.904}).get_json()["id"] for n in (1, 2)]
        worker = login("t1.worker", device_id=str(uuid.uuid4()))
        cursor = None
        while True:  # the first sync, confirmed by the next pull
            answer = _pull(client, worker, cursor)
            cursor = answer["cursor"]
            if not answer["has_more"]:
                break
        cursor = _pull(client, worker, cursor)["cursor"]
        db.session.remove()

        # The early writer changes case 1 and holds its transaction open ...
        early = Session(db.engine)
        try:
            early.get(Case, uuid.UUID(ids[0])).title = "early writer"
            early.flush()
            # ... a later writer changes case 2 and commits first.
            with Session(db.engine) as late:
                late.get(Case, uuid.UUID(ids[1])).title = "late writer"
                late.commit()
            # The pull reads below the oldest running transaction, the early writer: the
            # late change waits with it rather than moving the cursor past it.
            first = _pull(client, worker, cursor)
            assert first["changes"]["cases"]["updated"] == []
            early.commit()
        finally:
            early.close()
        # The change log's own numbering is not commit order: the early change has the
        # smaller number, so "seq above the last one seen" would have skipped it.
        seqs = dict(db.session.execute(sa.select(SyncChange.row_id, SyncChange.seq).where(
            SyncChange.table_name == "cases", SyncChange.row_id.in_([uuid.UUID(i) for i in ids]))
            .order_by(SyncChange.seq)).all())
        assert seqs[uuid.UUID(ids[0])] < seqs[uuid.UUID(ids[1])]
        _wait_until_finished(max(_txids(ids)))
        second = _pull(client, worker, first["cursor"])
        assert sorted(c["title"] for c in second["changes"]["cases"]["updated"]) == \
            ["early writer", "late writer"]
        third = _pull(client, worker, second["cursor"])
        assert not any(v for c in third["changes"].values() for v in c.values())
        db.session.remove()
