"""The Blueprint every area uses: query parameters are checked like bodies, never ignored.

webargs loads query strings with ``unknown=EXCLUDE`` whatever the schema says, so
``GET /cases?number=…`` answered the whole list and the dispatcher believed it filtered. Here
the schema's own ``unknown`` decides (``StrictSchema``: RAISE), and a route that declares no
query schema gets an empty strict one: any query parameter it does not know is a 422
``validation_failed`` naming the parameter, in the one error shape.

The same parser applies the input rules of ``server.core.text`` to everything it reads, so
no schema can forget them (``docs/security.md``): a text with a control character is a 422
``invalid_text`` naming the field, JSON nested deeper than ``MAX_JSON_DEPTH`` a 400
``json_too_deep``, a body sent with another Content-Type than JSON a 415
``unsupported_media_type`` (it used to read as an empty body: "fields missing"), and an
empty optional query parameter that cannot be empty (``cursor=``, an id, a number) counts
as absent.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import marshmallow as ma
from flask import Request
from flask_smorest import Blueprint as SmorestBlueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnsupportedMediaType

from server.api.schemas import StrictSchema
from server.core import text
from server.core.i18n import _


class StrictQueryParser(FlaskParser):
    """Like webargs' parser, but the schema's ``Meta.unknown`` decides for query strings."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type[ma.Schema], ma.Schema] = {}
        self._empty_defaults: dict[type[ma.Schema], dict | None] = {}

    def _get_schema(self, argmap: Any, req: Request) -> ma.Schema:
        """One instance per schema class, made on first use.

        flask-smorest hands webargs the class a route declares, and webargs instantiated it
        on every request (marshmallow copies each declared field: the dearest part of
        parsing a small body). A schema instance keeps no state between loads (``unknown``
        is passed to ``load``), so one serves every request and thread.
        """
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)

    def parse(self, argmap: Any, req: Request | None = None, *, location: str | None = None,
              validate: Any = None, **kwargs: Any) -> Any:
        """An empty query string loads to the same defaults every time: those are loaded
        once per schema and copied, not loaded again on every request (most requests send
        no query at all, and a route without a query schema still checks it is empty)."""
        if location in ("query", "querystring") and validate is None:
            request = req if req is not None else self.get_default_request()
            if not request.query_string:
                defaults = self._empty_query_defaults(argmap, request)
                if defaults is not None:
                    return dict(defaults)
        return super().parse(argmap, req, location=location, validate=validate, **kwargs)

    def _empty_query_defaults(self, argmap: Any, req: Request) -> dict | None:
        if not (isinstance(argmap, type) and issubclass(argmap, ma.Schema)):
            return None
        if argmap not in self._empty_defaults:
            self._empty_defaults[argmap] = _constant_load_of_nothing(self._get_schema(argmap, req))
        return self._empty_defaults[argmap]

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        if not is_json_request(req):
            if req.get_data(cache=True) and req.mimetype not in _other_media_types(schema):
                raise UnsupportedMediaType(_(
                    "Send this body as {json}, with '{header}' (it came as '{mimetype}')."
                ).format(header="Content-Type: application/json", json="JSON",
                         mimetype=req.mimetype or "none"))
            return core.missing
        try:
            data = super().load_json(req, schema)
        except RecursionError:  # the C parser gives up long before we would answer
            raise text.too_deep() from None
        if data is core.missing:
            return data
        raw = req.get_data(cache=True)
        if text.json_depth(raw) > text.MAX_JSON_DEPTH:
            raise text.too_deep()
        if text.might_hold_bad_text(raw):
            bad = text.find_bad_text(data, skip=getattr(schema, "TEXT_CHECKED_PER_ITEM", ()))
            if bad is not None:
                raise text.invalid_text(bad, location="json")
        return data

    def load_querystring(self, req: Request, schema: ma.Schema) -> Any:
        _refuse_bad_text(req.args, "query")
        # ``cursor=`` on a first page, an empty form field: absent, not an invalid value,
        # where the parameter could not be empty anyway (a number, id, date, choice, the
        # cursor). An empty text stays a value: ``parent=`` is the catalogue's top level.
        args = req.args.copy()
        for name in [n for n, v in args.items(multi=True) if v == ""]:
            field = schema.fields.get(name)
            if (field is not None and not field.required and not any(args.getlist(name))
                    and (name == "cursor" or not isinstance(field, ma.fields.String))):
                args.poplist(name)
        return self._makeproxy(args, schema)

    def load_form(self, req: Request, schema: ma.Schema) -> Any:
        _refuse_bad_text(req.form, "form")
        return super().load_form(req, schema)


_IMMUTABLE = (str, int, float, bool, type(None), enum.Enum, dt.date, dt.time, uuid.UUID)


def _constant_load_of_nothing(schema: ma.Schema) -> dict | None:
    """What ``schema.load({})`` gives, if it cannot differ from one load to the next: no
    hooks, no callable default, no required field, only immutable values. None otherwise
    (the request is parsed as usual, and a missing required parameter is answered as such)."""
    if any(schema._hooks.values()):  # noqa: SLF001 - marshmallow keeps its hooks here
        return None
    if any(callable(f.load_default) for f in schema.load_fields.values()):
        return None
    try:
        loaded = schema.load({})
    except ma.ValidationError:
        return None
    if not all(isinstance(v, _IMMUTABLE) for v in loaded.values()):
        return None
    return loaded


def _other_media_types(schema: ma.Schema) -> tuple[str, ...]:
    """Bodies a JSON route also reads itself (CSV, XLSX), named on its schema."""
    return getattr(schema, "OTHER_MEDIA_TYPES", ())


def _refuse_bad_text(values: Any, location: str) -> None:
    for name, value in values.items(multi=True):
        for part, path in ((name, (name,)), (value, (name,))):
            char = text.bad_char(part) if isinstance(part, str) else None
            if char is not None:
                raise text.invalid_text(text.BadText(path, char), location=location)


class NoQueryArgsSchema(StrictSchema):
    """A route without query parameters: every one sent is unknown."""


def _has_query_schema(view) -> bool:  # noqa: ANN001
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(p.get("in") in ("query", "querystring") for p in parameters)


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictQueryParser()

    def add_url_rule(self, rule, endpoint=None, view_func=None,  # noqa: ANN001, ANN201
                     provide_automatic_options=None, **options):
        if view_func is not None and not _has_query_schema(view_func):
            name = view_func.__name__
            view_func = self.arguments(NoQueryArgsSchema, location="query", as_kwargs=True)(
                view_func)
            view_func.__name__ = name
        return super().add_url_rule(rule, endpoint, view_func, provide_automatic_options,
                                    **options)
