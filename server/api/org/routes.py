"""Units of the administrative tree and users, scoped to the caller's territory."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from flask import request
from marshmallow import fields, validate
from shapely.geometry import mapping
from werkzeug.exceptions import UnsupportedMediaType

from geo.exchange import features_csv
from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.grids.routes import csv_download
from server.api.grids.schemas import (
    ExportFormat,
    FeatureCollectionOutSchema,
    FeatureCollectionSchema,
)
from server.api.openapi import may_answer
from server.api.org.schemas import (
    BoundaryExportQuerySchema,
    BoundaryImportQuerySchema,
    BoundaryImportResultSchema,
    UnitRevisionSchema,
    UnitUpdateSchema,
)
from server.api.schemas import (
    PopulationQuerySchema,
    PopulationReportSchema,
    StrictSchema,
    UnitCreateSchema,
    UnitImportQuerySchema,
    UnitImportResultSchema,
    UnitQuerySchema,
    UnitSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
)
from server.api.tables import CSV_MIMETYPE
from server.auth import services as auth
from server.core.i18n import _
from server.grids import queries as grid_queries
from server.grids import services as grid_services
from server.org import boundaries, queries, revisions, services, unit_list
from server.org.roles import set_user_roles
from server.org.rules import MANAGE_GRIDS, MANAGE_UNITS, MANAGE_USERS, Role

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

blp = Blueprint("org", __name__, url_prefix="", description="Units and users")

# The bodies that are not a marshmallow schema: a units list, and the boundaries as CSV.
UNITS_CSV_EXAMPLE = ("code,name,kind,parent,population,department_kind\r\n"
                     "110105001,望京街道,township,110105,120000,\r\n"
                     "110105001-C01,望京西园三区社区,community,110105001,8600,\r\n")
BOUNDARIES_CSV_EXAMPLE = (
    "\ufeffcode,name,kind,parent_code,population,crs,wkt\r\n"
    "110105001,望京街道,township,110105,120000,wgs84,"
    "\"POLYGON ((116.4701 39.9952, 116.4772 39.9952, 116.4772 39.9991, 116.4701 39.9991, "
    "116.4701 39.9952))\"\r\n")


@blp.route("/units", methods=["GET"])
@blp.arguments(UnitQuerySchema, location="query")
@blp.response(200, UnitSchema(many=True))
def list_units(args):
    """Units in one's territory (and the chain above it), in tree order"""
    return queries.list_units(ctx.session(), ctx.current_actor(), **args)


@blp.route("/units/population-check", methods=["GET"])
@blp.arguments(PopulationQuerySchema, location="query")
@blp.response(200, PopulationReportSchema)
@may_answer("unit_not_found")
def population_check(args):
    """Whether each unit's population is the sum of its children's (reported, not refused)"""
    session, actor = ctx.session(), ctx.current_actor()
    root = queries.get_unit_by_code_for(session, actor, args["unit"]) if args["unit"] else None
    return queries.population_report(queries.population_check(session, actor, root=root))


@blp.route("/units/import", methods=["POST"])
@blp.arguments(UnitImportQuerySchema, location="query")
@blp.response(200, UnitImportResultSchema)
@blp.doc(requestBody={"content": {
    CSV: {"schema": {"type": "string", "description": "header: " + ",".join(unit_list.COLUMNS)},
          "example": UNITS_CSV_EXAMPLE},
    XLSX: {"schema": {"type": "string", "format": "binary",
                      "description": "An Excel workbook; its first sheet is read like the CSV"}}}})
@may_answer("duplicate_unit_code", "too_many_units", "unit_import_rejected",
            "unit_parent_not_allowed", "unknown_unit", "unsupported_media_type")
def import_units(args):
    """Create units from a CSV or .xlsx list, all or nothing, problems per row (admin)"""
    ctx.current_actor().require(MANAGE_UNITS, _("create units"))
    if request.mimetype not in (CSV, XLSX):
        raise UnsupportedMediaType(f"Send the units as CSV ({CSV}) or an Excel workbook ({XLSX}).")
    file = unit_list.read_units(request.get_data(), "csv" if request.mimetype == CSV else "xlsx")
    counts = unit_list.import_units(ctx.session(), file, dry_run=args["dry_run"],
                                    now=ctx.request_now())
    return {**asdict(counts), "dry_run": args["dry_run"]}


