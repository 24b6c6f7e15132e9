"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py``.

The app is loaded once in the master (``preload_app``), which builds the grid index and
closes its database connections before forking (``server.app.warm_up_before_fork``), so
every worker starts warm and the index's memory is shared copy-on-write between workers;
each worker drops any inherited pooled connection (``server.app.after_fork``) and rebuilds
its own index only when the grids change. Bind address and worker count come from the
command line or gunicorn's own environment (``-b 0.0.0.0:8000 -w 4``, ``WEB_CONCURRENCY``).

The scheduler is not started here: it runs as its own process (``gridops scheduler``).
"""

wsgi_app = "server.app:create_app()"
preload_app = True


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from server.app import warm_up_before_fork

    warm_up_before_fork(server.app.wsgi())


def post_fork(server, worker):  # noqa: ANN001, ANN201, ARG001
    from server.app import after_fork

    if server.cfg.preload_app:
        after_fork(server.app.wsgi())
