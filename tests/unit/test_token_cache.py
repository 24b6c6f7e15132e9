"""The per-process token cache: bounded lifetime, expiry still checked, fresh actors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from server.auth.actor import Actor
from server.auth.services import TokenCache
from server.org.rules import Role

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)


def actor() -> Actor:
    return Actor(user_id=uuid.uuid4(), username="u", unit_id=uuid.uuid4(), unit_path="/x/",
                 roles=frozenset({Role.GRID_WORKER}))


def test_a_disabled_cache_remembers_nothing():
    cache = TokenCache(ttl_s=0)
    cache.put("h", actor(), NOW + timedelta(hours=1))
    assert cache.get("h", now=NOW) is None


def test_a_cached_token_is_served_as_a_fresh_actor_until_it_expires():
    cache = TokenCache(ttl_s=60)
    original = actor()
    cache.put("h", original, NOW + timedelta(minutes=5))
    served = cache.get("h", now=NOW)
    assert served == original
    assert served is not original
    assert cache.get("h", now=NOW + timedelta(minutes=5)) is None  # token expiry still applies


def test_clearing_drops_every_entry():
    cache = TokenCache(ttl_s=60)
    cache.put("h", actor(), NOW + timedelta(hours=1))
    cache.clear()
    assert cache.get("h", now=NOW) is None


class _Signal:
    """A stand-in for the revocation listener: live or not, as the test says."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.started = 0

    def ensure_running(self) -> None:
        self.started += 1


def test_a_lookup_that_raced_a_clear_stores_nothing():
    cache = TokenCache(ttl_s=60)
    seen = cache.generation  # the lookup begins
    cache.clear()  # a revocation's notice arrives while it reads the database
    cache.put("h", actor(), NOW + timedelta(hours=1), generation=seen)
    assert cache.get("h", now=NOW) is None
    cache.put("h", actor(), NOW + timedelta(hours=1), generation=cache.generation)
    assert cache.get("h", now=NOW) is not None


def test_without_a_live_revocation_signal_the_cache_serves_and_keeps_nothing():
    signal = _Signal(live=False)
    cache = TokenCache(ttl_s=60)
    cache.signal = signal
    cache.put("h", actor(), NOW + timedelta(hours=1))
    assert cache.get("h", now=NOW) is None  # not kept while deaf
    signal.live = True
    cache.put("h", actor(), NOW + timedelta(hours=1))
    assert cache.get("h", now=NOW) is not None
    signal.live = False  # the listener lost its connection: a notice may be missed
    assert cache.get("h", now=NOW) is None
    assert signal.started >= 3  # every use makes sure this process's listener runs
