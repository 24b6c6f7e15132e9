"""Sign-in, token checks and revocation, and loading an actor's scope."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth import sign_in_locks
from server.auth.actor import Actor, Scope
from server.auth.models import AuthToken, Device
from server.auth.passwords import Passwords, dummy_hash
from server.auth.rules import SignInPolicy
from server.core.errors import NotFound, Unauthenticated
from server.core.i18n import _
from server.core.ids import new_secret
from server.core.trail import record_change
from server.grids.models import Grid, GridMember
from server.org.models import Unit, User
from server.org.rules import Reach, UnitKind, path_ids

# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def bearer_token_in(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None for any other."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    record: AuthToken


def login(
    session: Session,
    passwords: Passwords,
    username: str,
    password: str,
    *,
    now: datetime,
    lifetime: timedelta,
    device_id: uuid.UUID | None = None,
    device_name: str | None = None,
    policy: SignInPolicy | None = None,
) -> IssuedToken:
    """Check the password and issue a token; a phone's new sign-in replaces its old token.

    With a ``policy``, an account backing off or locked (``server.auth.rules``) is refused
    with 429 before any hash is computed, whatever the password; a failure is counted in
    the database for every host to see, and a success clears the count.
    """
    if policy is not None:
        sign_in_locks.check(session, username, policy, now=now)
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.is_active:
        # Spend the same time as a real check so timing does not reveal which usernames exist.
        passwords.verify(dummy_hash(passwords), password)
        _failed(session, username, policy, now=now)
    if not passwords.verify(user.password_hash, password):
        _failed(session, username, policy, now=now)
    if policy is not None:
        sign_in_locks.forget(session, username)
    if device_id is not None:
        _register_device(session, user.id, device_id, device_name, now=now)
        session.execute(
            sa.update(AuthToken)
            .where(
                AuthToken.user_id == user.id,
                AuthToken.device_id == device_id,
                AuthToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        session.info[TOKENS_REVOKED] = True
    raw = new_secret()
    record = AuthToken(
        token_hash=hash_token(raw),
        user_id=user.id,
        device_id=device_id,
        device_name=device_name,
        created_at=now,
        expires_at=now + lifetime,
        last_used_at=now,
    )
    session.add(record)
    session.flush()
    return IssuedToken(token=raw, record=record)


TOKENS_REVOKED = "gridops.tokens_revoked"  # session.info flag, read after the commit


def _failed(session: Session, username: str, policy: SignInPolicy | None, *,
            now: datetime) -> NoReturn:
    if policy is not None:
        sign_in_locks.record_failure(session, username, policy, now=now)
    raise Unauthenticated(_("Wrong username or password."), code="invalid_credentials")


@dataclass(frozen=True)
class _CachedToken:
    actor: Actor
    expires_at: datetime
    cached_at: float


class TokenCache:
    """Tokens this process verified in the last ``ttl_s`` seconds (0 disables it).

    A request whose token is cached needs no database round trip to authenticate. Expiry
    is still checked on every request. The revoking process clears its own cache right
    after its commit; on PostgreSQL every other process clears its cache when the
    revocation's NOTIFY reaches it (``server.auth.revocations``), and while that signal is
    not live (``signal.live`` false: not yet connected, reconnecting) the cache serves and
    keeps nothing. Without a signal (SQLite) a token revoked by another process keeps
    working here for at most ``ttl_s`` seconds.

    ``generation`` moves at every clear: a lookup reads it before going to the database and
    hands it to ``put``, which stores nothing if a clear happened in between (the lookup
    may have read the token just before its revocation committed).
    """

    def __init__(self, ttl_s: float = 0.0, max_entries: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.signal = None  # a RevocationListener (server.auth.revocations) or None
        self.generation = 0
        self._entries: dict[str, _CachedToken] = {}
        self._lock = threading.Lock()

    def _trusted(self) -> bool:
        signal = self.signal
        if signal is None:
            return True
        signal.ensure_running()
        return signal.live

    def get(self, token_hash: str, *, now: datetime) -> Actor | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if (not self._trusted() or time.monotonic() - entry.cached_at >= self.ttl_s
                or entry.expires_at <= now):
            self._entries.pop(token_hash, None)
            return None
        return replace(entry.actor, _scope=None)  # a fresh Actor: scopes are per request

    def put(self, token_hash: str, actor: Actor, expires_at: datetime, *,
            generation: int | None = None) -> None:
        if self.ttl_s <= 0 or not self._trusted():
            return
        entry = _CachedToken(replace(actor, _scope=None), expires_at, time.monotonic())
        with self._lock:  # the check and the store as one step against a clear
            if generation is not None and generation != self.generation:
                return  # cleared since this lookup began: what it read may be revoked
            if len(self._entries) >= self.max_entries:
                self._entries = {}  # crude but bounded; a full cache only costs round trips
            self._entries[token_hash] = entry

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries = {}


def _register_device(session: Session, user_id: uuid.UUID, device_id: uuid.UUID,
                     name: str | None, *, now: datetime) -> Device:
    device = session.get(Device, (user_id, device_id))
    if device is None:
        device = Device(user_id=user_id, id=device_id, name=name, registered_at=now,
                        last_sign_in_at=now)
        session.add(device)
    else:
        device.name = name or device.name
        device.last_sign_in_at = now
    return device


def authenticate(
    session: Session, raw_token: str, *, now: datetime, cache: TokenCache | None = None
) -> Actor:
    """The actor behind a bearer token; expired, revoked or unknown tokens are refused alike."""
    token_hash = hash_token(raw_token)
    if cache is not None and (cached := cache.get(token_hash, now=now)) is not None:
        return cached
    generation = cache.generation if cache is not None else None
    row = session.execute(
        sa.select(AuthToken, User, Unit)
        .join(User, AuthToken.user_id == User.id)
        .join(Unit, User.unit_id == Unit.id)
        .where(AuthToken.token_hash == token_hash)
    ).one_or_none()
    if row is None:
        raise Unauthenticated("This token is not valid; sign in again.", code="invalid_token")
    token, user, unit = row
    if token.revoked_at is not None or token.expires_at <= now or not user.is_active:
        raise Unauthenticated(
            "This token has expired or was revoked; sign in again.", code="invalid_token"
        )
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    actor = Actor(
        user_id=user.id,
        username=user.username,
        unit_id=unit.id,
        unit_path=unit.path,
        roles=user.roles,
        token_id=token.id,
        device_id=token.device_id,
    )
    if cache is not None:
        cache.put(token_hash, actor, token.expires_at, generation=generation)
    return actor


def list_tokens(session: Session, actor: Actor, *, now: datetime) -> list[AuthToken]:
    """The actor's own live sign-ins (web sessions and devices), newest first."""
    return list(
        session.scalars(
            sa.select(AuthToken)
            .where(
                AuthToken.user_id == actor.user_id,
                AuthToken.revoked_at.is_(None),
                AuthToken.expires_at > now,
            )
            .order_by(AuthToken.created_at.desc(), AuthToken.id)
        )
    )


