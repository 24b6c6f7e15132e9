"""Which grids hold a point: one point, or a batch of up to GRID_MAX_BATCH_POINTS."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from geo.crs import CRS, in_china, to_wgs84
from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.schemas import LonLatSchema, PointSchema, StrictSchema
from server.core.errors import Invalid
from server.core.points import wgs84_in_china
from server.grids.assignment import assign_in_database, assign_with_index
from server.grids.explain import assignment_as_dict, point_answer

blp = Blueprint("assign", __name__, url_prefix="assign", description="Point-to-grid assignment")

VIA = ("index", "database")


class AssignPointSchema(PointSchema):
    EXAMPLE = {"lon": 116.4736, "lat": 39.9968, "crs": "wgs84"}

    crs = fields.Enum(
        CRS,
        by_value=True,
        load_default=CRS.WGS84,
        metadata={
            "description": "Coordinate system of lon/lat (GCJ-02 for AMap/Tencent, BD-09 for Baidu)"
        },
    )


class AssignBatchSchema(StrictSchema):
    EXAMPLE = {"crs": "wgs84", "points": [{"lon": 116.4736, "lat": 39.9968}]}

    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84)
    points = fields.List(fields.Nested(LonLatSchema), required=True,
                         validate=validate.Length(min=1))


class AssignQuerySchema(StrictSchema):
    EXAMPLE = {"via": "index"}

    via = fields.String(
        load_default="index",
        validate=validate.OneOf(VIA),
        metadata={
            "description": "index (in-memory STRtree, default) or database (PostGIS SQL); "
            "both give the same answer"
        },
    )


class GridRefSchema(ma.Schema):
    EXAMPLE = {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "code": "110105001"}

    id = fields.String()
    code = fields.String()


class AssignmentSchema(ma.Schema):
    EXAMPLE = {
        "basic_grid": {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "code": "110105001"},
        "special_grids": [{"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "code": "110105001"}],
        "method": "GET",
        "distance_m": 0.5,
        "boundary_grid_codes": ["0301"],
        "needs_triage": True,
        "explanation": "按期办结 42 件，共 45 件。",
        "wgs84": [0.5],
    }

    basic_grid = fields.Nested(GridRefSchema, allow_none=True)
    special_grids = fields.List(fields.Nested(GridRefSchema))
    method = fields.String(metadata={"description": "inside | boundary | nearest | none"})
    distance_m = fields.Float(allow_none=True)
    boundary_grid_codes = fields.List(fields.String())
    needs_triage = fields.Boolean(metadata={"description": "No basic grid: send to manual triage"})
    explanation = fields.String()
    wgs84 = fields.List(
        fields.Float(), metadata={"description": "The point as stored: [lon, lat] WGS-84"}
    )


class AssignBatchResultSchema(ma.Schema):
    EXAMPLE = {
        "results": [
            {
                "basic_grid": {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "code": "110105001"},
                "special_grids": [
                    {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "code": "110105001"},
                ],
                "method": "GET",
                "distance_m": 0.5,
                "boundary_grid_codes": ["0301"],
                "needs_triage": True,
                "explanation": "按期办结 42 件，共 45 件。",
                "wgs84": [0.5],
            },
        ],
        "tolerance_m": 0.5,
    }

    results = fields.List(fields.Nested(AssignmentSchema))
    tolerance_m = fields.Float()


def _assign(lons, lats, crs: CRS, via: str):
    wgs_lons, wgs_lats = to_wgs84(lons, lats, crs)
    tolerance_m = ctx.setting("ASSIGN_TOLERANCE_M")
    if via == "database":
        found = assign_in_database(ctx.session(), wgs_lons, wgs_lats, tolerance_m=tolerance_m)
    else:
        found = assign_with_index(ctx.session(), ctx.grid_index_cache(), wgs_lons, wgs_lats,
                                  tolerance_m=tolerance_m)
    return [
        assignment_as_dict(a, x, y, tolerance_m)
        for a, x, y in zip(found, wgs_lons, wgs_lats, strict=True)
    ]


@blp.route("", methods=["POST"])
@blp.arguments(AssignQuerySchema, location="query")
@blp.arguments(AssignPointSchema)
@blp.response(200, AssignmentSchema)
@may_answer("coordinates_outside_china")
def assign_point(args, body):
    """The basic grid and the special grids that hold a point, and how that was decided"""
    ctx.current_actor()
    wgs84_in_china(body["lon"], body["lat"], body["crs"])  # refuses a point outside China
    if args["via"] == "index":  # the answer the fast lane gives too (fast_lane.py)
        return point_answer(ctx.grid_index_cache().get(ctx.session()), body["lon"],
                            body["lat"], body["crs"], ctx.setting("ASSIGN_TOLERANCE_M"))
    return _assign([body["lon"]], [body["lat"]], body["crs"], args["via"])[0]


@blp.route("/batch", methods=["POST"])
@blp.arguments(AssignQuerySchema, location="query")
@blp.arguments(AssignBatchSchema)
@blp.response(200, AssignBatchResultSchema)
@may_answer("coordinates_outside_china", "too_many_points")
def assign_batch(args, body):
    """Assign many points at once; results in the order of the points"""
    ctx.current_actor()
    points = body["points"]
    limit = ctx.setting("MAX_BATCH_POINTS")
    if len(points) > limit:
        raise Invalid.for_field("points", f"At most {limit} points per request; split the batch.",
                                code="too_many_points")
    outside = {str(i): {"lon": ["outside China"]} for i, p in enumerate(points)
               if not in_china(p["lon"], p["lat"])}
    if outside:
        raise Invalid(f"{len(outside)} points are outside China; nothing was assigned.",
                      code="coordinates_outside_china", errors={"json": {"points": outside}})
    lons = [p["lon"] for p in points]
    lats = [p["lat"] for p in points]
    return {"results": _assign(lons, lats, body["crs"], args["via"]),
            "tolerance_m": ctx.setting("ASSIGN_TOLERANCE_M")}
