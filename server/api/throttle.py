"""The API's rate limits (Flask-Limiter), in one place: sign-in per address; pushes and
photo uploads per device (Open311 per key: ``server/api/open311/routes.py``).

Counters live in ``GRID_RATELIMIT_STORAGE_URI`` (memory for one process, ``redis://`` when
several workers or hosts serve); the per-account backoff and lock of sign-in live in the
database instead (``server.auth.sign_in_locks``) because an admin lifts them. Limits are
read from the settings at each request, in Flask-Limiter's notation (``60/minute``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial

from flask import Flask, Response, current_app, request
from flask_limiter.util import get_remote_address

from server.extensions import limiter


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def per_device() -> str:
    """The bearer token (one per device), hashed; the address for a request without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "ip:" + get_remote_address()


def _failed_sign_in(response: Response) -> bool:
    return response.status_code == 401


# Only failures count: a township office behind one NAT address signs in together at 8:30.
sign_in_per_address = limiter.limit(
    _setting("SIGN_IN_RATE_LIMIT"), key_func=get_remote_address, scope="sign_in",
    deduct_when=_failed_sign_in)
# Both push endpoints (ours and WatermelonDB's) draw on one budget per device.
push_per_device = limiter.shared_limit(
    _setting("SYNC_PUSH_RATE_LIMIT"), scope="sync_push", key_func=per_device)
photo_uploads_per_device = limiter.limit(
    _setting("PHOTO_RATE_LIMIT"), key_func=per_device, scope="photo_uploads")


def check_limits_only_where_declared(app: Flask) -> None:
    """Run Flask-Limiter's before-request check only for requests of a limited blueprint.

    That check serves default, application and blueprint limits (Open311, tus uploads); we
    declare no default or application limit, and a route's own limit (sign-in, push) is
    checked by its decorator, not there. Run on every request, it resolved an empty list of
    limits for nothing (about 0.08 ms of a 1 ms request). Whether a blueprint is limited is
    asked of Flask-Limiter itself, once per blueprint, so no limit can be left out. If
    default or application limits are ever configured, the check stays as installed.
    Flask-Limiter names no public switch for this, so its hook is found by identity, and
    startup fails if it is not where ``init_app`` puts it.
    """
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits:
        return
    hooks = app.before_request_funcs[None]
    check = limiter._check_request_limit  # noqa: SLF001 - the hook init_app registered
    if check not in hooks:
        raise RuntimeError("Flask-Limiter's before-request check is not where it was; "
                           "see server/api/throttle.py check_limits_only_where_declared")
    limited: dict[str | None, bool] = {}

    def check_declared_limits() -> None:
        name = request.blueprint
        if name not in limited:
            limited[name] = bool(name and limited_blueprint(app, name))
        if limited[name]:
            check()

    hooks[hooks.index(check)] = check_declared_limits
    _skip_limiter_bookkeeping_where_untouched(app)


def _skip_limiter_bookkeeping_where_untouched(app: Flask) -> None:
    """Flask-Limiter's after-request (rate-limit headers, deductions on failure) and
    teardown (reset) hooks, only for requests where a limit was looked at.

    Both work on the per-request state Flask-Limiter keeps on the request context, which it
    creates the first time any of its code touches the request (a limited blueprint's check,
    a route's limit decorator). Where nothing touched it, the headers hook would create that
    state empty and find no limit to report nor deduction to make, and the teardown would
    reset the empty state: nothing happens either way, so nothing is skipped but the work of
    finding that out (three context lookups, on every request). Found by identity like the
    check above; start-up fails if they are not where ``init_app`` puts them.
    """
    from flask.globals import request_ctx
    from flask_limiter import Limiter

    def touched() -> bool:
        return hasattr(request_ctx._get_current_object(), "_limiter_request_context")  # noqa: SLF001

    after = app.after_request_funcs[None]
    inject = next((f for f in after if isinstance(f, partial) and f.args == (limiter,)
                   and f.func is Limiter._Limiter__inject_headers), None)  # noqa: SLF001
    teardown = app.teardown_request_funcs[None]
    release = limiter._Limiter__release_context  # noqa: SLF001
    if inject is None or release not in teardown:
        raise RuntimeError("Flask-Limiter's after-request or teardown hook is not where it was; "
                           "see server/api/throttle.py _skip_limiter_bookkeeping_where_untouched")

    def inject_headers_if_touched(response: Response) -> Response:
        return inject(response) if touched() else response

    def release_if_touched(exc: BaseException | None = None) -> None:
        if touched():
            release(exc)

    after[after.index(inject)] = inject_headers_if_touched
    teardown[teardown.index(release)] = release_if_touched


def limited_blueprint(app: Flask, name: str) -> bool:
    """Whether any Flask-Limiter limit (default, application-wide or the blueprint's own)
    can apply to the blueprint ``name``'s routes."""
    manager = limiter.limit_manager
    with app.app_context():  # a limit given as a setting is read from the app's config
        return bool(manager.default_limits or manager.application_limits
                    or manager.blueprint_limits(app, name))
