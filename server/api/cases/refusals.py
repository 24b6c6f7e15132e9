"""The stable codes each case action may be refused with, read off the rule table
(``server.cases.rules``), for the OpenAPI document's error responses."""

from __future__ import annotations

from server.cases.rules import DISTRICT_ONLY_SOURCES, TRANSITIONS, Action, Barred, Party

# Codes a service adds to the rule's refusals (its own checks of the body).
SERVICE_CODES = {
    Action.DISPATCH: ("unknown_unit", "first_receiver_keeps_case"),
    Action.HAND_DOWN: ("unknown_community",),
    Action.REQUEST_EXTENSION: ("extension_not_later",),
    Action.CALLBACK: ("city_platform_district_only", "rated_at_invalid"),
    Action.LINK: ("invalid_master", "master_closed"),
}


def refusal_codes(action: Action) -> list[str]:
    """What ``rules.refusal`` (and the action's service) may answer: the branches it can take."""
    rule = TRANSITIONS[action]
    codes = ["illegal_transition"]
    if rule.by is Party.LEAD:
        codes.append("not_lead_unit")
    elif rule.by is Party.COMMUNITY:
        codes.append("not_reviewing_community")
    else:
        codes += ["permission_denied", "outside_territory"]
        if action in DISTRICT_ONLY_SOURCES:
            codes.append("district_only")
        if rule.by is Party.SUPERVISOR:
            codes.append("not_supervisor")
            if Barred.LEAD in rule.barred:
                codes.append("lead_unit_decision")
            if Barred.REQUESTER in rule.barred:
                codes.append("self_approval")
    if action is Action.REQUEST_RETURN:
        codes.append("case_not_returnable")
    return codes + list(SERVICE_CODES.get(action, ()))