@blp.route("/units/<uuid:unit_id>", methods=["GET"])
@blp.response(200, UnitSchema)
def get_unit(unit_id: uuid.UUID):
    """One unit"""
    return queries.get_unit_for(ctx.session(), ctx.current_actor(), unit_id)


@blp.route("/units", methods=["POST"])
@blp.arguments(UnitCreateSchema)
@blp.response(201, UnitSchema)
@may_answer("duplicate_unit_code", "unit_parent_not_allowed", "unknown_unit")
def create_unit(body):
    """Add a unit to the tree (admin)"""
    actor = ctx.current_actor()
    actor.require(MANAGE_UNITS, _("create units"))
    return services.create_unit(ctx.session(), now=ctx.request_now(), actor=actor, **body)


@blp.route("/units/<uuid:unit_id>", methods=["PATCH"])
@blp.arguments(UnitUpdateSchema)
@blp.response(200, UnitSchema)
@may_answer("boundary_invalid", "community_has_grids", "unit_parent_cycle",
            "unit_parent_not_allowed", "unknown_unit")
def update_unit(body, unit_id: uuid.UUID):
    """Change a unit's name, population, parent or boundary, keeping a revision (admin)"""
    actor = ctx.current_actor()
    actor.require(MANAGE_UNITS, _("edit units"))
    unit = queries.get_unit_for(ctx.session(), actor, unit_id)
    crs = body.pop("crs")
    if "boundary" in body and body["boundary"] is not None:
        body["boundary"] = boundaries.boundary_from_geojson(body["boundary"], crs)
    return revisions.update_unit(ctx.session(), unit, now=ctx.request_now(),
                                 changed_by_user_id=actor.user_id, actor=actor, **body)


@blp.route("/units/<uuid:unit_id>/revisions", methods=["GET"])
@blp.response(200, UnitRevisionSchema(many=True))
@may_answer("permission_denied")
def unit_revisions(unit_id: uuid.UUID):
    """Every change of a unit, oldest first, with the fields before and after"""
    actor = ctx.current_actor()
    actor.require(MANAGE_UNITS | {Role.AUDITOR}, _("read unit revisions"))
    unit = queries.get_unit_for(ctx.session(), actor, unit_id)
    return [
        {**{k: getattr(r, k) for k in ("id", "changed_at", "changed_by_user_id", "source",
                                       "before", "after")},
         "boundary_before": mapping(r.boundary_before) if r.boundary_before else None,
         "boundary_after": mapping(r.boundary_after) if r.boundary_after else None}
        for r in revisions.list_revisions(ctx.session(), unit)
    ]


@blp.route("/units/boundaries/import", methods=["POST"])
@blp.arguments(BoundaryImportQuerySchema, location="query")
@blp.arguments(FeatureCollectionSchema)
@blp.response(200, BoundaryImportResultSchema)
@may_answer("boundary_import_rejected", "geojson_empty", "geojson_invalid",
            "geometry_too_many_vertices", "import_too_many_vertices", "too_many_features")
def import_boundaries(args, body):
    """Set unit boundaries from a GeoJSON FeatureCollection (property code), all or nothing"""
    actor = ctx.current_actor()
    actor.require(MANAGE_UNITS, _("import unit boundaries"))
    changed = boundaries.import_boundaries(ctx.session(), body, crs=args["crs"],
                                           now=ctx.request_now(),
                                           changed_by_user_id=actor.user_id, actor=actor,
                                           vertex_caps=ctx.vertex_caps())
    return {"changed": len(changed), "units": changed}


@blp.route("/units/boundaries/export", methods=["GET"])
@blp.arguments(BoundaryExportQuerySchema, location="query")
@blp.response(200, FeatureCollectionOutSchema)
@blp.doc(responses={200: {"content": {CSV_MIMETYPE: {"schema": {
    "type": "string", "description": "format=csv: code, name, kind, parent_code, population, "
                                     "crs, wkt"},
    "example": BOUNDARIES_CSV_EXAMPLE}}}})
