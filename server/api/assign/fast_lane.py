"""``POST /assign`` for one point, answered beneath Flask when nothing can go wrong.

Phones and intake ask "which grid is this point in" more than anything else, and the answer
costs microseconds (an STRtree query); Flask's request objects, webargs, marshmallow and the
hooks around a view cost several times that. This WSGI layer answers the plain success: a
JSON body of ``lon``, ``lat`` and optionally ``crs``, numbers inside China, no query string,
a bearer token this process has cached, a grid index that needs no generation check. The
answer is computed by the same function as the route's (``server.grids.explain.point_answer``)
and encoded by the app's own JSON provider, so the bytes are the
route's; ``tests/api/test_assign_fast_lane.py`` compares the two answer for answer.

Anything else (another path, a query, a form, a string number, an unknown field, a point
outside China, a token not cached, a stale index, a body over 1 KiB) goes to the Flask route
untouched, with the body put back: every error, and every check the route makes, stays the
route's alone. ``GRID_ASSIGN_FAST_LANE=0`` turns this layer off, and ``create_app`` leaves it
out while a rate limit could reach the assign routes (it answers beneath Flask-Limiter).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from geo.crs import CRS, in_china
from server.auth.services import TokenCache, bearer_token_in, hash_token
from server.core.clock import now_utc
from server.grids.assignment import GridIndexCache
from server.grids.explain import point_answer

ENDPOINT = "assign.assign_point"
MAX_BODY_BYTES = 1024
_FIELDS = frozenset(("lon", "lat", "crs"))
_CRS_BY_VALUE = {c.value: c for c in CRS}

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class AssignFastLane:
    """Wraps the app's WSGI callable; see the module's docstring for what it answers."""

    def __init__(self, app: Flask, inner: WsgiApp) -> None:
        self._app = app
        self._inner = inner
        self._path = next(r.rule for r in app.url_map.iter_rules() if r.endpoint == ENDPOINT)
        self._tokens: TokenCache = app.extensions["gridops.tokens"]
        self._grids: GridIndexCache = app.extensions["gridops.grid_index"]
        self._tolerance_m = float(app.config["ASSIGN_TOLERANCE_M"])

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (environ.get("PATH_INFO") != self._path or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("QUERY_STRING")
                or environ.get("CONTENT_TYPE") != "application/json"):
            return self._inner(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY_BYTES:
            return self._inner(environ, start_response)
        body = environ["wsgi.input"].read(length)
        answer = self._answer(environ, body)
        if answer is None:
            environ["wsgi.input"] = io.BytesIO(body)  # the route reads it as sent
            return self._inner(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(answer)))])
        return [answer]

    def _answer(self, environ: dict, body: bytes) -> bytes | None:
        """The route's answer, or None where the route must answer."""
        token = bearer_token_in(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return None
        index = self._grids.fresh()
        if index is None:
            return None
        point = _plain_point(body)
        if point is None:
            return None
        lon, lat, crs = point
        if self._tokens.get(hash_token(token), now=now_utc()) is None:
            return None
        return _encode(self._app, point_answer(index, lon, lat, crs, self._tolerance_m))


def _plain_point(body: bytes) -> tuple[float, float, CRS] | None:
    """(lon, lat, crs) if the body is exactly what the route accepts without a word, else
    None: finite JSON numbers (not booleans, not strings) inside China, a known ``crs``."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if type(data) is not dict or not data.keys() <= _FIELDS:
        return None
    try:  # JSON integers have no size limit; float() of a huge one overflows
        lon, lat = _number(data.get("lon")), _number(data.get("lat"))
    except OverflowError:
        return None
    if lon is None or lat is None or not in_china(lon, lat):  # NaN is never in China
        return None
    crs = CRS.WGS84
    if "crs" in data:
        value = data["crs"]
        crs = _CRS_BY_VALUE.get(value) if type(value) is str else None
        if crs is None:
            return None
    return lon, lat, crs


def _number(value: Any) -> float | None:
    """A finite JSON number as marshmallow's Float loads it; None for anything else."""
    if type(value) not in (int, float):  # bool is not a number here, nor "116.4"
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _encode(app: Flask, answer: dict[str, Any]) -> bytes:
    """As ``jsonify`` encodes (``DefaultJSONProvider.response``): compact unless in debug."""
    provider = app.json
    if (provider.compact is None and app.debug) or provider.compact is False:
        text = provider.dumps(answer, indent=2)
    else:
        text = provider.dumps(answer, separators=(",", ":"))
    return f"{text}\n".encode()
