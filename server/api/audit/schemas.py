"""The trail of administrative changes: its filters and its page."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema
from server.core.trail import OBJECT_TYPES


class ChangeQuerySchema(StrictSchema):
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
    items = fields.List(fields.Nested(ChangeSchema))
    next_cursor = fields.String(allow_none=True)
