"""WatermelonDB's sync protocol over HTTP (``synchronize()``'s pullChanges and pushChanges);
the rules are in ``sync.watermelon``."""

from __future__ import annotations

import json
from datetime import timedelta

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.sync import watermelon_schemas as s
from server.api.sync.push_routes import commit_chunk
from server.api.sync.push_schemas import parse_args
from server.api.throttle import push_per_device
from server.core.errors import Invalid
from sync import watermelon
from sync.operations import Limits
from sync.pull import PullSettings
from sync.push import PushSettings

blp = Blueprint("sync_watermelon", __name__, url_prefix="sync/watermelon",
                description="Offline sync in WatermelonDB's protocol (synchronize())")


def _push_settings() -> PushSettings:  # as POST /sync/push
    return PushSettings(
        limits=Limits(grid_index=ctx.grid_index_cache(),
                      tolerance_m=ctx.setting("ASSIGN_TOLERANCE_M"),
                      arrive_near_m=ctx.setting("SYNC_ARRIVE_NEAR_M"),
                      urgent_completion=timedelta(hours=ctx.setting("URGENT_COMPLETION_HOURS"))),
        max_skew_s=ctx.setting("SYNC_MAX_SKEW_S"),
        max_operations=ctx.setting("SYNC_MAX_PUSH_OPERATIONS"),
        chunk_size=ctx.setting("SYNC_PUSH_CHUNK"))


def _pull(last_pulled_at, migration, limit):  # noqa: ANN001, ANN202
    settings = PullSettings(history_days=ctx.setting("SYNC_HISTORY_DAYS"),
                            reconcile_hours=ctx.setting("SYNC_RECONCILE_HOURS"))
    return watermelon.pull(ctx.session(), ctx.current_actor(), last_pulled_at=last_pulled_at,
                           migration=migration, limit=limit, now=ctx.request_now(),
                           settings=settings)


@blp.route("/pull", methods=["POST"])
@blp.arguments(s.WatermelonPullBodySchema)
@blp.response(200, s.WatermelonPullAnswerSchema)
def pull_changes(body):
    """pullChanges: {changes, timestamp} since lastPulledAt (call again while has_more)"""
    return _pull(body["lastPulledAt"], body["migration"], body["limit"])


@blp.route("/pull", methods=["GET"])
@blp.arguments(s.WatermelonPullQuerySchema, location="query")
@blp.response(200, s.WatermelonPullAnswerSchema)
def pull_changes_get(args):
    """pullChanges with query parameters (last_pulled_at, schema_version, migration, limit)"""
    migration = None
    if args["migration"] not in (None, "", "null", "undefined"):
        try:
            migration = json.loads(args["migration"])
        except ValueError as exc:
            raise Invalid.for_field("migration", "JSON or null.", location="query",
                                    code="validation_failed") from exc
    return _pull(args["last_pulled_at"], migration, args["limit"])


@blp.route("/push", methods=["POST"])
@blp.arguments(s.WatermelonPushBodySchema)
@blp.response(200, s.WatermelonPushAnswerSchema)
@may_answer("device_token_required", "rate_limited", "too_many_operations")
@push_per_device
def push_changes(body):
    """pushChanges: new operations records applied once each; read-only tables ignored"""
    return watermelon.push(ctx.session(), ctx.current_actor(), changes=body["changes"],
                           sent_at=body["sentAt"], parse_args=parse_args,
                           settings=_push_settings(), now=ctx.request_now(),
                           checkpoint=commit_chunk)
