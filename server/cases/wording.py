"""What actions and statuses are called in texts people read (msgids for server.core.i18n)."""

from __future__ import annotations

from server.cases.rules import Action, CaseStatus
from server.core.i18n import N_, gettext

ACTION_WORDS: dict[Action, str] = {
    Action.DISPATCH: N_("dispatch"),
    Action.ACCEPT: N_("accept"),
    Action.CONTACT: N_("contact"),
    Action.NOTE: N_("note"),
    Action.COMPLETE: N_("complete"),
    Action.REQUEST_RETURN: N_("request return"),
    Action.APPROVE_RETURN: N_("approve return"),
    Action.REFUSE_RETURN: N_("refuse return"),
    Action.ESCALATE: N_("escalate"),
    Action.HAND_DOWN: N_("hand down"),
    Action.RECORD_REVIEW: N_("record review"),
    Action.CALLBACK: N_("callback"),
    Action.REQUEST_EXTENSION: N_("request extension"),
    Action.DECIDE_EXTENSION: N_("decide extension"),
    Action.REQUEST_EXEMPTION: N_("request exemption"),
    Action.DECIDE_EXEMPTION: N_("decide exemption"),
    Action.LINK: N_("link"),
    Action.ARRIVE: N_("arrive"),
}

STATUS_WORDS: dict[CaseStatus, str] = {
    CaseStatus.RECEIVED: N_("received"),
    CaseStatus.DISPATCHED: N_("dispatched"),
    CaseStatus.ACCEPTED: N_("accepted"),
    CaseStatus.IN_PROGRESS: N_("in_progress"),
    CaseStatus.RETURN_REQUESTED: N_("return_requested"),
    CaseStatus.ESCALATED: N_("escalated"),
    CaseStatus.HANDED_DOWN: N_("handed_down"),
    CaseStatus.COMPLETED: N_("completed"),
    CaseStatus.CLOSED: N_("closed"),
}


def action_word(action: Action) -> str:
    """'request return' (English), '退单申请' (zh_CN)."""
    return gettext(ACTION_WORDS.get(action, action.value.replace("_", " ")))


def status_word(status: CaseStatus) -> str:
    return gettext(STATUS_WORDS.get(status, status.value))
