"""The request's transaction boundary on PostGIS with real commits: a request whose only write
is made on the way (a token's last use) still commits it, although the view wrote nothing;
a read that fails commits nothing and leaves the connection clean for the next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from server.auth.models import AuthToken
from server.auth.services import login
from server.extensions import db
from tests.fixtures.world import NOW, PASSWORD, build_world


@pytest.mark.concurrency
def test_a_tokens_last_use_is_committed_by_a_request_that_only_reads(committing_postgis_app):
    app = committing_postgis_app
    passwords = app.extensions["gridops.passwords"]
    with app.app_context():
        build_world(db.session, passwords)
        issued = login(db.session, passwords, "t1.worker", PASSWORD, now=NOW,
                       lifetime=timedelta(days=3650))
        db.session.commit()
        token_id, engine = issued.record.id, db.engine
    client = app.test_client()
    headers = {"Authorization": f"Bearer {issued.token}"}
    before = datetime.now(UTC)

    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200

    with engine.connect() as other:  # another connection sees only what was committed
        last_used = other.scalar(sa.select(AuthToken.last_used_at)
                                 .where(AuthToken.id == token_id))
    assert last_used >= before
    missing = client.get("/api/v1/cases/00000000-0000-0000-0000-000000000000", headers=headers)
    assert missing.status_code == 404
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
