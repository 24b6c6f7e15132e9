"""Open311 API keys for admins: issue (the key is shown once), list, revoke."""

from __future__ import annotations

import uuid

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.open311 import schemas as s
from server.api.openapi import may_answer
from server.open311 import services

blp = Blueprint("open311_keys", __name__, url_prefix="open311-keys",
                description="Open311 API keys (admins; docs/open311.md)")


@blp.route("")
@blp.response(200, s.KeySchema(many=True))
@may_answer("permission_denied")
def list_keys():
    """Every Open311 key, revoked ones too (never the key itself)"""
    return services.list_keys(ctx.session(), ctx.current_actor())


@blp.route("", methods=["POST"])
@blp.arguments(s.KeyCreateSchema)
@blp.response(201, s.IssuedKeySchema)
@may_answer("unknown_unit:404")
def issue_key(body: dict):
    """Issue a key for a channel, tied to the unit that receives its cases"""
    issued = services.issue_key(ctx.session(), ctx.current_actor(), name=body["name"],
                                unit_code=body["unit_code"], now=ctx.request_now())
    record = issued.record
    return {"id": record.id, "name": record.name, "key_prefix": record.key_prefix,
            "unit": record.unit, "created_at": record.created_at,
            "revoked_at": record.revoked_at, "key": issued.key}


@blp.route("/<uuid:key_id>/revoke", methods=["POST"])
@blp.response(200, s.KeySchema)
def revoke_key(key_id: uuid.UUID):
    """Revoke a key: its channel's POSTs are refused with 403 from now on"""
    return services.revoke_key(ctx.session(), ctx.current_actor(), key_id, now=ctx.request_now())
