"""Units of the administrative tree and users, scoped to the caller's territory."""

from __future__ import annotations

import uuid

from marshmallow import fields

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.schemas import (
    StrictSchema,
    UnitCreateSchema,
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
from server.org import queries, services
from server.org.rules import MANAGE_GRIDS, MANAGE_UNITS, MANAGE_USERS, Role

blp = Blueprint("org", __name__, url_prefix="", description="Units and users")


@blp.route("/units", methods=["GET"])
@blp.arguments(UnitQuerySchema, location="query")
@blp.response(200, UnitSchema(many=True))
def list_units(args):
    """Units in one's territory (and the chain above it), in tree order"""
    return queries.list_units(ctx.session(), ctx.current_actor(), **args)


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
@may_answer("duplicate_username", "password_too_short", "roles_required", "unknown_unit")
def create_user(body):
    """Create a user in a unit with roles (admin)"""
    ctx.current_actor().require(MANAGE_USERS, _("create users"))
    return services.create_user(
        ctx.session(), ctx.passwords(), now=ctx.request_now(), **body
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
    auth.revoke_user_device(ctx.session(), user.id, device_id, now=ctx.request_now())
