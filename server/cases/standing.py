"""Who the caller is to a case: the plain facts ``rules.refusal`` judges, gathered once.

The transitions check every action through ``require`` and the API (web and phones) offers
``actions_for``: one rule, so an offered action succeeds and a withheld one is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.cases.models import Case, CaseReturn
from server.cases.rules import (
    DISPATCHER_ROLES,
    HANDLER_ROLES,
    Action,
    CaseStatus,
    Refusal,
    RefusalKind,
    Request,
    Standing,
    allowed_actions,
    refusal,
    returnable,
)
from server.cases.services import CaseNotReturnable, IllegalTransition
from server.core.errors import Conflict, PermissionDenied
from server.org.models import Unit
from server.org.rules import Role, UnitKind


def _under(actor: Actor, unit_id: uuid.UUID | None) -> bool:
    """The actor's unit is this unit or below it in the tree."""
    return unit_id is not None and f"/{unit_id.hex}/" in actor.unit_path


def standing_of(session: Session, actor: Actor, case: Case, *,
                lead_kind: UnitKind | None = None,
                return_requested_by: uuid.UUID | None = None) -> Standing:
    """The facts about ``actor`` and ``case``. Lists pass the lead unit's kind and the pending
    return's requester in (``standings_of``); one case looks them up."""
    if lead_kind is None and case.lead_unit_id is not None:
        lead_kind = (case.lead_unit or session.get_one(Unit, case.lead_unit_id)).kind
    if return_requested_by is None and case.status is CaseStatus.RETURN_REQUESTED:
        return_requested_by = _pending_return_requesters(session, [case.id]).get(case.id)
    in_territory, is_district = _territory(session, actor, case)
    pending = {Request.EXTENSION: case.extension_state == "requested",
               Request.EXEMPTION: case.exemption_state == "requested",
               Request.RETURN: case.status is CaseStatus.RETURN_REQUESTED}
    asked_by = {Request.EXTENSION: case.extension_requested_by_user_id,
                Request.EXEMPTION: case.exemption_requested_by_user_id,
                Request.RETURN: return_requested_by}
    return Standing(
        status=case.status,
        is_dispatcher=actor.has_any(DISPATCHER_ROLES),
        is_handler=actor.has_any(HANDLER_ROLES),
        in_territory=in_territory,
        is_district=is_district,
        in_lead=_under(actor, case.lead_unit_id),
        in_supervisor=_under(actor, case.dispatched_by_unit_id),
        in_review_community=_under(actor, case.handed_down_to_unit_id),
        own_requests=frozenset(r for r, waiting in pending.items()
                               if waiting and asked_by[r] == actor.user_id),
        pending=frozenset(r for r, waiting in pending.items() if waiting),
        exemption_approved=case.exemption_state == "approved",
        not_returnable=returnable(case.channel, lead_kind is UnitKind.TOWNSHIP, case.returnable)
        if case.lead_unit_id is not None else None,
    )


def _territory(session: Session, actor: Actor, case: Case) -> tuple[bool, bool]:
    """(a dispatcher whose territory holds the case, a district dispatcher of its district)."""
    if not actor.has_any(DISPATCHER_ROLES):
        return False, False
    district_role = actor.has_any({Role.DISTRICT_DISPATCHER})
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return True, district_role
    in_township = case.township_id is not None and case.township_id in scope.township_ids
    in_district = district_role and case.district_id is not None and any(
        f"/{case.district_id.hex}/" in p for p in scope.unit_paths or ())
    return in_township or in_district, in_district


def _pending_return_requesters(session: Session,
                               case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    rows = session.execute(
        sa.select(CaseReturn.case_id, CaseReturn.requested_by_user_id)
        .where(CaseReturn.case_id.in_(case_ids), CaseReturn.decided_at.is_(None))
        .order_by(CaseReturn.requested_at))
    return {case_id: user_id for case_id, user_id in rows if user_id is not None}


def standings_of(session: Session, actor: Actor,
                 cases: Sequence[Case]) -> Mapping[uuid.UUID, Standing]:
    """Standings for a page of cases in two queries, not two per case (phones' sync)."""
    lead_ids = {c.lead_unit_id for c in cases if c.lead_unit_id is not None}
    kinds = dict(session.execute(sa.select(Unit.id, Unit.kind).where(Unit.id.in_(lead_ids)))
                 .all()) if lead_ids else {}
    returning = [c.id for c in cases if c.status is CaseStatus.RETURN_REQUESTED]
    requesters = _pending_return_requesters(session, returning) if returning else {}
    return {c.id: standing_of(session, actor, c, lead_kind=kinds.get(c.lead_unit_id),
                              return_requested_by=requesters.get(c.id)) for c in cases}


def actions_for(session: Session, actor: Actor, case: Case) -> list[Action]:
    """What this caller may do with the case now (the API's ``allowed_actions``)."""
    return allowed_actions(standing_of(session, actor, case))


def require(session: Session, actor: Actor, case: Case, action: Action) -> None:
    """Raise the rule's refusal of this action by this caller, if any."""
    refused = refusal(action, standing_of(session, actor, case))
    if refused is not None:
        raise as_error(refused, case)


def as_error(refused: Refusal, case: Case) -> Conflict | PermissionDenied:
    if refused.kind is RefusalKind.FORBIDDEN:
        return PermissionDenied(refused.message, code=refused.code)
    if refused.code == CaseNotReturnable.code:
        return CaseNotReturnable(refused.message)
    return IllegalTransition(refused.message, code=refused.code, details=[
        {"current_status": case.status.value, "version": case.version}])
