"""Inbox schemas: the list query, a notification, a page of them."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema
from server.supervision.rules import DeadlineKind


class InboxQuerySchema(StrictSchema):
    unread = fields.Boolean(load_default=False,
                            metadata={"description": "Only notifications not yet acknowledged"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None,
                           metadata={"description": "next_cursor of the previous page"})


class ReminderInfoSchema(ma.Schema):
    """What a deadline reminder is about, as data (titles are for people)."""

    node = fields.String(dump_only=True, metadata={"description": "'50%' … '100%', or 'overdue'"})
    fire_at = fields.AwareDateTime(dump_only=True,
                                   metadata={"description": "When it was due to go out"})
    sent_at = fields.AwareDateTime(dump_only=True, metadata={"description": "When it went out"})
    deadline_kind = fields.Enum(DeadlineKind, by_value=True, dump_only=True,
                                attribute="deadline.kind")
    due_at = fields.AwareDateTime(dump_only=True, attribute="deadline.due_at")


class NotificationSchema(ma.Schema):
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
    items = fields.List(fields.Nested(NotificationSchema), dump_only=True)
    next_cursor = fields.String(dump_only=True, allow_none=True)
    unread_count = fields.Integer(dump_only=True)
