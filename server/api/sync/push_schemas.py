"""Push schemas: the batch envelope, each operation's arguments, the answers, the review list."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from server.api.cases.schemas import CaseCreateSchema
from server.api.schemas import CURSOR_EXAMPLE, GpsFixSchema, StrictSchema
from server.api.staff import schemas as staff
from server.api.whistle import schemas as whistle
from server.cases.rules import Channel
from server.core.errors import Invalid
from server.core.i18n import _
from sync.ledger import OpStatus

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hex digits")
JS_SAFE_INT = 2**53 - 1  # phones run JavaScript: larger numbers lose digits


class OperationSchema(StrictSchema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "seq": 1,
        "name": "望京街道",
        "args": {},
        "base_version": 1,
        "device_time": "2026-11-05T01:30:00+00:00",
    }

    id = fields.UUID(required=True, metadata={"description": "Made by the phone; a replay "
                                              "of the same id is answered, not applied again"})
    seq = fields.Integer(required=True, strict=True,
                         validate=validate.Range(min=0, max=JS_SAFE_INT),
                         metadata={"description": "The device's own counter, one per operation"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    args = fields.Dict(keys=fields.String(), load_default=dict)
    base_version = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "The case version the phone saw; recorded, not enforced"})
    device_time = fields.AwareDateTime(required=True, metadata={
        "description": "When the worker acted, by the phone's clock"})


class PushSchema(StrictSchema):
    # Each operation with a control character is rejected alone, and kept (sync.push).
    TEXT_CHECKED_PER_ITEM = ("operations",)
    EXAMPLE = {
        "sent_at": "2026-11-05T01:30:00+00:00",
        "operations": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "seq": 1,
                "name": "望京街道",
                "args": {},
                "base_version": 1,
                "device_time": "2026-11-05T01:30:00+00:00",
            },
        ],
    }

    sent_at = fields.AwareDateTime(required=True, metadata={
        "description": "The phone's clock when it sent this request (for the skew estimate)"})
    operations = fields.List(fields.Nested(OperationSchema), required=True)


class OpResultSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "status": "applied",
        "original_status": "applied",
        "code": "110105001",
        "message": "已受理",
        "result": {},
        "flags": [],
    }

    id = fields.UUID()
    status = fields.Enum(OpStatus, by_value=True, metadata={
        "description": "applied | duplicate | rejected"})
    original_status = fields.Enum(OpStatus, by_value=True, allow_none=True, metadata={
        "description": "For a duplicate: applied or rejected, as the first push answered"})
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    result = fields.Dict()
    flags = fields.List(fields.String())


class PushResultSchema(ma.Schema):
    EXAMPLE = {
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
        "server_time": "2026-11-05T01:30:00+00:00",
        "clock_skew_s": 0.5,
    }

    results = fields.List(fields.Nested(OpResultSchema))
    server_time = fields.AwareDateTime()
    clock_skew_s = fields.Float(metadata={
        "description": "How far the phone's clock is ahead of the server's (seconds)"})


# --- each operation's arguments ---------------------------------------------------------------


class CaseRefArgs(StrictSchema):
    EXAMPLE = {"case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919"}

    case_id = fields.UUID(required=True, metadata={
        "description": "The case, or the id of the report_incident operation that created it"})


class NoteArgs(CaseRefArgs):
    EXAMPLE = {
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
        "note": "已电话联系居民，约定下午上门。",
    }

    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ArriveArgs(CaseRefArgs, GpsFixSchema):
    EXAMPLE = {
        "lon": 116.4736,
        "lat": 39.9968,
        "crs": "wgs84",
        "accuracy_m": 8.0,
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
    }

    pass


class CompleteArgs(CaseRefArgs):
    EXAMPLE = {
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
        "result": "垃圾已清运，桶边地面已冲洗。",
    }

    result = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ReasonArgs(CaseRefArgs):
    EXAMPLE = {
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
    }

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ExtensionArgs(ReasonArgs):
    EXAMPLE = {
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
        "new_due_at": "2026-11-05T01:30:00+00:00",
    }

    new_due_at = fields.AwareDateTime(required=True)


class PhotoArgs(CaseRefArgs):
    EXAMPLE = {
        "case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    }

    sha256 = fields.String(required=True, validate=SHA256)


class ReportArgs(CaseCreateSchema):
    """Intake's fields; the operation's id is the idempotency key, so no client_request_id."""

    EXAMPLE = {
        "channel": "city_direct",
        "city_order_number": "BJ20261105000123",
        "appeal_type": "consultation",
        "category_code": "0301",
        "title": "小区门口垃圾桶满溢",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "urgency": "normal",
        "lon": 116.4736,
        "lat": 39.9968,
        "crs": "wgs84",
        "address": "朝阳区望京西园三区南门",
        "resident_name": "李先生",
        "resident_phone": "13800138000",
        "confidential": True,
        "attachments": [
            {
                "name": "望京街道",
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "content_type": "image/jpeg",
                "url": "https://example.cn/photos/1.jpg",
            },
        ],
        "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    }

    class Meta(StrictSchema.Meta):
        exclude = ("client_request_id",)

    channel = fields.Enum(Channel, by_value=True, load_default=Channel.PATROL)
    photos = fields.List(fields.String(validate=SHA256), load_default=list,
                         validate=validate.Length(max=20))


ARGS: dict[str, ma.Schema] = {
    "report_incident": ReportArgs(),
    "add_note": NoteArgs(),
    "record_contact": NoteArgs(),
    "arrive_on_site": ArriveArgs(),
    "attach_photo": PhotoArgs(),
    "accept_case": CaseRefArgs(),
    "complete_task": CompleteArgs(),
    "request_return": ReasonArgs(),
    "request_extension": ExtensionArgs(),
    "check_in": staff.FieldCheckArgsSchema(),
    "check_out": staff.FieldCheckArgsSchema(),
    "upload_track": staff.TrackBatchSchema(),
    "whistle_arrival": whistle.WhistleArrivalArgs(),
    "whistle_action": whistle.WhistleActionArgs(),
    "whistle_rating": whistle.WhistleRatingArgs(),
    "whistle_unjustified": whistle.WhistleUnjustifiedArgs(),
}


def parse_args(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """One operation's arguments, checked; a problem rejects that operation only."""
    try:
        return ARGS[name].load(args)
    except ma.ValidationError as exc:
        raise Invalid(_("Some details of this operation are missing or not valid."),
                      code="invalid_arguments", errors={"args": exc.messages}) from exc


