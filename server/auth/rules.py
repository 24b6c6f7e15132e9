"""Sign-in throttling per account: backoff after a few failures, then a lock (plain Python).

After ``free_failures`` failed sign-ins in a row, each further try must wait twice as long as
the one before (1 s, 2 s, 4 s, ... at most ``backoff_max_s``); ``lock_after`` failures lock
the account for ``lock_minutes`` or until an admin lifts the lock. Failures older than
``window_minutes`` are forgotten (a locked account's are not, until the lock ends). OWASP's
Authentication Cheat Sheet: throttle per account with growing delays, lock after a
threshold, let an administrator unlock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SignInPolicy:
    free_failures: int = 3
    backoff_max_s: float = 300.0
    lock_after: int = 10
    lock_minutes: float = 30.0
    window_minutes: float = 60.0

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    @property
    def lock_duration(self) -> timedelta:
        return timedelta(minutes=self.lock_minutes)


@dataclass(frozen=True)
class SignInRefusal:
    code: str  # sign_in_locked | sign_in_throttled
    retry_after_s: int


def backoff_s(policy: SignInPolicy, failures: int) -> float:
    """How long after the latest failure the next try may come."""
    if failures < policy.free_failures:
        return 0.0
    return min(policy.backoff_max_s, 2.0 ** (failures - policy.free_failures))


def is_forgotten(policy: SignInPolicy, last_failed_at: datetime, now: datetime) -> bool:
    return now - last_failed_at > policy.window


def refusal(policy: SignInPolicy, *, failures: int, last_failed_at: datetime | None,
            locked_until: datetime | None, now: datetime) -> SignInRefusal | None:
    """Why a sign-in to this account is refused now (before any password is checked)."""
    if locked_until is not None and locked_until > now:
        return SignInRefusal("sign_in_locked", _ceil_s(locked_until - now))
    if last_failed_at is None or is_forgotten(policy, last_failed_at, now):
        return None
    ready_at = last_failed_at + timedelta(seconds=backoff_s(policy, failures))
    if now < ready_at:
        return SignInRefusal("sign_in_throttled", _ceil_s(ready_at - now))
    return None


def _ceil_s(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
