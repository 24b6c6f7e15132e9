"""Who is asking: the signed-in user, their roles, and (loaded on demand) what they may see."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from server.core.errors import PermissionDenied
from server.core.i18n import N_, _
from server.core.trail import actor_columns
from server.org.rules import Reach, Role, widest_reach

ROLE_WORDS = {
    Role.GRID_WORKER: N_("grid_worker"), Role.GRID_LEADER: N_("grid_leader"),
    Role.DEPARTMENT_STAFF: N_("department_staff"),
    Role.DEPARTMENT_HANDLER: N_("department_handler"),
    Role.TOWNSHIP_DISPATCHER: N_("township_dispatcher"),
    Role.DISTRICT_DISPATCHER: N_("district_dispatcher"), Role.ADMIN: N_("admin"),
    Role.AUDITOR: N_("auditor"),
}


@dataclass(frozen=True)
class Scope:
    """The territory an actor sees. ``None`` means everything (admin, auditor).

    ``unit_paths``: path prefixes of the unit subtrees visible (units and their users);
    ``township_ids``: townships whose grids are visible; ``grid_ids``: grids the actor is a
    member of (a grid worker sees these plus the special grids of their townships).
    What each role sees of each subject is ``server.org.rules.NEED_TO_KNOW``.
    """

    reach: Reach
    unit_paths: tuple[str, ...] | None
    township_ids: frozenset[uuid.UUID] | None
    grid_ids: frozenset[uuid.UUID] = frozenset()
    ancestor_ids: frozenset[uuid.UUID] = frozenset()
    # The path of the outermost department the actor sits in (sight DEPARTMENT), if any.
    department_path: str | None = None

    @property
    def is_global(self) -> bool:
        return self.reach is Reach.ALL


@dataclass
class Actor:
    user_id: uuid.UUID
    username: str
    unit_id: uuid.UUID
    unit_path: str
    roles: frozenset[Role]
    token_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None  # set when the token was issued to a phone
    _scope: Scope | None = field(default=None, repr=False)

    @property
    def reach(self) -> Reach:
        return widest_reach(self.roles)

    def has_any(self, roles: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(roles)

    def require(self, roles: Iterable[Role], action: str) -> None:
        """Role-level check; object-level checks go through the scoped queries."""
        roles = frozenset(roles)
        if not self.has_any(roles):
            raise PermissionDenied(
                _("Your role does not allow you to {action}; it needs one of: {roles}.").format(
                    action=action, roles=", ".join(_(ROLE_WORDS[r]) for r in sorted(roles))))

    @property
    def read_only(self) -> bool:
        return self.roles == frozenset({Role.AUDITOR})


def who_acted(actor: Actor | None) -> dict[str, object]:
    """The actor columns of an append-only event (case or whistle-call timelines): who, with
    which roles, for which unit, kept as they were at the time; ``None`` is the system."""
    return actor_columns(actor)
