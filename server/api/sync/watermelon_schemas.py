"""WatermelonDB sync schemas: ``pullChanges``'s request and answer, ``pushChanges``'s body and
answer (field names as WatermelonDB spells them: ``lastPulledAt``, ``schemaVersion``)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema
from server.api.sync.pull_schemas import TableChangesSchema
from server.api.sync.push_schemas import OpResultSchema
from sync.protocol import MAX_SAFE_CURSOR

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000


class LastPulledAt(fields.Integer):
    """An integer timestamp, or null / 0 for a first sync. In a query string WatermelonDB's
    own example sends ``last_pulled_at=${lastPulledAt}``, i.e. the text ``null`` the first
    time: ``null``, ``undefined`` and an empty value mean null."""

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None,
                    **kwargs: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "null", "undefined"):
            value = None
        return super().deserialize(value, attr, data, **kwargs)


def _last_pulled_at(**kw: Any) -> LastPulledAt:
    return LastPulledAt(load_default=None, allow_none=True,
                        validate=validate.Range(min=0, max=MAX_SAFE_CURSOR), metadata={
                            "description": "The timestamp of the last pull the phone applied; "
                                           "null or 0 for a first sync"}, **kw)


class WatermelonPullBodySchema(StrictSchema):
    EXAMPLE = {"lastPulledAt": 1, "schemaVersion": 1, "migration": {}, "limit": 50}

    lastPulledAt = _last_pulled_at(strict=True)  # noqa: N815 - WatermelonDB's name
    schemaVersion = fields.Integer(load_default=None, allow_none=True)  # noqa: N815
    migration = fields.Dict(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=DEFAULT_LIMIT, strict=True,
                           validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": "Records per answer (one synchronize())"})


class WatermelonPullQuerySchema(StrictSchema):
    EXAMPLE = {"last_pulled_at": 1, "schema_version": 1, "migration": "0017", "limit": 50}

    last_pulled_at = _last_pulled_at()
    schema_version = fields.Integer(load_default=None, allow_none=True)
    migration = fields.String(load_default=None, allow_none=True, metadata={
        "description": "WatermelonDB's migration object as JSON (or null)"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT,
                           validate=validate.Range(min=1, max=MAX_LIMIT))


class WatermelonPullAnswerSchema(ma.Schema):
    EXAMPLE = {
        "changes": {},
        "timestamp": 1,
        "has_more": True,
        "start_over": True,
        "start_over_reason": "居民补充了新的诉求。",
        "experimentalStrategy": None,
        "server_time": "2026-11-05T01:30:00+00:00",
    }

    changes = fields.Dict(keys=fields.String(), values=fields.Nested(TableChangesSchema))
    timestamp = fields.Integer(metadata={
        "description": "Our cursor: WatermelonDB stores it and sends it as lastPulledAt"})
    has_more = fields.Boolean(metadata={
        "description": "Call synchronize() again at once (read it in onDidPullChanges)"})
    start_over = fields.Boolean()
    start_over_reason = fields.String(allow_none=True)
    experimentalStrategy = fields.String(  # noqa: N815 - WatermelonDB's name
        allow_none=True, metadata={"description": "'replacement' with a start over"})
    server_time = fields.AwareDateTime()


class WatermelonPushBodySchema(StrictSchema):
    EXAMPLE = {"changes": {}, "lastPulledAt": 1, "sentAt": "2026-11-05T01:30:00+00:00"}
    # Each operation with a control character is rejected alone, and kept (sync.push).
    TEXT_CHECKED_PER_ITEM = ("changes",)

    changes = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)
    lastPulledAt = _last_pulled_at(strict=True)  # noqa: N815
    sentAt = fields.AwareDateTime(  # noqa: N815
        load_default=None, allow_none=True, metadata={
            "description": "The phone's clock when sending (for the clock-skew estimate)"})


class WatermelonIgnoredSchema(ma.Schema):
    EXAMPLE = {
        "table": "cases",
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "kind": "basic",
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
        "heal": None,
    }

    table = fields.String()
    id = fields.String()
    kind = fields.String()
    reason = fields.String(metadata={
        "description": "read_only | unknown_table | not_a_server_id | no_writer"})
    heal = fields.String(allow_none=True, metadata={"description": "resend | remove"})


class WatermelonProblemSchema(ma.Schema):
    EXAMPLE = {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "message": "已受理"}

    id = fields.String()
    message = fields.String()


class WatermelonPushAnswerSchema(ma.Schema):
    EXAMPLE = {
        "experimentalRejectedIds": {},
        "deferred": [],
        "results": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "status": "applied",
                "original_status": "applied",
                "code": "110105001",
                "message": "已受理",
                "result": {},
                "flags": [],
            },
        ],
        "problems": [{"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "message": "已受理"}],
        "ignored": [
            {
                "table": "cases",
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "kind": "basic",
                "reason": "该问题属于市政管理范围，应由城管执法队处置。",
                "heal": None,
            },
        ],
        "server_time": "2026-11-05T01:30:00+00:00",
        "clock_skew_s": 0.5,
    }

    experimentalRejectedIds = fields.Dict(  # noqa: N815
        keys=fields.String(), values=fields.List(fields.String()), metadata={
            "description": "operations records the server cannot read, and those deferred "
                           "past the push limit: they stay dirty and are pushed again"})
    deferred = fields.List(fields.String(), metadata={
        "description": "ids of operations past GRID_SYNC_MAX_PUSH_OPERATIONS, not applied yet: "
                       "call synchronize() again"})
    results = fields.List(fields.Nested(OpResultSchema))
    problems = fields.List(fields.Nested(WatermelonProblemSchema))
    ignored = fields.List(fields.Nested(WatermelonIgnoredSchema))
    server_time = fields.AwareDateTime()
    clock_skew_s = fields.Float()
