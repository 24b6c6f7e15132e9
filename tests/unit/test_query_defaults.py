"""An empty query string loads to the defaults once per schema (server/api/blueprint.py), and
only where that load cannot differ from one request to the next."""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from flask import Flask
from marshmallow import fields

from server.api.blueprint import StrictQueryParser, _constant_load_of_nothing
from server.api.schemas import StrictSchema


class Plain(StrictSchema):
    via = fields.String(load_default="index")
    limit = fields.Integer(load_default=50)
    cursor = fields.String()


class Clocked(StrictSchema):
    since = fields.DateTime(load_default=lambda: datetime.now(UTC))


class Hooked(StrictSchema):
    via = fields.String(load_default="index")

    @ma.post_load
    def _stamp(self, data, **kwargs):  # noqa: ANN001, ANN003, ANN202
        return {**data, "seen": True}


class Required(StrictSchema):
    grid = fields.String(required=True)


class Listed(StrictSchema):
    kinds = fields.List(fields.String(), load_default=list)


def test_a_schema_of_constant_defaults_loads_once():
    assert _constant_load_of_nothing(Plain()) == {"via": "index", "limit": 50}


def test_a_default_computed_per_load_a_hook_a_required_field_or_a_list_are_loaded_each_time():
    for schema in (Clocked(), Hooked(), Required(), Listed()):
        assert _constant_load_of_nothing(schema) is None, schema


def test_each_request_gets_its_own_copy_and_a_query_is_still_parsed():
    parser = StrictQueryParser()
    app = Flask(__name__)
    with app.test_request_context("/x"):
        first = parser.parse(Plain, location="query")
        first["via"] = "database"
        assert parser.parse(Plain, location="query") == {"via": "index", "limit": 50}
    with app.test_request_context("/x?limit=5"):
        assert parser.parse(Plain, location="query") == {"via": "index", "limit": 5}
    with app.test_request_context("/x"):
        assert parser.parse(Hooked, location="query") == {"via": "index", "seen": True}
