"""Grids: list, read, import, export, retire, and the topology audit of a township."""

from __future__ import annotations

import json
import uuid

from flask import Response
from shapely.geometry import mapping

from geo.crs import CRS, geometry_from_wgs84
from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.grids.schemas import (
    AUDIT_GEOJSON_EXAMPLE,
    GRID_CSV_EXAMPLE,
    AuditQuerySchema,
    ExportFormat,
    FeatureCollectionOutSchema,
    FeatureCollectionSchema,
    GridExportQuerySchema,
    GridImportListQuerySchema,
    GridImportQuerySchema,
    GridImportRecordSchema,
    GridListQuerySchema,
    GridPageSchema,
    GridSchema,
    GridSummarySchema,
    ImportResultSchema,
    TopologyAuditSchema,
)
from server.api.openapi import may_answer
from server.api.schemas import CRSQuerySchema
from server.api.tables import BOM, CSV_MIMETYPE, content_disposition
from server.auth.services import scope_of
from server.core.i18n import _
from server.grids import queries, services
from server.grids.tiling import Tolerances
from server.org import queries as org_queries
from server.org.rules import MANAGE_GRIDS, OVERRIDE_TOPOLOGY, RUN_AUDIT, Role

GEOJSON_MIMETYPE = "application/geo+json"  # RFC 7946 §12


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
@blp.doc(responses={200: {"content": {CSV_MIMETYPE: {"schema": {
    "type": "string", "description": "format=csv: the properties, crs, wkt"},
    "example": GRID_CSV_EXAMPLE}}}})
@may_answer("township_not_found")
def export_grids(args):
    """Grids by township and kind: GeoJSON in WGS-84, or CSV (crs and WKT columns) in any crs"""
    which = {"township_code": args["township"], "kind": args["kind"],
             "include_retired": args["include_retired"]}
    if args["format"] is ExportFormat.CSV:
        body = queries.export_grids_csv(ctx.session(), ctx.current_actor(), crs=args["crs"],
                                        **which)
        return csv_download(body, f"grids-{args['crs'].value}.csv")
    return queries.export_grids(ctx.session(), ctx.current_actor(), **which)


@blp.route("/grids/import", methods=["POST"])
@blp.arguments(GridImportQuerySchema, location="query")
@blp.arguments(FeatureCollectionSchema)
@blp.response(201, ImportResultSchema)
@may_answer("geojson_empty", "geojson_invalid", "geometry_too_many_vertices",
            "grid_import_rejected", "import_too_many_vertices", "too_many_features")
def import_grids(args, body):
    """Import a GeoJSON FeatureCollection of grids, all or nothing, with a per-feature report"""
    actor = ctx.current_actor()
    actor.require(MANAGE_GRIDS, _("import grids"))
    if args["override_topology"]:
        actor.require(OVERRIDE_TOPOLOGY, _("override the grid tiling checks"))
    result = services.import_grids(
        ctx.session(),
        body,
        crs=args["crs"],
        repair=args["repair"],
        replace_existing=args["replace_existing"],
        allowed_township_ids=scope_of(ctx.session(), actor).township_ids,
        now=ctx.request_now(),
        tolerances=Tolerances(ctx.setting("OVERLAP_TOLERANCE_M2"),
                              ctx.setting("OUTSIDE_TOLERANCE_M2")),
        override_reason=args["override_reason"],
        imported_by_user_id=actor.user_id,
        actor=actor,
        vertex_caps=ctx.vertex_caps(),
    )
    return {
        "import_id": result.record.id,
        "topology_override": result.record.topology_override,
        "overridden": result.record.overridden_problems,
        "imported": len(result.created),
        "replaced_codes": result.replaced_codes,
        "repairs": result.repairs,
        "grids": result.created,
    }


@blp.route("/grids/imports", methods=["GET"])
@blp.arguments(GridImportListQuerySchema, location="query")
@blp.response(200, GridImportRecordSchema(many=True))
@may_answer("permission_denied")
def list_grid_imports(args):
    """Grid import records, newest first: who, when, and any tiling override with its reason"""
    ctx.current_actor().require(OVERRIDE_TOPOLOGY | {Role.AUDITOR}, _("read grid import records"))
    return queries.list_imports(ctx.session(), overridden=args["overridden"], limit=args["limit"])


@blp.route("/grids/<uuid:grid_id>/retire", methods=["POST"])
@blp.response(200, GridSummarySchema)
@may_answer("grid_already_retired")
def retire_grid(grid_id: uuid.UUID):
    """Retire a grid: no new assignments; old cases keep it"""
    actor = ctx.current_actor()
    actor.require(MANAGE_GRIDS, _("retire grids"))
    grid = queries.get_grid_for(ctx.session(), actor, grid_id)
    return services.retire_grid(ctx.session(), grid, now=ctx.request_now(), actor=actor)


@blp.route("/townships/<string:code>/topology-audit", methods=["GET"])
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, TopologyAuditSchema)
@blp.doc(responses={200: {"content": {GEOJSON_MIMETYPE: {"schema": {
    "type": "object", "description": "format=geojson: a FeatureCollection of the problems"},
    "example": AUDIT_GEOJSON_EXAMPLE}}}})
@may_answer("permission_denied", "township_not_found")
def topology_audit(args, code: str):
    """Overlaps, gaps and protrusions of a township's basic grids; special grids' gaps in data"""
    actor = ctx.current_actor()
    actor.require(RUN_AUDIT, _("audit grid topology"))
    township = queries.get_township_for(ctx.session(), actor, code)
    audit = queries.audit_township(ctx.session(), township)
    if args["format"] == "geojson":
        doc = queries.audit_geojson(audit)
        return Response(json.dumps(doc, ensure_ascii=False), mimetype=GEOJSON_MIMETYPE,
                        headers={"Content-Disposition": content_disposition(
                            f"{doc['name']}.geojson")})
    # One line on whether the township's population is its communities' sum (issue 11).
    [own] = [r for r in org_queries.population_check(ctx.session(), actor, root=township)
             if r.unit.id == township.id]
    return {**queries.audit_as_dict(audit), "population": org_queries.population_as_dict(own)}


def csv_download(body: str, filename: str) -> Response:
    """A CSV file (UTF-8 with BOM, so Excel on Chinese Windows reads the names)."""
    return Response(BOM + body, mimetype=CSV_MIMETYPE, headers={
        "Content-Disposition": content_disposition(filename),
        "Cache-Control": "private, no-store",
    })
