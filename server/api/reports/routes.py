"""Report files: case counts per grid as a GeoJSON choropleth that QGIS opens as is."""

from __future__ import annotations

import json

import marshmallow as ma
from flask import Response

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.reports.schemas import GridCountsArgsSchema, GridCountsSchema
from server.api.tables import content_disposition
from server.core.errors import Invalid
from server.reports.access import TargetKind, target_for
from server.reports.choropleth import grid_counts_geojson

GEOJSON_MIMETYPE = "application/geo+json"  # RFC 7946 §12

blp = Blueprint("reports", __name__, url_prefix="reports",
                description="Report files: maps of case counts")


@blp.route("/grid-counts.geojson", methods=["GET"])
# webargs ignores unknown query args unless told: a misspelt one must not be dropped silently
@blp.arguments(GridCountsArgsSchema, location="query", unknown=ma.RAISE)
@blp.response(200, GridCountsSchema, content_type=GEOJSON_MIMETYPE)
@may_answer("permission_denied", "unit_not_evaluated", "unit_not_found", "unit_not_mappable")
def grid_counts(args):
    """Cases per grid of a township or district for a period, with the previous period's"""
    target = target_for(ctx.session(), ctx.current_actor(), args["unit_id"])
    if target.kind not in (TargetKind.TOWNSHIP, TargetKind.DISTRICT):
        raise Invalid.for_field("unit_id", "Map a township or a district.",
                                location="query", code="unit_not_mappable")
    period = args["period"]
    doc = grid_counts_geojson(ctx.session(), area=target.unit, period=period,
                              grid_kind=args["grid_kind"], category_prefix=args["category"])
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=GEOJSON_MIMETYPE, headers={
        "Content-Disposition": content_disposition(f"{doc['name']}.geojson"),
        "Cache-Control": "private, no-store",
    })
