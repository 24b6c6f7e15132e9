"""Push over HTTP: a phone's batch of offline operations, and the review list of rejected ones."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.staff.routes import field_limits
from server.api.sync import push_schemas as s
from server.api.throttle import push_per_device
from server.auth.actor import Actor
from sync.ledger import RejectedOperation, args_for, rejected_operations
from sync.operations import Limits
from sync.push import IncomingOp, PushSettings, push

blp = Blueprint("sync_push", __name__, url_prefix="sync",
                description="Offline sync: operations pushed by phones, applied exactly once")


def _settings() -> PushSettings:
    return PushSettings(
        limits=Limits(grid_index=ctx.grid_index_cache(),
                      tolerance_m=ctx.setting("ASSIGN_TOLERANCE_M"),
                      arrive_near_m=ctx.setting("SYNC_ARRIVE_NEAR_M"),
                      staff=field_limits(),
                      urgent_completion=timedelta(hours=ctx.setting("URGENT_COMPLETION_HOURS"))),
        max_skew_s=ctx.setting("SYNC_MAX_SKEW_S"),
        max_operations=ctx.setting("SYNC_MAX_PUSH_OPERATIONS"),
        chunk_size=ctx.setting("SYNC_PUSH_CHUNK"))


def commit_chunk() -> None:
    """The push's checkpoint: commit the chunk just applied, so a cut request loses at most
    the one after it (docs/sync.md, Chunks). The pause exists for the fault test only, to
    land a kill between two chunks; it is 0 in production."""
    ctx.session().commit()
    pause = ctx.setting("SYNC_PUSH_CHUNK_PAUSE_S")
    if pause > 0:
        time.sleep(pause)


@blp.route("/push", methods=["POST"])
@blp.arguments(s.PushSchema)
@blp.response(200, s.PushResultSchema)
@may_answer("device_token_required", "rate_limited", "sequence_reused", "too_many_operations",
            "unknown_operation")
@push_per_device
def push_operations(body):
    """Apply a phone's offline operations, each exactly once; one outcome per operation"""
    operations = [IncomingOp(**op) for op in body["operations"]]
    return push(ctx.session(), ctx.current_actor(), operations, sent_at=body["sent_at"],
                parse_args=s.parse_args, settings=_settings(), now=ctx.request_now(),
                checkpoint=commit_chunk)


def _rejected_view(item: RejectedOperation, actor: Actor) -> dict[str, Any]:
    op = item.operation
    return {
        **{name: getattr(op, name) for name in (
            "id", "name", "code", "message", "flags", "device_id", "device_seq", "device_time",
            "acted_at", "received_at")},
        "args": args_for(op, actor),
        "user": {"id": str(op.user_id), "username": item.username},
        "case": {"id": str(op.case_id), "number": item.case_number} if op.case_id else None,
    }


@blp.route("/rejected", methods=["GET"])
@blp.arguments(s.RejectedQuerySchema, location="query")
@blp.response(200, s.RejectedPageSchema)
@may_answer("invalid_cursor")
def list_rejected(args):
    """Rejected operations to review (dispatchers: their territory's), newest first"""
    actor = ctx.current_actor()
    page = rejected_operations(ctx.session(), actor, case_id=args["case_id"],
                               limit=args["limit"], cursor=args["cursor"])
    return {"items": [_rejected_view(i, actor) for i in page.items],
            "next_cursor": page.next_cursor}

