"""Per-request context for views: the session, the clock, settings and the signed-in actor."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g, request
from sqlalchemy.orm import Session

from geo.limits import VertexCaps
from server.auth import services as auth
from server.auth.actor import Actor
from server.auth.passwords import Passwords
from server.core.clock import now_utc
from server.core.errors import Unauthenticated
from server.extensions import db
from server.grids.assignment import GridIndexCache


def session() -> Session:
    return db.session


def request_now() -> datetime:
    """One timestamp per request, so everything a request writes carries the same time."""
    if "now" not in g:
        g.now = now_utc()
    return g.now


def setting(name: str):  # noqa: ANN201 - settings have many types
    return current_app.config[name]


def vertex_caps() -> VertexCaps:
    return VertexCaps(per_geometry=setting("MAX_VERTICES_PER_GEOMETRY"),
                      per_import=setting("MAX_VERTICES_PER_IMPORT"))


def passwords() -> Passwords:
    return current_app.extensions["gridops.passwords"]


def grid_index_cache() -> GridIndexCache:
    return current_app.extensions["gridops.grid_index"]


def bearer_token() -> str:
    token = auth.bearer_token_in(request.headers.get("Authorization", ""))
    if token is None:
        raise Unauthenticated()
    return token


def current_actor() -> Actor:
    """The actor of this request; 401 without a valid token.

    Role checks are the services' (an auditor holds no role that may write).
    """
    if "actor" not in g:
        g.actor = auth.authenticate(
            session(), bearer_token(), now=request_now(),
            cache=current_app.extensions["gridops.tokens"],
        )
    return g.actor
