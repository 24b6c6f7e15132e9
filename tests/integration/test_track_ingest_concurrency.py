"""The same batch of fixes sent twice at the same moment (a retry while the first upload still
runs), on PostGIS with real connections: the second waits for the person's lock, then finds
the fixes stored; each fix is stored once and neither upload fails."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geo.track import Fix
from server.extensions import db
from server.staff.models import TrackFix
from server.staff.rules import FieldLimits
from server.staff.track_ingest import ingest_fixes
from tests.fixtures.world import NOW, build_world
from tests.integration.test_staff_checkin_concurrency import _wait_for_a_lock_wait


@pytest.mark.concurrency
def test_a_batch_and_its_retry_at_once_store_each_fix_once(committing_postgis_app):
    app = committing_postgis_app
    with app.app_context():
        world = build_world(db.session, app.extensions["gridops.passwords"])
        user_id = world.users["t1.worker"].id
        db.session.commit()
        engine = db.engine
    batch = [
        Fix(NOW - timedelta(minutes=30) + timedelta(seconds=10 * i), 116.301 + i * 1e-5, 39.905,
            8.0, 1.2)
        for i in range(120)
    ]
    limits, results = FieldLimits(), {}

    first = Session(engine)
    results["first"] = ingest_fixes(first, user_id, batch, limits=limits, now=NOW)

    def retry() -> None:
        with Session(engine) as second:
            results["retry"] = ingest_fixes(second, user_id, batch, limits=limits, now=NOW)
            second.commit()

    thread = threading.Thread(target=retry)
    thread.start()
    _wait_for_a_lock_wait(engine)  # the retry waits on the person's advisory lock
    first.commit()
    first.close()
    thread.join(10)
    assert not thread.is_alive()
    assert (results["first"].stored, results["first"].already_stored) == (120, 0)
    assert (results["retry"].stored, results["retry"].already_stored) == (0, 120)
    with engine.connect() as conn:
        stored = conn.scalar(
            sa.select(sa.func.count()).select_from(TrackFix).where(TrackFix.user_id == user_id))
    assert stored == 120
