"""The single-point ``POST /assign`` fast lane (server/api/assign/fast_lane.py) answers exactly
as the Flask route does, and only where it may: a spy on the app beneath it tells which of
the two answered, and ``?via=index`` (the route's default, which the lane never takes) gives
the route's own answer to compare with."""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.crs import CRS, from_wgs84
from server.api.assign.fast_lane import AssignFastLane
from server.auth.services import hash_token

PATH = "/api/v1/assign"


@pytest.fixture
def lane(app, monkeypatch):  # noqa: ANN001, ANN201
    """The app's fast lane, with a counter of the requests it handed to Flask."""
    fast = app.wsgi_app
    assert isinstance(fast, AssignFastLane)
    inner = fast._inner  # noqa: SLF001 - the spy must sit where the lane hands over
    calls = {"flask": 0}

    def counting(environ, start_response):  # noqa: ANN001, ANN202
        calls["flask"] += 1
        return inner(environ, start_response)

    monkeypatch.setattr(fast, "_inner", counting)
    # A slow test must not see the index fall due for its check, or a token expire from
    # the cache, between two requests that are meant to be answered alike.
    monkeypatch.setattr(app.extensions["gridops.grid_index"], "max_stale_s", 3600.0)
    monkeypatch.setattr(app.extensions["gridops.tokens"], "ttl_s", 3600.0)
    return calls


def _send(client, headers, body, *, query: str = ""):  # noqa: ANN001, ANN202
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(PATH + query, data=raw, headers={**headers,
                                                        "Content-Type": "application/json"})


def _both(client, headers, lane, body):  # noqa: ANN001, ANN202
    """(answer beneath Flask or not, the plain request's response, the route's response)."""
    before = lane["flask"]
    plain = _send(client, headers, body)
    answered_beneath = lane["flask"] == before
    routed = _send(client, headers, body, query="?via=index")
    return answered_beneath, plain, routed


def _warm(client, headers):  # noqa: ANN001, ANN202
    """The first request of a token goes through the route, which caches the token (on
    PostgreSQL once the revocation listener is up: until then nothing is cached)."""
    tokens = client.application.extensions["gridops.tokens"]
    for _ in range(50):
        assert _send(client, headers, {"lon": 116.306, "lat": 39.904}).status_code == 200
        if hash_token(headers["Authorization"].split()[1]) in tokens._entries:  # noqa: SLF001
            return
        time.sleep(0.1)
    raise AssertionError("the token was never cached")


POINTS = [
    {"lon": 116.306, "lat": 39.904},  # inside T1-A1, under the special grid T1-S1
    {"lon": 116.31, "lat": 39.905, "crs": "wgs84"},  # on the shared edge of two grids
    {"lon": 116.31, "lat": 39.91},  # on the vertex of four
    {"lon": 116.2998, "lat": 39.9005},  # just outside every grid: the nearest within 50 m
    {"lon": 110.0, "lat": 30.0},  # in China, far from any grid: manual triage
    {"lon": 116, "lat": 40},  # JSON integers
]


def test_a_plain_point_is_answered_beneath_flask_byte_for_byte_as_the_route(
    client, world, login, lane
):
    headers = login("t1.worker")
    _warm(client, headers)
    gcj = from_wgs84(116.325, 39.915, CRS.GCJ02)
    bd = from_wgs84(116.325, 39.915, CRS.BD09)
    for body in [*POINTS, {"lon": float(gcj[0]), "lat": float(gcj[1]), "crs": "gcj02"},
                 {"crs": "bd09", "lon": float(bd[0]), "lat": float(bd[1])},
                 {"lon": 116.306, "lat": 39.904, "crs": "cgcs2000"}]:
        beneath, plain, routed = _both(client, headers, lane, body)
        assert beneath, body
        assert plain.status_code == routed.status_code == 200
        assert plain.get_data() == routed.get_data(), body
        assert plain.headers["Content-Type"] == routed.headers["Content-Type"]
        assert plain.headers["Content-Length"] == routed.headers["Content-Length"]


REFUSED_OR_UNUSUAL = [
    {"lon": 2.35, "lat": 48.85},  # Paris: outside China, 422
    {"lon": "116.306", "lat": 39.904},  # a string number (the schema loads it)
    {"lon": True, "lat": 39.904},  # a boolean
    {"lon": 116.306},  # lat missing
    {"lon": 116.306, "lat": 39.904, "crs": "utm"},  # unknown system
    {"lon": 116.306, "lat": 39.904, "crs": ["wgs84"]},
    {"lon": 116.306, "lat": 39.904, "accuracy_m": 5},  # unknown field
    {"lon": 10**400, "lat": 39.904},  # overflows a float
    b'{"lon": NaN, "lat": 39.9}',
    b'{"lon": Infinity, "lat": 39.9}',
    b'{"lon": 116.3, "lat": 39.9',  # cut short
    b'[116.3, 39.9]',
    b'{"lon": 116.3, "lat": 39.9, "crs": "wgs84\\u0000"}',
]


