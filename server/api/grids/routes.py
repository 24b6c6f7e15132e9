"""Grids: list, read, import, export, retire, and the topology audit of a township."""

from __future__ import annotations

import uuid

from shapely.geometry import mapping

from geo.crs import CRS, geometry_from_wgs84
from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.grids.schemas import (
    FeatureCollectionOutSchema,
    FeatureCollectionSchema,
    GridExportQuerySchema,
    GridImportQuerySchema,
    GridListQuerySchema,
    GridPageSchema,
    GridSchema,
    GridSummarySchema,
    ImportResultSchema,
    TopologyAuditSchema,
)
from server.api.openapi import may_answer
from server.api.schemas import CRSQuerySchema
from server.auth.services import scope_of
from server.core.i18n import _
from server.grids import queries, services
from server.org.rules import MANAGE_GRIDS, RUN_AUDIT


class GridWithGeometry:
    """A grid as GridSchema dumps it: the model's fields plus its boundary in the asked crs."""

    def __init__(self, grid, geometry: dict, crs: CRS) -> None:  # noqa: ANN001
        self._grid, self.geometry, self.crs = grid, geometry, crs

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._grid, name)


blp = Blueprint("grids", __name__, url_prefix="", description="Basic and special grids")


@blp.route("/grids", methods=["GET"])
@blp.arguments(GridListQuerySchema, location="query")
@blp.response(200, GridPageSchema)
@may_answer("invalid_cursor", "township_not_found")
def list_grids(args):
    """Grids one may see, by code, keyset-paginated (no geometry; see export)"""
    page = queries.list_grids(
        ctx.session(),
        ctx.current_actor(),
        township_code=args["township"],
        kind=args["kind"],
        include_retired=args["include_retired"],
        limit=args["limit"],
        cursor=args["cursor"],
    )
    return {"items": page.grids, "next_cursor": page.next_cursor}


@blp.route("/grids/<uuid:grid_id>", methods=["GET"])
@blp.arguments(CRSQuerySchema, location="query")
@blp.response(200, GridSchema)
def get_grid(args, grid_id: uuid.UUID):
    """One grid with its boundary, in the requested coordinate system"""
    grid = queries.get_grid_for(ctx.session(), ctx.current_actor(), grid_id)
    return GridWithGeometry(grid, mapping(geometry_from_wgs84(grid.boundary, args["crs"])),
                            args["crs"])


@blp.route("/grids/export", methods=["GET"])
@blp.arguments(GridExportQuerySchema, location="query")
@blp.response(200, FeatureCollectionOutSchema)
@may_answer("township_not_found")
def export_grids(args):
    """GeoJSON FeatureCollection of grids, by township and kind, in the requested crs"""
    return queries.export_grids(
        ctx.session(),
        ctx.current_actor(),
        township_code=args["township"],
        kind=args["kind"],
        crs=args["crs"],
        include_retired=args["include_retired"],
    )


@blp.route("/grids/import", methods=["POST"])
@blp.arguments(GridImportQuerySchema, location="query")
@blp.arguments(FeatureCollectionSchema)
@blp.response(201, ImportResultSchema)
@may_answer("geojson_empty", "geojson_invalid", "grid_import_rejected", "too_many_features")
def import_grids(args, body):
    """Import a GeoJSON FeatureCollection of grids, all or nothing, with a per-feature report"""
    actor = ctx.current_actor()
    actor.require(MANAGE_GRIDS, _("import grids"))
    result = services.import_grids(
        ctx.session(),
        body,
        crs=args["crs"],
        repair=args["repair"],
        replace_existing=args["replace_existing"],
        allowed_township_ids=scope_of(ctx.session(), actor).township_ids,
        now=ctx.request_now(),
    )
    return {
        "imported": len(result.created),
        "replaced_codes": result.replaced_codes,
        "repairs": result.repairs,
        "grids": result.created,
    }


@blp.route("/grids/<uuid:grid_id>/retire", methods=["POST"])
@blp.response(200, GridSummarySchema)
@may_answer("grid_already_retired")
def retire_grid(grid_id: uuid.UUID):
    """Retire a grid: no new assignments; old cases keep it"""
    actor = ctx.current_actor()
    actor.require(MANAGE_GRIDS, _("retire grids"))
    grid = queries.get_grid_for(ctx.session(), actor, grid_id)
    return services.retire_grid(ctx.session(), grid, now=ctx.request_now())


@blp.route("/townships/<string:code>/topology-audit", methods=["GET"])
@blp.response(200, TopologyAuditSchema)
@may_answer("permission_denied", "township_not_found")
def topology_audit(code: str):
    """Overlaps, gaps and protrusions of a township's basic grids; special grids' gaps in data"""
    actor = ctx.current_actor()
    actor.require(RUN_AUDIT, _("audit grid topology"))
    township = queries.get_township_for(ctx.session(), actor, code)
    return queries.audit_as_dict(queries.audit_township(ctx.session(), township))
