"""Password hashing with argon2id (argon2-cffi), cost set by configuration."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Passwords:
    time_cost: int = 3
    memory_kib: int = 64 * 1024

    @property
    def _hasher(self) -> PasswordHasher:
        return PasswordHasher(time_cost=self.time_cost, memory_cost=self.memory_kib)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


@lru_cache(maxsize=4)
def dummy_hash(passwords: Passwords) -> str:
    """A hash to verify against when the user does not exist, so both answers take as long."""
    return passwords.hash("not-a-real-password")
