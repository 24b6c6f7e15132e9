"""The Blueprint every area uses: query parameters are checked like bodies, never ignored.

webargs loads query strings with ``unknown=EXCLUDE`` whatever the schema says, so
``GET /cases?number=…`` answered the whole list and the dispatcher believed it filtered. Here
the schema's own ``unknown`` decides (``StrictSchema``: RAISE), and a route that declares no
query schema gets an empty strict one: any query parameter it does not know is a 422
``validation_failed`` naming the parameter, in the one error shape.
"""

from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser

from server.api.schemas import StrictSchema


class StrictQueryParser(FlaskParser):
    """Like webargs' parser, but the schema's ``Meta.unknown`` decides for query strings."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}


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