@pytest.mark.parametrize("body", REFUSED_OR_UNUSUAL, ids=range(len(REFUSED_OR_UNUSUAL)))
def test_anything_unusual_goes_to_the_route_which_gives_its_own_answer(
    client, world, login, lane, body
):
    headers = login("t1.worker")
    _warm(client, headers)
    beneath, plain, routed = _both(client, headers, lane, body)
    assert not beneath
    assert plain.status_code == routed.status_code
    assert plain.get_json() == routed.get_json()


def test_without_a_cached_token_or_with_a_bad_one_the_route_answers(client, world, login, lane):
    headers = login("t1.worker")
    app_tokens = client.application.extensions["gridops.tokens"]
    app_tokens.clear()
    before = lane["flask"]
    assert _send(client, headers, POINTS[0]).status_code == 200  # looked up, then cached
    assert lane["flask"] == before + 1
    for bad in ({"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}, {}):
        response = _send(client, bad, POINTS[0])
        assert response.status_code == 401
        assert response.get_json()["code"] in ("invalid_token", "unauthenticated")
    assert lane["flask"] == before + 4


def test_a_signed_out_token_is_refused_at_once(client, world, login, lane):
    headers = login("t1.worker")
    _warm(client, headers)
    beneath, plain, _ = _both(client, headers, lane, POINTS[0])
    assert beneath
    assert plain.status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    response = _send(client, headers, POINTS[0])
    assert response.status_code == 401


def test_an_index_due_for_its_generation_check_is_checked_by_the_route(
    client, world, login, lane
):
    headers = login("t1.worker")
    _warm(client, headers)
    client.application.extensions["gridops.grid_index"].mark_stale()
    before = lane["flask"]
    assert _send(client, headers, POINTS[0]).status_code == 200
    assert lane["flask"] == before + 1  # the route checked the generation
    beneath, plain, _ = _both(client, headers, lane, POINTS[0])
    assert beneath
    assert plain.status_code == 200


def test_a_query_a_form_or_a_large_body_goes_to_the_route(client, world, login, lane):
    headers = login("t1.worker")
    _warm(client, headers)
    before = lane["flask"]
    assert _send(client, headers, POINTS[0], query="?via=database").status_code == 200
    form = client.post(PATH, data={"lon": "116.3", "lat": "39.9"}, headers=headers)
    assert form.status_code == 415
    padded = json.dumps(POINTS[0]).encode()[:-1] + b" " * 2000 + b"}"
    assert _send(client, headers, padded).status_code == 200
    assert lane["flask"] == before + 3


finite = st.floats(allow_nan=False, allow_infinity=False)
coordinate = st.one_of(
    st.floats(min_value=70, max_value=140), st.floats(min_value=0, max_value=60), finite,
    st.integers(min_value=-200, max_value=200), st.text(max_size=5), st.booleans(), st.none(),
)
body_strategy = st.fixed_dictionaries(
    {"lon": coordinate, "lat": coordinate},
    optional={"crs": st.sampled_from(["wgs84", "gcj02", "bd09", "cgcs2000", "WGS84", ""]),
              "extra": st.integers()},
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=body_strategy)
def test_for_any_body_the_lane_and_the_route_give_the_same_answer(
    client, world, login, lane, body
):
    headers = login("t1.worker")
    _warm(client, headers)
    beneath, plain, routed = _both(client, headers, lane, body)
    assert plain.status_code == routed.status_code
    assert plain.get_data() == routed.get_data()
    lon, lat = body["lon"], body["lat"]
    plainly_valid = (
        all(type(v) in (int, float) and math.isfinite(v) for v in (lon, lat))
        and 73.4 <= lon <= 135.1 and 3.8 <= lat <= 53.6
        and body.get("crs", "wgs84") in ("wgs84", "gcj02", "bd09", "cgcs2000")
        and "extra" not in body
    )
    assert beneath == plainly_valid, body


def test_the_setting_turns_the_lane_off():
    from config import TestConfig
    from server.app import create_app

    class Off(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        ASSIGN_FAST_LANE = False

    assert not isinstance(create_app(Off).wsgi_app, AssignFastLane)


def test_the_lane_stands_aside_where_a_rate_limit_could_apply(app, monkeypatch):
    """It answers beneath Flask-Limiter, so it is installed only while no limit reaches the
    assign routes (none does: limits are per device, account and Open311 key)."""
    import server.app
    from config import TestConfig
    from server.api.throttle import limited_blueprint

    assert not limited_blueprint(app, "assign")
    assert limited_blueprint(app, "open311")  # a blueprint that carries its own limit

    class Plain(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    monkeypatch.setattr(server.app, "limited_blueprint", lambda _app, name: name == "assign")
    assert not isinstance(server.app.create_app(Plain).wsgi_app, AssignFastLane)
