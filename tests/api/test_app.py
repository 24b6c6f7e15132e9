"""The assembled app: OpenAPI document, health, error shape for unknown routes, CLI demo."""

from __future__ import annotations

import sqlalchemy as sa

from server.cases.models import Case, CaseRating
from server.core.db import Base
from server.extensions import db
from server.grids.models import Grid
from server.org.models import User
from server.staff.models import Posting
from server.whistle.models import WhistleCall


def test_flask_sqlalchemy_shares_the_declarative_metadata():
    assert db.metadata is Base.metadata


def test_the_openapi_document_lists_every_endpoint_and_the_error_shape(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/login", "/api/v1/grids/import", "/api/v1/assign",
                 "/api/v1/assign/batch", "/api/v1/townships/{code}/topology-audit",
                 "/api/v1/users/{user_id}/devices/{device_id}"):
        assert path in spec["paths"], path
    error = spec["components"]["schemas"]["Error"]["properties"]
    assert {"code", "status", "message", "errors", "details", "request_id"} <= set(error)
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert client.get("/api/v1/docs").status_code == 200


def test_health_and_unknown_routes(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "not_found"
    wrong_method = client.delete("/api/v1/assign")
    assert wrong_method.get_json()["code"] == "method_not_allowed"


def test_a_non_json_body_gets_a_clear_error(client, world, login):
    response = client.post("/api/v1/assign", data="lon=1", headers=login("admin"),
                           content_type="application/x-www-form-urlencoded")
    # Issue 14: a 415 that says what to send, no longer "fields missing" (422).
    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"


def test_the_demo_command_loads_a_township_through_the_import(app, db_session):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "46 basic grids" in result.output
    kinds = dict(db_session.execute(
        sa.select(Grid.kind, sa.func.count()).group_by(Grid.kind)).all())
    assert {k.value: v for k, v in kinds.items()} == {"basic": 46, "special": 4}
    assert db_session.scalar(sa.select(sa.func.count()).select_from(User)) == 11
    cases = db_session.scalars(sa.select(Case)).all()
    assert len(cases) == 5
    assert sorted(c.status.value for c in cases) == ["closed"] + ["dispatched"] * 3 + ["received"]
    assert all(c.basic_grid_code for c in cases if c.status.value != "received")
    # The closed one was called back by the district centre: a rating the evaluation counts.
    [rating] = db_session.scalars(sa.select(CaseRating)).all()
    assert (rating.double_yes, rating.source) == (True, "supervisor")
    [posting] = db_session.scalars(sa.select(Posting)).all()
    assert (posting.mode.value, len(posting.grid_ids)) == ("patrolling", 3)
    [call] = db_session.scalars(sa.select(WhistleCall)).all()
    assert (call.status.value, call.grid_code) == ("raised", "WJ-001")
    again = app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code == 2
    assert "duplicate_unit_code" in again.output
