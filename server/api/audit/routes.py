"""The trail of administrative changes, for auditors and admins."""

from __future__ import annotations

from server.api import context as ctx
from server.api.audit.schemas import ChangePageSchema, ChangeQuerySchema
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.audit.queries import ChangeFilters, list_changes

blp = Blueprint("audit", __name__, url_prefix="",
                description="The trail of administrative changes")


@blp.route("/admin-changes", methods=["GET"])
@blp.arguments(ChangeQuerySchema, location="query")
@blp.response(200, ChangePageSchema)
@may_answer("invalid_cursor", "permission_denied")
def list_admin_changes(args):
    """Who changed which grid, unit, user, item or posting, when, before and after; newest first"""
    limit, cursor = args.pop("limit"), args.pop("cursor")
    page = list_changes(ctx.session(), ctx.current_actor(), ChangeFilters(**args), limit=limit,
                        cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}