# --- the review list -------------------------------------------------------------------------


class RejectedQuerySchema(StrictSchema):
    EXAMPLE = {"case_id": "8b2d2dd6-42a8-50ea-9335-42e555ceb919", "limit": 50,
               "cursor": CURSOR_EXAMPLE}

    case_id = fields.UUID(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


class RejectedSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "name": "望京街道",
        "code": "110105001",
        "message": "已受理",
        "args": {},
        "flags": [],
        "user": {},
        "device_id": "aad6fc04-1356-526f-8fb6-69806683e2c0",
        "device_seq": 1,
        "case": {},
        "device_time": "2026-11-05T01:30:00+00:00",
        "acted_at": "2026-11-05T01:30:00+00:00",
        "received_at": "2026-11-05T01:30:00+00:00",
    }

    id = fields.UUID()
    name = fields.String()
    code = fields.String()
    message = fields.String()
    args = fields.Dict()
    flags = fields.List(fields.String())
    user = fields.Dict(metadata={"description": "id and username of the sender"})
    device_id = fields.UUID()
    device_seq = fields.Integer(allow_none=True)
    case = fields.Dict(allow_none=True, metadata={"description": "id and number"})
    device_time = fields.AwareDateTime()
    acted_at = fields.AwareDateTime()
    received_at = fields.AwareDateTime()


class RejectedPageSchema(ma.Schema):
    EXAMPLE = {
        "items": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "name": "望京街道",
                "code": "110105001",
                "message": "已受理",
                "args": {},
                "flags": [],
                "user": {},
                "device_id": "aad6fc04-1356-526f-8fb6-69806683e2c0",
                "device_seq": 1,
                "case": {},
                "device_time": "2026-11-05T01:30:00+00:00",
                "acted_at": "2026-11-05T01:30:00+00:00",
                "received_at": "2026-11-05T01:30:00+00:00",
            },
        ],
        "next_cursor": CURSOR_EXAMPLE,
    }

    items = fields.List(fields.Nested(RejectedSchema))
    next_cursor = fields.String(allow_none=True)
