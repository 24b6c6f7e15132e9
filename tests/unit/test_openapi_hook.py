"""The OpenAPI hook on a small app: examples copied from EXAMPLE, codes by kind and by
declaration, an unknown code refused, and another standard's error shape left alone."""

from __future__ import annotations

import marshmallow as ma
import pytest
from flask import Flask

from server.api.blueprint import Blueprint
from server.api.openapi import may_answer, own_error_shape
from server.api.schemas import VersionedSchema
from server.extensions import Api


class _NoteSchema(VersionedSchema):
    EXAMPLE = {"version": 2, "note": "已到场"}

    note = ma.fields.String(required=True)


def _spec(*decorators) -> dict:  # noqa: ANN002
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = Blueprint("t", __name__)

    def view(body, case_id):  # noqa: ANN001, ANN202
        """A note"""
        return body

    for decorate in decorators:
        view = decorate(view)
    blp.route("/cases/<uuid:case_id>/notes", methods=["POST"])(
        blp.arguments(_NoteSchema)(blp.response(200, _NoteSchema)(view)))
    api.register_blueprint(blp)
    return api.spec.to_dict()["paths"]["/cases/{case_id}/notes"]


def _codes(responses: dict, status: str) -> set[str]:
    return set(responses[status]["content"]["application/json"]["examples"])


def test_examples_and_codes_of_a_versioned_write_on_a_path_id():
    item = _spec(may_answer("illegal_transition"))
    operation = item["post"]
    assert item["parameters"][0]["example"]  # case_id, from PATH_EXAMPLES
    assert operation["requestBody"]["content"]["application/json"]["example"] == {
        "version": 2, "note": "已到场"}
    responses = operation["responses"]
    assert responses["200"]["content"]["application/json"]["example"]["note"] == "已到场"
    assert _codes(responses, "401") == {"unauthenticated", "invalid_token"}
    assert _codes(responses, "404") == {"not_found", "case_not_found"}
    assert _codes(responses, "409") == {"stale_version", "illegal_transition"}
    assert _codes(responses, "422") == {"validation_failed", "invalid_text"}
    assert _codes(responses, "415") == {"unsupported_media_type"}
    assert _codes(responses, "400") == {"json_too_deep"}


def test_an_unknown_code_is_refused_when_declared():
    with pytest.raises(ValueError, match="no_such_code"):
        may_answer("no_such_code")


def test_another_standards_error_shape_is_left_as_the_view_documents_it():
    documented = {"400": {"description": "Open311 errors", "content": {
        "application/json": {"schema": {"type": "array"}, "example": [{"code": 400}]}}}}
    from flask_smorest import Blueprint as SmorestBlueprint

    operation = _spec(own_error_shape("open311"),
                      SmorestBlueprint.doc(responses=documented))["post"]
    assert operation["x-own-error-shape"] == "open311"
    assert operation["responses"]["400"]["description"] == "Open311 errors"
    assert "401" not in operation["responses"]
