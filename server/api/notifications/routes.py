"""Inbox: list one's notifications (own and unit's), acknowledge one."""

from __future__ import annotations

import uuid

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.notifications.schemas import (
    InboxPageSchema,
    InboxQuerySchema,
    NotificationSchema,
)
from server.api.openapi import may_answer
from server.supervision import queries, services

blp = Blueprint("notifications", __name__, url_prefix="",
                description="Inboxes: deadline reminders, overdue escalations, other events")


@blp.route("/notifications", methods=["GET"])
@blp.arguments(InboxQuerySchema, location="query")
@blp.response(200, InboxPageSchema)
@may_answer("invalid_cursor")
def list_notifications(args):
    """One's own and one's unit's notifications, newest first, keyset-paginated"""
    page = queries.inbox(ctx.session(), ctx.current_actor(), unread_only=args["unread"],
                         limit=args["limit"], cursor=args["cursor"])
    return {"items": page.items, "next_cursor": page.next_cursor,
            "unread_count": page.unread_count}


@blp.route("/notifications/<uuid:notification_id>/ack", methods=["POST"])
@blp.response(200, NotificationSchema)
def acknowledge(notification_id: uuid.UUID):
    """Acknowledge a notification (for the whole unit if it is a unit's); idempotent"""
    return services.acknowledge(ctx.session(), ctx.current_actor(), notification_id,
                                now=ctx.request_now())
