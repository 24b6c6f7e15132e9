"""The trail of administrative changes: its filters and its page."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import CURSOR_EXAMPLE, StrictSchema
from server.core.trail import OBJECT_TYPES


class ChangeQuerySchema(StrictSchema):
    EXAMPLE = {
        "object_type": "user",
        "object_id": "2c7f4e1b-0d66-4a1f-9b2d-7c8b3f6e5d41",
        "object_code": "wangjing.dispatcher",
        "action": "user.roles_changed",
        "actor_user_id": "0b5d3c9a-8e44-4f1d-a7c2-5f6a1e4d3b21",
        "at_from": "2026-11-01T00:00:00+00:00",
        "at_to": "2026-12-01T00:00:00+00:00",
        "limit": 50,
        "cursor": CURSOR_EXAMPLE,
    }

    object_type = fields.String(load_default=None, validate=validate.OneOf(OBJECT_TYPES))
    object_id = fields.UUID(load_default=None)
    object_code = fields.String(load_default=None, validate=validate.Length(min=1, max=120),
                                metadata={"description": "Grid or unit code, username, item code"})
    action = fields.String(
        load_default=None, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$"),
        metadata={"description": "e.g. user.roles_changed; see docs/trail.md"})
    actor_user_id = fields.UUID(load_default=None, metadata={"description": "Who made it"})
    at_from = fields.AwareDateTime(load_default=None)
    at_to = fields.AwareDateTime(load_default=None, metadata={"description": "Exclusive"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


class ChangeSchema(ma.Schema):
    EXAMPLE = {
        "id": "f4e6a8c0-3d5f-4b7c-9e1a-4c6d8e0f2a34",
        "at": "2026-11-25T01:12:00+00:00",
        "actor_user_id": "0b5d3c9a-8e44-4f1d-a7c2-5f6a1e4d3b21",
        "actor_username": "chaoyang.admin",
        "actor_roles": ["admin"],
        "actor_unit_id": "589a42f4-5663-5bc5-a47b-ad4a6dd34f7a",
        "action": "user.roles_changed",
        "object_type": "user",
        "object_id": "2c7f4e1b-0d66-4a1f-9b2d-7c8b3f6e5d41",
        "object_code": "wangjing.dispatcher",
        "before": {"roles": ["township_dispatcher"]},
        "after": {"roles": ["grid_leader", "township_dispatcher"]},
        "note": "王芳兼任望京西园网格长。",
    }

    id = fields.UUID()
    at = fields.AwareDateTime()
    actor_user_id = fields.UUID(allow_none=True, metadata={"description": "None: the system"})
    actor_username = fields.String()
    actor_roles = fields.List(fields.String(), metadata={"description": "As they were then"})
    actor_unit_id = fields.UUID(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.UUID(allow_none=True)
    object_code = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True, metadata={"description": "None: created"})
    after = fields.Dict(allow_none=True)
    note = fields.String(allow_none=True)


class ChangePageSchema(ma.Schema):
    EXAMPLE = {"items": [ChangeSchema.EXAMPLE], "next_cursor": CURSOR_EXAMPLE}

    items = fields.List(fields.Nested(ChangeSchema))
    next_cursor = fields.String(allow_none=True)
