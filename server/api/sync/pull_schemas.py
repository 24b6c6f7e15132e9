"""Pull schemas: the request, the answer with its per-table changes, and a device's status."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000


class PullRequestSchema(StrictSchema):
    EXAMPLE = {"cursor": 1, "limit": 50}

    cursor = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0),
        metadata={"description": "The cursor of the last answer you received; null for a "
                                 "first sync or after start_over"})
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, strict=True, validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": "Records per page (created + updated + deleted)"})


class TableChangesSchema(ma.Schema):
    EXAMPLE = {"created": [{"id": "5f0c8a52-3c1e-4d7a-9a52-2d1f6e1c0a11", "status": "accepted"}],
               "updated": [], "deleted": ["6abd8c5f-4baa-4e5d-9f6b-b0cd7dac9b81"]}

    created = fields.List(fields.Dict(), dump_only=True)
    updated = fields.List(fields.Dict(), dump_only=True)
    deleted = fields.List(fields.String(), dump_only=True, metadata={"description": "ids"})


class PullAnswerSchema(ma.Schema):
    EXAMPLE = {
        "cursor": 1,
        "has_more": True,
        "start_over": True,
        "start_over_reason": "居民补充了新的诉求。",
        "changes": {},
        "server_time": "2026-11-05T01:30:00+00:00",
    }

    cursor = fields.Integer(
        dump_only=True, allow_none=True,
        metadata={"description": "Send it with the next pull; null only with start_over"})
    has_more = fields.Boolean(dump_only=True,
                              metadata={"description": "Pull again at once with this cursor"})
    start_over = fields.Boolean(
        dump_only=True,
        metadata={"description": "Your cursor is unusable: drop the server's records (keep "
                                 "your unsent operations) and pull with cursor null"})
    start_over_reason = fields.String(dump_only=True, allow_none=True)
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(TableChangesSchema),
                          dump_only=True)
    server_time = fields.AwareDateTime(dump_only=True)


class DeviceStatusSchema(ma.Schema):
    EXAMPLE = {
        "device_id": "aad6fc04-1356-526f-8fb6-69806683e2c0",
        "name": "望京街道",
        "registered_at": "2026-11-05T01:30:00+00:00",
        "last_pull_at": "2026-11-05T01:30:00+00:00",
        "cursor": 1,
        "has_more": True,
        "pending": 1,
        "held": {},
    }

    device_id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True, allow_none=True)
    registered_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    last_pull_at = fields.AwareDateTime(
        dump_only=True, allow_none=True,
        metadata={"description": "Within a minute: pulls with nothing new write it at most "
                                 "once a minute"})
    cursor = fields.Integer(dump_only=True, allow_none=True,
                            metadata={"description": "The last cursor the device confirmed"})
    has_more = fields.Boolean(dump_only=True)
    pending = fields.Integer(dump_only=True,
                             metadata={"description": "Records of the batch not yet confirmed"})
    held = fields.Dict(keys=fields.String(), values=fields.Integer(), dump_only=True,
                       metadata={"description": "Records the device holds, per table"})
