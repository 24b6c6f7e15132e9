"""Sign in, sign out, who am I, and one's own tokens (one per device)."""

from __future__ import annotations

import uuid

import marshmallow as ma
from marshmallow import fields, validate

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.schemas import StrictSchema, UserRefSchema, UserSchema
from server.api.throttle import sign_in_per_address
from server.auth import services as auth
from server.auth import sign_in_locks
from server.auth.rules import SignInPolicy
from server.org.models import User

blp = Blueprint("auth", __name__, url_prefix="auth", description="Sign-in and tokens")


class LoginSchema(StrictSchema):
    EXAMPLE = {
        "username": "wangjing.dispatcher",
        "password": "Wangjing-2026!",
        "device_id": "aad6fc04-1356-526f-8fb6-69806683e2c0",
        "device_name": "王芳的手机",
    }

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    device_id = fields.UUID(
        load_default=None,
        metadata={"description": "A phone's own UUID: the token is bound to that device"},
    )
    device_name = fields.String(load_default=None, validate=validate.Length(max=120))


class TokenSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "device_id": "aad6fc04-1356-526f-8fb6-69806683e2c0",
        "device_name": "王芳的手机",
        "created_at": "2026-11-05T01:30:00+00:00",
        "expires_at": "2026-11-05T01:30:00+00:00",
        "last_used_at": "2026-11-05T01:30:00+00:00",
    }

    id = fields.UUID(dump_only=True)
    device_id = fields.UUID(dump_only=True, allow_none=True)
    device_name = fields.String(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)
    expires_at = fields.AwareDateTime(dump_only=True)
    last_used_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class LoginResultSchema(ma.Schema):
    EXAMPLE = {
        "token": "q3Zt0v8c1WmJ6yN2bF5pXg",
        "token_info": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "device_id": "aad6fc04-1356-526f-8fb6-69806683e2c0",
            "device_name": "王芳的手机",
            "created_at": "2026-11-05T01:30:00+00:00",
            "expires_at": "2026-11-05T01:30:00+00:00",
            "last_used_at": "2026-11-05T01:30:00+00:00",
        },
        "user": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "username": "wangjing.dispatcher",
            "display_name": "王芳",
            "unit": {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
                "kind": "township",
            },
            "roles": ["township_dispatcher"],
            "is_active": True,
        },
    }

    token = fields.String(dump_only=True, metadata={"description": "Send as 'Bearer <token>'"})
    token_info = fields.Nested(TokenSchema, dump_only=True)
    user = fields.Nested(UserSchema, dump_only=True)


def sign_in_policy() -> SignInPolicy:
    return SignInPolicy(free_failures=ctx.setting("SIGN_IN_FREE_FAILURES"),
                        backoff_max_s=ctx.setting("SIGN_IN_BACKOFF_MAX_S"),
                        lock_after=ctx.setting("SIGN_IN_LOCK_AFTER"),
                        lock_minutes=ctx.setting("SIGN_IN_LOCK_MINUTES"),
                        window_minutes=ctx.setting("SIGN_IN_FAILURE_WINDOW_MINUTES"))


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(201, LoginResultSchema)
@blp.doc(security=[])
@may_answer("invalid_credentials", "rate_limited", "sign_in_locked", "sign_in_throttled")
@sign_in_per_address
def login(body):
    """Sign in and get a bearer token (per device for phones)"""
    device = body["device_id"]
    issued = auth.login(
        ctx.session(),
        ctx.passwords(),
        body["username"],
        body["password"],
        now=ctx.request_now(),
        lifetime=ctx.setting("DEVICE_TOKEN_LIFETIME" if device else "TOKEN_LIFETIME"),
        device_id=device,
        device_name=body["device_name"],
        policy=sign_in_policy(),
    )
    user = ctx.session().get(User, issued.record.user_id)
    return {"token": issued.token, "token_info": issued.record, "user": user}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
@may_answer("token_not_found")
def logout():
    """Revoke the token this request was made with"""
    actor = ctx.current_actor()
    auth.revoke_token(ctx.session(), actor, actor.token_id, now=ctx.request_now())


@blp.route("/me", methods=["GET"])
@blp.response(200, UserSchema)
def me():
    """The signed-in user, their unit and roles"""
    return ctx.session().get(User, ctx.current_actor().user_id)


@blp.route("/tokens", methods=["GET"])
@blp.response(200, TokenSchema(many=True))
def list_tokens():
    """One's own live tokens: web sessions and devices"""
    return auth.list_tokens(ctx.session(), ctx.current_actor(), now=ctx.request_now())


@blp.route("/tokens/<uuid:token_id>", methods=["DELETE"])
@blp.response(204)
def revoke_token(token_id: uuid.UUID):
    """Revoke one of one's own tokens, e.g. a lost phone's"""
    auth.revoke_token(ctx.session(), ctx.current_actor(), token_id, now=ctx.request_now())


class SignInLockSchema(ma.Schema):
    EXAMPLE = {
        "username": "wangjing.dispatcher",
        "user": {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                 "username": "wangjing.dispatcher", "display_name": "王芳"},
        "failures": 10,
        "first_failed_at": "2026-11-05T01:20:00+00:00",
        "last_failed_at": "2026-11-05T01:30:00+00:00",
        "locked_until": "2026-11-05T02:00:00+00:00",
    }

    username = fields.String(dump_only=True, metadata={"description": "As typed at sign-in"})
    user = fields.Nested(UserRefSchema, dump_only=True, allow_none=True, metadata={
        "description": "The account, or null: the username exists nowhere"})
    failures = fields.Integer(dump_only=True, metadata={"description": "Wrong tries in a row"})
    first_failed_at = fields.AwareDateTime(dump_only=True)
    last_failed_at = fields.AwareDateTime(dump_only=True)
    locked_until = fields.AwareDateTime(dump_only=True)


@blp.route("/sign-in-locks", methods=["GET"])
@blp.response(200, SignInLockSchema(many=True))
@may_answer("permission_denied")
def list_sign_in_locks():
    """Accounts locked by wrong passwords now (admins)"""
    return sign_in_locks.list_locks(ctx.session(), ctx.current_actor(), now=ctx.request_now())


@blp.route("/sign-in-locks/<string:username>", methods=["DELETE"])
@blp.response(204)
@may_answer("sign_in_lock_not_found")
def lift_sign_in_lock(username: str):
    """Unlock an account and forget its wrong tries (admins; in the trail)"""
    sign_in_locks.lift_lock(ctx.session(), ctx.current_actor(), username, now=ctx.request_now())
