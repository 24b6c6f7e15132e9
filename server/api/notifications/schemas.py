"""Inbox schemas: the list query, a notification, a page of them."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import CURSOR_EXAMPLE, StrictSchema
from server.supervision.rules import DeadlineKind


class InboxQuerySchema(StrictSchema):
    EXAMPLE = {"unread": True, "limit": 50, "cursor": CURSOR_EXAMPLE}

    unread = fields.Boolean(load_default=False,
                            metadata={"description": "Only notifications not yet acknowledged"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None,
                           metadata={"description": "next_cursor of the previous page"})


class ReminderInfoSchema(ma.Schema):
    """What a deadline reminder is about, as data (titles are for people)."""

    EXAMPLE = {
        "node": "dispatch",
        "fire_at": "2026-11-05T01:30:00+00:00",
        "sent_at": "2026-11-05T01:30:00+00:00",
        "deadline_kind": "response",
        "due_at": "2026-11-05T01:30:00+00:00",
    }

    node = fields.String(dump_only=True, metadata={"description": "'50%' … '100%', or 'overdue'"})
    fire_at = fields.AwareDateTime(dump_only=True,
                                   metadata={"description": "When it was due to go out"})
    sent_at = fields.AwareDateTime(dump_only=True, metadata={"description": "When it went out"})
    deadline_kind = fields.Enum(DeadlineKind, by_value=True, dump_only=True,
                                attribute="deadline.kind")
    due_at = fields.AwareDateTime(dump_only=True, attribute="deadline.due_at")


class NotificationSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "kind": "basic",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
        "subject_type": "case",
        "subject_id": "367d0a93-0a75-5089-a393-0487a3bba33c",
        "title": "小区门口垃圾桶满溢",
        "body": "您有一件案件即将超时，请尽快处理。",
        "created_at": "2026-11-05T01:30:00+00:00",
        "acknowledged_at": "2026-11-05T01:30:00+00:00",
        "acknowledged_by_user_id": "04d12950-1703-5db0-b44d-785b2370948a",
        "reminder": {
            "node": "dispatch",
            "fire_at": "2026-11-05T01:30:00+00:00",
            "sent_at": "2026-11-05T01:30:00+00:00",
            "deadline_kind": "response",
            "due_at": "2026-11-05T01:30:00+00:00",
        },
    }

    id = fields.UUID(dump_only=True)
    kind = fields.String(dump_only=True, metadata={
        "description": "deadline_reminder, deadline_overdue, or another area's event "
                       "(e.g. case_dispatched)"})
    unit_id = fields.UUID(dump_only=True, allow_none=True)
    user_id = fields.UUID(dump_only=True, allow_none=True,
                          metadata={"description": "Set for a personal notification"})
    subject_type = fields.String(dump_only=True, allow_none=True)
    subject_id = fields.UUID(dump_only=True, allow_none=True)
    title = fields.String(dump_only=True)
    body = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    acknowledged_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    acknowledged_by_user_id = fields.UUID(dump_only=True, allow_none=True)
    reminder = fields.Nested(ReminderInfoSchema, dump_only=True, allow_none=True)


class InboxPageSchema(ma.Schema):
    EXAMPLE = {
        "items": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "kind": "basic",
                "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
                "user_id": "14b49796-6797-5984-a74e-7d0dafcf2395",
                "subject_type": "case",
                "subject_id": "367d0a93-0a75-5089-a393-0487a3bba33c",
                "title": "小区门口垃圾桶满溢",
                "body": "您有一件案件即将超时，请尽快处理。",
                "created_at": "2026-11-05T01:30:00+00:00",
                "acknowledged_at": "2026-11-05T01:30:00+00:00",
                "acknowledged_by_user_id": "04d12950-1703-5db0-b44d-785b2370948a",
                "reminder": {
                    "node": "dispatch",
                    "fire_at": "2026-11-05T01:30:00+00:00",
                    "sent_at": "2026-11-05T01:30:00+00:00",
                    "deadline_kind": "response",
                    "due_at": "2026-11-05T01:30:00+00:00",
                },
            },
        ],
        "next_cursor": CURSOR_EXAMPLE,
        "unread_count": 1,
    }

    items = fields.List(fields.Nested(NotificationSchema), dump_only=True)
    next_cursor = fields.String(dump_only=True, allow_none=True)
    unread_count = fields.Integer(dump_only=True)