def revoke_token(session: Session, actor: Actor, token_id: uuid.UUID, *, now: datetime) -> None:
    """Revoke one of the actor's own tokens (e.g. a lost phone). Others' tokens are not found."""
    token = session.get(AuthToken, token_id)
    if token is None or token.user_id != actor.user_id:
        raise NotFound("No such token.", code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at = now
        session.info[TOKENS_REVOKED] = True
        if token.id != actor.token_id:  # signing out of this very session is no admin change
            record_change(session, actor, "token.revoked", token, code=actor.username,
                          before={"revoked_at": None}, after={"revoked_at": now,
                          "user_id": token.user_id, "device_id": token.device_id}, now=now)


def revoke_user_device(
    session: Session, user_id: uuid.UUID, device_id: uuid.UUID, *, now: datetime,
    actor: Actor | None = None,
) -> int:
    """Revoke every live token of one device of a user (admin action on a lost phone)."""
    result = session.execute(
        sa.update(AuthToken)
        .where(
            AuthToken.user_id == user_id,
            AuthToken.device_id == device_id,
            AuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    session.info[TOKENS_REVOKED] = True
    record_change(session, actor, "device.revoked", device_id, after={
        "user_id": user_id, "tokens_revoked": result.rowcount}, now=now)
    return result.rowcount


def scope_of(session: Session, actor: Actor) -> Scope:
    """What the actor may see, computed once per request and cached on the actor."""
    if actor._scope is None:
        actor._scope = _load_scope(session, actor)
    return actor._scope


def _load_scope(session: Session, actor: Actor) -> Scope:
    reach = actor.reach
    if reach is Reach.ALL:
        return Scope(reach=reach, unit_paths=None, township_ids=None)
    ancestor_ids = path_ids(actor.unit_path)
    chain = {
        u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(ancestor_ids)))
    }
    ordered = [chain[i] for i in ancestor_ids if i in chain]  # root first, own unit last
    wanted = UnitKind.DISTRICT if reach is Reach.DISTRICT else UnitKind.TOWNSHIP
    root = next((u for u in reversed(ordered) if u.kind is wanted), ordered[-1])
    above_root = frozenset(u.id for u in ordered[: ordered.index(root)])
    if reach is Reach.DISTRICT:
        township_ids = frozenset(
            session.scalars(
                sa.select(Unit.id).where(
                    Unit.path.startswith(root.path, autoescape=True),
                    Unit.kind == UnitKind.TOWNSHIP,
                )
            )
        )
    else:
        township_ids = frozenset({root.id}) if root.kind is UnitKind.TOWNSHIP else frozenset()
    grid_ids: frozenset[uuid.UUID] = frozenset()
    if reach is Reach.OWN_GRIDS:
        grid_ids = frozenset(
            session.scalars(
                sa.select(GridMember.grid_id).where(GridMember.user_id == actor.user_id)
            )
        )
        township_ids = frozenset(
            session.scalars(sa.select(Grid.township_id).where(Grid.id.in_(grid_ids)).distinct())
        )
    return Scope(
        reach=reach,
        unit_paths=(root.path,),
        township_ids=township_ids,
        grid_ids=grid_ids,
        ancestor_ids=above_root,
        department_path=next((u.path for u in ordered if u.kind is UnitKind.DEPARTMENT), None),
    )
