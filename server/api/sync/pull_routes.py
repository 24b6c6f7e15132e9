"""Pull over HTTP: a device's scoped changes since its cursor, in pages; its sync status."""

from __future__ import annotations

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.sync import pull_schemas as s
from sync.pull import PullSettings, device_status, pull

blp = Blueprint("sync_pull", __name__, url_prefix="sync",
                description="Offline sync: what a phone downloads, by cursor and in pages")


@blp.route("/pull", methods=["POST"])
@blp.arguments(s.PullRequestSchema)
@blp.response(200, s.PullAnswerSchema)
@may_answer("device_token_required", "sync_not_for_role")
def pull_changes(body):
    """Changes of the device's scope since its cursor (a page; pull again while has_more)"""
    settings = PullSettings(history_days=ctx.setting("SYNC_HISTORY_DAYS"),
                            reconcile_hours=ctx.setting("SYNC_RECONCILE_HOURS"))
    return pull(ctx.session(), ctx.current_actor(), cursor=body["cursor"], limit=body["limit"],
                now=ctx.request_now(), settings=settings)


@blp.route("/status", methods=["GET"])
@blp.response(200, s.DeviceStatusSchema)
@may_answer("device_token_required", "sync_not_for_role")
def sync_status():
    """This device's last pull, confirmed cursor, batch in flight and records held"""
    return device_status(ctx.session(), ctx.current_actor())