@may_answer("unit_not_found", "unknown_unit:404")
def export_boundaries(args):
    """Boundaries of districts, townships, communities: GeoJSON (WGS-84) or CSV in any crs"""
    session, actor = ctx.session(), ctx.current_actor()
    under = None
    if args["under"] is not None:
        under = queries.get_unit_for(session, actor, services.get_unit_by_code(
            session, args["under"]).id)
    units = boundaries.boundary_units(session, kind=args["kind"], under=under,
                                      visible=queries.visible_units(session, actor))
    if args["format"] is ExportFormat.CSV:
        body = features_csv(boundaries.BOUNDARY_COLUMNS,
                            boundaries.boundary_rows(session, units, args["crs"]), args["crs"])
        return csv_download(body, f"boundaries-{args['crs'].value}.csv")
    return boundaries.boundaries_geojson(session, units)


@blp.route("/users", methods=["GET"])
@blp.arguments(UserQuerySchema, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(args):
    """Users of the units in one's territory"""
    return queries.list_users(ctx.session(), ctx.current_actor(), **args)


@blp.route("/users/<uuid:user_id>", methods=["GET"])
@blp.response(200, UserSchema)
def get_user(user_id: uuid.UUID):
    """One user"""
    return queries.get_user_for(ctx.session(), ctx.current_actor(), user_id)


@blp.route("/users", methods=["POST"])
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
@may_answer("duplicate_username", "password_too_short", "roles_required", "unknown_unit")
def create_user(body):
    """Create a user in a unit with roles (admin)"""
    actor = ctx.current_actor()
    actor.require(MANAGE_USERS, _("create users"))
    return services.create_user(
        ctx.session(), ctx.passwords(), now=ctx.request_now(), actor=actor, **body
    )


class GridMembershipSchema(StrictSchema):
    EXAMPLE = {"grid_id": "117b4245-fbe4-5d02-8e40-91726cd36162"}

    grid_id = fields.UUID(required=True)


@blp.route("/users/<uuid:user_id>/grids", methods=["POST"])
@blp.arguments(GridMembershipSchema)
@blp.response(204)
@may_answer("grid_not_found", "grid_retired", "not_a_grid_worker")
def add_grid_member(body, user_id: uuid.UUID):
    """Make a grid worker responsible for a grid in one's territory"""
    actor = ctx.current_actor()
    actor.require(MANAGE_GRIDS | {Role.TOWNSHIP_DISPATCHER}, _("assign grid workers to grids"))
    user = queries.get_user_for(ctx.session(), actor, user_id)
    grid = grid_queries.get_grid_for(ctx.session(), actor, body["grid_id"])
    grid_services.add_grid_member(ctx.session(), grid, user, now=ctx.request_now())


@blp.route("/users/<uuid:user_id>/devices/<uuid:device_id>", methods=["DELETE"])
@blp.response(204)
def revoke_device(user_id: uuid.UUID, device_id: uuid.UUID):
    """Revoke every token of one device of a user, e.g. a lost phone (admin)"""
    actor = ctx.current_actor()
    actor.require(MANAGE_USERS, _("revoke other users' devices"))
    user = queries.get_user_for(ctx.session(), actor, user_id)
    auth.revoke_user_device(ctx.session(), user.id, device_id, now=ctx.request_now(), actor=actor)


class UserRolesSchema(StrictSchema):
    EXAMPLE = {"roles": ["grid_leader", "township_dispatcher"], "note": "王芳兼任望京西园网格长。"}

    roles = fields.List(fields.Enum(Role, by_value=True), required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=500),
                         metadata={"description": "Why; kept in the trail of changes"})


@blp.route("/users/<uuid:user_id>/roles", methods=["PUT"])
@blp.arguments(UserRolesSchema)
@blp.response(200, UserSchema)
@may_answer("own_admin_role", "roles_required")
def set_roles(body, user_id: uuid.UUID):
    """Give a user exactly these roles (admin); the trail keeps before and after"""
    actor = ctx.current_actor()
    user = queries.get_user_for(ctx.session(), actor, user_id)
    return set_user_roles(ctx.session(), actor, user, body["roles"], note=body["note"],
                          now=ctx.request_now())
