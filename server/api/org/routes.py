"""Units of the administrative tree and users, scoped to the caller's territory."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from flask import request
from marshmallow import fields
from werkzeug.exceptions import UnsupportedMediaType

from server.api import context as ctx
from server.api.blueprint import Blueprint
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
from server.auth import services as auth
from server.core.i18n import _
from server.grids import queries as grid_queries
from server.grids import services as grid_services
from server.org import queries, services, unit_list
from server.org.rules import MANAGE_GRIDS, MANAGE_UNITS, MANAGE_USERS, Role

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

blp = Blueprint("org", __name__, url_prefix="", description="Units and users")


@blp.route("/units", methods=["GET"])
@blp.arguments(UnitQuerySchema, location="query")
@blp.response(200, UnitSchema(many=True))
def list_units(args):
    """Units in one's territory (and the chain above it), in tree order"""
    return queries.list_units(ctx.session(), ctx.current_actor(), **args)


@blp.route("/units/population-check", methods=["GET"])
@blp.arguments(PopulationQuerySchema, location="query")
@blp.response(200, PopulationReportSchema)
def population_check(args):
    """Whether each unit's population is the sum of its children's (reported, not refused)"""
    session, actor = ctx.session(), ctx.current_actor()
    root = queries.get_unit_by_code_for(session, actor, args["unit"]) if args["unit"] else None
    return queries.population_report(queries.population_check(session, actor, root=root))


@blp.route("/units/import", methods=["POST"])
@blp.arguments(UnitImportQuerySchema, location="query")
@blp.response(200, UnitImportResultSchema)
@blp.doc(requestBody={"content": {
    CSV: {"schema": {"type": "string", "description": "header: " + ",".join(unit_list.COLUMNS)}},
    XLSX: {"schema": {"type": "string", "format": "binary",
                      "description": "An Excel workbook; its first sheet is read like the CSV"}}}})
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
def create_unit(body):
    """Add a unit to the tree (admin)"""
    ctx.current_actor().require(MANAGE_UNITS, _("create units"))
    return services.create_unit(ctx.session(), now=ctx.request_now(), **body)


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
def create_user(body):
    """Create a user in a unit with roles (admin)"""
    ctx.current_actor().require(MANAGE_USERS, _("create users"))
    return services.create_user(
        ctx.session(), ctx.passwords(), now=ctx.request_now(), **body
    )


class GridMembershipSchema(StrictSchema):
    grid_id = fields.UUID(required=True)


@blp.route("/users/<uuid:user_id>/grids", methods=["POST"])
@blp.arguments(GridMembershipSchema)
@blp.response(204)
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
    auth.revoke_user_device(ctx.session(), user.id, device_id, now=ctx.request_now())
