"""Several schedulers erasing residents' contact data at once (PostGIS, real commits): each
case is erased once, the trail counts it once, the change feed carries every case, and the
cases of one phone share one reference."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.cases.models import Case
from server.cases.rules import AppealType, CaseStatus, Channel, Urgency
from server.core.clock import now_utc
from server.core.trail import AdminChange
from server.extensions import db
from server.jobs import resident_data_job
from server.retention import ERASURE_LOCK_KEY, Erasure
from sync.feed import SyncChange

CASES = 600
PHONES = 40


def _closed_cases(app, n: int, *, days_ago: float) -> list[uuid.UUID]:  # noqa: ANN001
    closed_at = now_utc() - timedelta(days=days_ago)
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        cases = [Case(number=f"R{tag}-{i}", channel=Channel.CITY_DIRECT,
                      appeal_type=AppealType.COMPLAINT, title="t", description="d",
                      urgency=Urgency.NORMAL, status=CaseStatus.CLOSED,
                      received_at=closed_at - timedelta(days=3), closed_at=closed_at,
                      updated_at=closed_at, resident_name="张三",
                      resident_phone=f"1390000{i % PHONES:04d}") for i in range(n)]
        db.session.add_all(cases)
        db.session.commit()
        ids = [c.id for c in cases]
        db.session.remove()
    return ids


@pytest.mark.concurrency
def test_several_schedulers_at_once_erase_each_case_once(committing_postgis_app):
    app = committing_postgis_app
    days = app.config["RESIDENT_DATA_RETENTION_DAYS"]
    old = _closed_cases(app, CASES, days_ago=days + 1)
    young = _closed_cases(app, 5, days_ago=days - 1)
    # Another scheduler is in the middle of a run (it holds the lock): this one skips.
    with app.app_context():
        engine = db.engine
    with engine.connect() as other:
        assert other.scalar(sa.select(sa.func.pg_try_advisory_lock(ERASURE_LOCK_KEY)))
        try:
            assert resident_data_job(app).skipped
        finally:
            other.scalar(sa.select(sa.func.pg_advisory_unlock(ERASURE_LOCK_KEY)))

    results: list[Erasure] = []
    errors: list[BaseException] = []
    go = threading.Barrier(4)

    def scheduler() -> None:
        try:
            go.wait(10)
            results.append(resident_data_job(app, batch=50))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    # One may have skipped before the others finished: whatever was left, one more run takes.
    results.append(resident_data_job(app))
    assert sum(r.cases for r in results) == CASES

    with app.app_context():
        rows = db.session.execute(sa.select(
            Case.id, Case.resident_phone, Case.resident_ref, Case.resident_data_erased_at)
            .where(Case.id.in_(old + young))).all()
        erased = {r.id for r in rows if r.resident_data_erased_at is not None}
        assert erased == set(old)
        assert all(r.resident_phone is None for r in rows if r.id in erased)
        assert {r.id for r in rows if r.resident_phone} == set(young)
        # One reference per phone: the 600 cases of 40 phones (the 5 young ones among them).
        assert len({r.resident_ref for r in rows}) == PHONES
        trail = db.session.scalars(sa.select(AdminChange).where(
            AdminChange.action == "resident_data.erased")).all()
        assert sum(t.after["cases"] for t in trail) == CASES
        fed = set(db.session.scalars(sa.select(SyncChange.row_id).where(
            SyncChange.table_name == "cases", SyncChange.row_id.in_(old))))
        assert fed == set(old)
        db.session.remove()
