"""Changing a user's roles (admins): the trail keeps the roles before and after."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import TOKENS_REVOKED
from server.core.errors import Conflict, Invalid
from server.core.i18n import _
from server.core.trail import record_change
from server.org.models import User, UserRole
from server.org.rules import MANAGE_USERS, Role


def set_user_roles(session: Session, actor: Actor, user: User, roles: Iterable[Role], *,
                   note: str | None = None, now: datetime) -> User:
    """Give ``user`` exactly ``roles``. At least one role; an admin cannot take the admin
    role from themself (the last way back in would go with it). Tokens keep working, but this
    process forgets the roles it cached, and other processes within the token cache's TTL."""
    actor.require(MANAGE_USERS, _("change users' roles"))
    wanted = frozenset(roles)
    if not wanted:
        raise Invalid.for_field("roles", "Give the user at least one role.", code="roles_required")
    if user.id == actor.user_id and Role.ADMIN in user.roles and Role.ADMIN not in wanted:
        raise Conflict.for_field("roles", "You cannot take the admin role from yourself.",
                                 code="own_admin_role")
    before = sorted(r.value for r in user.roles)
    if wanted == user.roles:
        return user
    kept = [row for row in user.role_rows if row.role in wanted]
    user.role_rows = kept + [UserRole(role=r) for r in sorted(wanted - user.roles)]
    session.flush()
    record_change(session, actor, "user.roles_changed", user, before={"roles": before},
                  after={"roles": sorted(r.value for r in wanted)}, note=note, now=now)
    session.info[TOKENS_REVOKED] = True
    return user
