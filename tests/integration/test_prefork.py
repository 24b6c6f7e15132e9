"""The master's work before gunicorn forks (deploy/gunicorn.conf.py): the grid index built
once, no database connection left open to be shared with the workers."""

from __future__ import annotations

import gc

from server.app import after_fork, warm_up_before_fork
from server.extensions import db


def test_the_index_is_built_before_the_fork_and_no_connection_is_left_open(app):
    cache = app.extensions["gridops.grid_index"]
    cache.clear()
    rebuilds = cache.rebuilds
    try:
        warm_up_before_fork(app)
    finally:
        gc.unfreeze()  # the test process goes on collecting
    assert cache.rebuilds == rebuilds + 1
    with app.app_context():
        pool = db.engine.pool
        assert pool.checkedout() == 0
        if hasattr(pool, "checkedin"):
            assert pool.checkedin() == 0
        # A worker reuses the built index: the generation has not moved, nothing rebuilds.
        after_fork(app)
        cache.mark_stale()
        cache.get(db.session)
        db.session.remove()
    assert cache.rebuilds == rebuilds + 1
    cache.clear()


def test_no_thread_is_started_before_the_fork(app, monkeypatch):
    """The token revocation listener is a thread; one running in the master when gunicorn
    forks could hold a lock that every worker then inherits held."""
    from server.auth.revocations import RevocationListener

    started = []
    monkeypatch.setattr(RevocationListener, "ensure_running", lambda self: started.append(self))
    try:
        warm_up_before_fork(app)
    finally:
        gc.unfreeze()
    assert started == []
    app.extensions["gridops.grid_index"].clear()
