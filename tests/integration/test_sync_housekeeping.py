"""The scheduler's sync housekeeping (``server.jobs.sync_housekeeping_job``): old change-feed
rows and idle resumable photo uploads are pruned on an interval from the config, and several
schedulers running it at once do the work once."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from server.core.clock import now_utc
from server.extensions import db
from server.jobs import (
    HOUSEKEEPING_LOCK_KEY,
    SYNC_HOUSEKEEPING_JOB_ID,
    Housekeeping,
    build_scheduler,
    sync_housekeeping_job,
)
from server.org.rules import UnitKind
from server.org.services import create_unit
from sync.feed import SyncChange
from sync.photos import PhotoUpload
from tests.api.test_photos import JPEG
from tests.fixtures.tus import create, head, patch, url_of
from tests.fixtures.world import PASSWORD, build_world


def test_the_scheduler_runs_the_sync_housekeeping_on_the_configured_interval(
        app, db_session, monkeypatch):
    job = build_scheduler(app, BackgroundScheduler).get_job(SYNC_HOUSEKEEPING_JOB_ID)
    assert job.func is sync_housekeeping_job
    assert job.args == (app,)
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(hours=1)  # GRID_SYNC_HOUSEKEEPING_INTERVAL_S
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
    assert job.next_run_time <= now_utc()  # at start-up too
    monkeypatch.setitem(app.config, "SYNC_HOUSEKEEPING_INTERVAL_S", 90.0)
    job = build_scheduler(app, BackgroundScheduler).get_job(SYNC_HOUSEKEEPING_JOB_ID)
    assert job.trigger.interval == timedelta(seconds=90)


def _backdate(session: Session, model, column, ids, *, hours: float) -> None:  # noqa: ANN001
    session.execute(sa.update(model).where(model.id.in_(ids) if ids is not None else sa.true())
                    .values({column: now_utc() - timedelta(hours=hours)}))
    session.flush()


def test_idle_uploads_and_old_feed_changes_go_recent_ones_stay(
        app, client, world, login, db_session, tmp_path: Path, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_DIR", tmp_path)
    worker = login("t1.worker")
    other = JPEG + b"\x01" * 100
    idle_url = url_of(create(client, worker, JPEG, content_type="image/jpeg"))
    recent_url = url_of(create(client, worker, other, content_type="image/jpeg"))
    idle, recent = (url.rsplit("/", 1)[1] for url in (idle_url, recent_url))
    for url, data in ((idle_url, JPEG), (recent_url, other)):
        assert patch(client, worker, url, 0, data[:1000]).status_code == 204
    assert len(list((tmp_path / "partial").iterdir())) == 2
    _backdate(db_session, PhotoUpload, PhotoUpload.updated_at, [uuid.UUID(idle)],
              hours=app.config["PHOTO_UPLOAD_KEEP_HOURS"] + 1)
    _backdate(db_session, PhotoUpload, PhotoUpload.updated_at, [uuid.UUID(recent)],
              hours=app.config["PHOTO_UPLOAD_KEEP_HOURS"] - 1)
    old = db_session.scalar(sa.select(sa.func.count()).select_from(SyncChange))
    assert old > 0  # the world's units, grids and users
    db_session.execute(sa.update(SyncChange).values(
        changed_at=now_utc() - timedelta(days=app.config["SYNC_TOMBSTONE_DAYS"] + 1)))
    db_session.commit()  # (a savepoint) before the job's own session works on the connection

    done = sync_housekeeping_job(app)

    assert done == Housekeeping(changes=old, uploads=1)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(SyncChange)) == 0
    assert set(db_session.scalars(sa.select(PhotoUpload.id))) == {uuid.UUID(recent)}
    assert len(list((tmp_path / "partial").iterdir())) == 1
    # The forgotten upload is unknown now; the phone starts again. The other one resumes.
    assert head(client, worker, idle_url).status_code == 404
    assert head(client, worker, recent_url).headers["Upload-Offset"] == "1000"
    restarted = create(client, worker, JPEG, content_type="image/jpeg")
    assert (restarted.status_code, restarted.headers["Upload-Offset"]) == (201, "0")
    assert url_of(restarted) != idle_url
    assert sync_housekeeping_job(app) == Housekeeping(changes=0, uploads=0)


def _committed_changes(app, n: int, *, days_ago: float) -> list[int]:  # noqa: ANN001
    """``n`` units created in ``n`` transactions, their feed rows dated ``days_ago``."""
    seqs = []
    with app.app_context():
        for _ in range(n):
            unit = create_unit(db.session, code=f"HK-{uuid.uuid4().hex[:8]}", name="hk",
                               kind=UnitKind.DISTRICT, parent_code=None, now=now_utc())
            db.session.flush()
            rows = db.session.scalars(sa.select(SyncChange).where(
                SyncChange.row_id == unit.id)).all()
            assert rows
            for row in rows:
                row.changed_at = datetime.now(UTC) - timedelta(days=days_ago)
                seqs.append(row.seq)
            db.session.commit()
        db.session.remove()
    return seqs


def _remaining(app, seqs: list[int]) -> set[int]:  # noqa: ANN001
    with app.app_context(), Session(db.engine) as session:
        return set(session.scalars(sa.select(SyncChange.seq).where(SyncChange.seq.in_(seqs))))


def test_a_device_that_needed_pruned_changes_starts_over(committing_postgis_app, tmp_path):
    app = committing_postgis_app
    app.config["PHOTO_DIR"] = tmp_path
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={
        "username": "t1.worker", "password": PASSWORD,
        "device_id": str(uuid.uuid4())}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    cursor = None
    while True:
        answer = client.post("/api/v1/sync/pull", json={"cursor": cursor},
                             headers=headers).get_json()
        cursor = answer["cursor"]
        if not answer["has_more"]:
            break
    keep = app.config["SYNC_TOMBSTONE_DAYS"]
    old = _committed_changes(app, 3, days_ago=keep + 2)
    young = _committed_changes(app, 2, days_ago=keep - 1)

    assert sync_housekeeping_job(app).changes >= 3

    assert _remaining(app, old + young) == set(young)
    answer = client.post("/api/v1/sync/pull", json={"cursor": cursor},
                         headers=headers).get_json()
    assert (answer["start_over"], answer["start_over_reason"]) == (True, "cursor_too_old")


def test_several_schedulers_at_once_prune_once(committing_postgis_app, tmp_path):
    app = committing_postgis_app
    app.config["PHOTO_DIR"] = tmp_path
    keep = app.config["SYNC_TOMBSTONE_DAYS"]
    old = _committed_changes(app, 4, days_ago=keep + 2)
    # Another scheduler is in the middle of a run (it holds the lock): this one skips.
    with app.app_context():
        engine = db.engine
    with engine.connect() as other:
        assert other.scalar(sa.select(sa.func.pg_try_advisory_lock(HOUSEKEEPING_LOCK_KEY)))
        try:
            assert sync_housekeeping_job(app) == Housekeeping(0, 0, skipped=True)
            assert _remaining(app, old) == set(old)
        finally:
            other.scalar(sa.select(sa.func.pg_advisory_unlock(HOUSEKEEPING_LOCK_KEY)))
    # Four schedulers started at the same moment: the rows go once, nobody fails.
    results: list[Housekeeping] = []
    errors: list[BaseException] = []
    go = threading.Barrier(4)

    def scheduler() -> None:
        try:
            go.wait(10)
            results.append(sync_housekeeping_job(app))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(results) == 4
    assert sum(r.changes for r in results) >= len(old)
    assert sum(1 for r in results if r.changes) == 1  # the others skipped or found nothing
    assert _remaining(app, old) == set()
