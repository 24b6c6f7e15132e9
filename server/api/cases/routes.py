"""Cases over HTTP: intake, lists, one case with its timeline, and one endpoint per action."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.cases import schemas as s
from server.api.cases.refusals import refusal_codes
from server.api.idempotency import once_per_request_id
from server.api.openapi import may_answer
from server.api.schemas import PeriodQuerySchema
from server.auth.actor import Actor
from server.cases import decisions, queries, transitions
from server.cases.access_log import access_log
from server.cases.models import Case, CaseEvent
from server.cases.reports import return_counts
from server.cases.rules import (
    Action,
    PersonalDataView,
    Standing,
    allowed_actions,
    mask_name,
    mask_phone,
)
from server.cases.services import SUBJECT, IntakeRequest, intake, retried_intake
from server.cases.standing import actions_for, standings_of
from server.org.models import Unit
from server.reports.periods import PeriodKind, containing
from server.supervision.queries import supervision_plan
from server.supervision.rules import OVERDUE
from sync.photos import link_photo

blp = Blueprint("cases", __name__, url_prefix="cases", description="Cases (诉求/工单)")


def _ref(unit: Unit | None) -> dict[str, str] | None:
    return {"id": str(unit.id), "code": unit.code, "name": unit.name} if unit else None


def case_view(case: Case, actor: Actor, standing: Standing | None = None) -> dict[str, Any]:
    """The case as this actor may see it; an unmasked view of personal data is logged.

    ``standing``: the caller's standing to the case when a list gathered it for the whole
    page (``standings_of``); otherwise it is looked up for this case."""
    session = ctx.session()
    view = queries.personal_data_view_for(session, actor, case)
    resident: dict[str, Any] = {"view": view.value, "name": None, "phone": None}
    if view is PersonalDataView.SHOWN:
        resident.update(name=case.resident_name, phone=case.resident_phone)
        if case.resident_name or case.resident_phone:
            queries.log_personal_data_access(session, actor, case, "view", now=ctx.request_now())
    elif view is PersonalDataView.MASKED:
        resident.update(name=mask_name(case.resident_name), phone=mask_phone(case.resident_phone))
    location = None
    if case.lon is not None:
        location = {"lon": case.lon, "lat": case.lat, "input_crs": case.input_crs,
                    "input_lon": case.input_lon, "input_lat": case.input_lat}
    return {
        **{name: getattr(case, name) for name in (
            "id", "number", "city_order_number", "category_code", "title", "description",
            "version", "address",
            "confidential", "attachments", "needs_triage", "triage_reason", "received_at",
            "dispatched_at", "response_due_at", "completion_due_at", "responded_at",
            "completed_at", "closed_at", "result", "resolved", "rehandle_count",
            "extension_state", "exemption_state", "exempted_at", "master_case_id", "linked_at",
            "dispatched_by_unit_id", "handed_down_to_unit_id", "review_due_at", "review_note",
            "reviewed_at", "updated_at")},
        "review_outcome": case.review_outcome.value if case.review_outcome else None,
        "channel": case.channel.value,
        "appeal_type": case.appeal_type.value,
        "urgency": case.urgency.value,
        "status": case.status.value,
        "satisfaction": case.satisfaction.value if case.satisfaction else None,
        "location": location,
        "basic_grid": {"id": str(case.basic_grid_id), "code": case.basic_grid_code}
        if case.basic_grid_id else None,
        "assignment": {"method": case.assignment_method, "distance_m": case.assignment_distance_m}
        if case.assignment_method else None,
        "special_grids": [g.grid_code for g in case.special_grids],
        "category": {"code": case.category.code, "name": case.category.name}
        if case.category else None,
        "township": _ref(case.township),
        "lead_unit": _ref(case.lead_unit),
        "cooperating_unit_ids": [str(c.unit_id) for c in case.cooperators],
        "resident": resident,
        "allowed_actions": [a.value for a in (
            actions_for(session, actor, case) if standing is None
            else allowed_actions(standing))],
    }


@blp.route("", methods=["POST"])
@blp.arguments(s.CaseCreateSchema)
@blp.response(201, s.IntakeResultSchema)
@blp.alt_response(
    200, schema=s.IntakeResultSchema, description="A retried request: the case it created"
)
@may_answer("city_order_number_not_allowed", "coordinates_outside_china",
            "idempotency_key_reused", "invalid_sha256", "location_incomplete",
            "photo_subject_unsupported", "unknown_category")
def create_case(body):
    """Receive a case: assign its grids, number it, dispatch it by the catalogue"""
    actor, session, request = ctx.current_actor(), ctx.session(), IntakeRequest(**body)
    result = once_per_request_id(
        session, request.client_request_id,
        create=lambda: intake(
            session, actor, request, grid_index=ctx.grid_index_cache(),
            tolerance_m=ctx.setting("ASSIGN_TOLERANCE_M"),
            urgent_completion=_urgent_completion(), now=ctx.request_now()),
        retried=lambda: retried_intake(session, actor, request.client_request_id))
    # An attachment with a SHA-256 is a photo of the photo service: linking it shows it with
    # the case's photos, and it becomes downloadable once uploaded (before or after intake).
    for sha256 in dict.fromkeys(a["sha256"] for a in body["attachments"] if a.get("sha256")):
        link_photo(ctx.session(), sha256=sha256, subject_type="case", subject_id=result.case.id,
                   user_id=actor.user_id, now=ctx.request_now())
    duplicates = queries.nearby_duplicates(
        ctx.session(), result.case, within_m=ctx.setting("DUPLICATE_DISTANCE_M"),
        period=timedelta(hours=ctx.setting("DUPLICATE_WINDOW_HOURS")))
    payload = case_view(result.case, actor)
    payload["possible_duplicates"] = [
        {"id": str(n.case.id), "number": n.case.number, "distance_m": n.distance_m,
         "status": n.case.status.value, "received_at": n.case.received_at.isoformat()}
        for n in duplicates]
    return payload, 201 if result.created else 200


@blp.route("", methods=["GET"])
@blp.arguments(s.CaseListQuerySchema, location="query")
@blp.response(200, s.CasePageSchema)
@may_answer("invalid_cursor", "permission_denied")
def list_cases(args):
    """Cases one may see, newest first, filtered; keyset pagination

    Find one case by ``number`` or ``city_order_number``; ``resident_phone`` finds a resident's
    cases (dispatchers and department handlers, among the cases whose data they see; logged).
    """
    actor = ctx.current_actor()
    filters = queries.CaseFilters(
        number=args["number"], city_order_number=args["city_order_number"],
        resident_phone=args["resident_phone"], status=tuple(args["status"]),
        lead_unit_id=args["lead_unit_id"], grid_code=args["grid"],
        category_prefix=args["category"], channel=args["channel"], overdue=args["overdue"],
        needs_triage=args["needs_triage"], received_from=args["received_from"],
        received_to=args["received_to"], bbox=tuple(args["bbox"]) if args["bbox"] else None)
    page = queries.list_cases(ctx.session(), actor, filters, now=ctx.request_now(),
                              limit=args["limit"], cursor=args["cursor"])
    # The page's lead units and pending returns in two queries, not two per case.
    standings = standings_of(ctx.session(), actor, page.cases)
    return {"items": [case_view(c, actor, standings[c.id]) for c in page.cases],
            "next_cursor": page.next_cursor}


@blp.route("/<uuid:case_id>", methods=["GET"])
@blp.response(200, s.CaseOutSchema)
def get_case(case_id: uuid.UUID):
    """One case"""
    actor = ctx.current_actor()
    return case_view(queries.get_case_for(ctx.session(), actor, case_id), actor)


@blp.route("/<uuid:case_id>/timeline", methods=["GET"])
@blp.response(200, s.EventSchema(many=True))
def get_timeline(case_id: uuid.UUID):
    """Every change of the case, oldest first, like a parcel's tracking (append-only)"""
    case = queries.get_case_for(ctx.session(), ctx.current_actor(), case_id)
    events = queries.timeline(ctx.session(), case)
    names = queries.timeline_names(ctx.session(), events)
    return [event_view(e, names) for e in events]


def event_view(event: CaseEvent, names: queries.TimelineNames) -> dict[str, Any]:
    """An event with the names of the units it names, and the catalogue rule of an automatic
    dispatch (the event's ``system`` actor is the catalogue)."""
    def unit(unit_id: object) -> dict[str, str] | None:
        return _ref(names.units.get(uuid.UUID(str(unit_id)))) if unit_id else None

    data = event.data
    return {
        **{k: getattr(event, k) for k in (
            "seq", "at", "action", "from_status", "to_status", "actor_username", "actor_roles",
            "actor_unit_id", "data")},
        "actor_unit": unit(event.actor_unit_id),
        "lead_unit": unit(data.get("lead_unit_id")),
        "cooperating_units": [unit(u) for u in data.get("cooperating_unit_ids") or ()],
        "community_unit": unit(data.get("community_unit_id")),
        "dispatch_rule": {"code": data["item"],
                          "name": data.get("item_name") or names.items.get(data["item"])}
        if data.get("item") else None,
    }


@blp.route("/<uuid:case_id>/supervision", methods=["GET"])
@blp.response(200, s.SupervisionSchema)
def get_supervision(case_id: uuid.UUID):
    """The case's deadlines and each reminder node: when it fires and whether it was sent"""
    session = ctx.session()
    case = queries.get_case_for(session, ctx.current_actor(), case_id)
    deadlines = supervision_plan(session, SUBJECT, case.id)
    unit_ids = {d.unit_id for d in deadlines} | {d.supervisor_unit_id for d in deadlines}
    units = {u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(unit_ids)))}
    return {"deadlines": [
        {"deadline": d, "unit": _ref(units.get(d.unit_id)),
         "supervisor_unit": _ref(units.get(d.supervisor_unit_id)),
         # In the order they go out; the overdue escalation after the 100% node it shares.
         "reminders": sorted(d.reminders, key=lambda r: (r.generation, r.fire_at,
                                                         r.node == OVERDUE))}
        for d in deadlines]}


@blp.route("/personal-data-access", methods=["GET"])
@blp.arguments(s.AccessLogQuerySchema, location="query")
@blp.response(200, s.AccessLogPageSchema)
@may_answer("invalid_cursor", "permission_denied")
def list_personal_data_access(args):
    """Who saw whose personal data, when and why; auditors and admins only"""
    page = access_log(ctx.session(), ctx.current_actor(), **args)
    return {"items": [
        {"id": e.access.id, "at": e.access.at, "purpose": e.access.purpose,
         "user": {"id": e.user.id, "username": e.user.username,
                  "display_name": e.user.display_name, "unit": _ref(e.user.unit)},
         "case": {"id": e.access.case_id, "number": e.case_number},
         "resident": {"name": mask_name(e.resident_name), "phone": mask_phone(e.resident_phone)}}
        for e in page.items], "next_cursor": page.next_cursor}


@blp.route("/returns", methods=["GET"])
@blp.arguments(PeriodQuerySchema, location="query")
@blp.response(200, s.ReturnCountSchema(many=True))
def returns_by_unit(args):
    """Returns per unit in a period (requested, approved, with fault) in one's territory"""
    period = args["period"] or containing(PeriodKind.MONTH, ctx.request_now())
    return return_counts(ctx.session(), ctx.current_actor(), period)


# One endpoint per action: (path, schema, service function, argument names from the body).
ACTIONS = (
    (
        "dispatch",
        s.DispatchSchema,
        transitions.dispatch,
        ("lead_unit_id", "cooperating_unit_ids", "note"),
    ),
    ("accept", s.VersionedSchema, transitions.accept, ()),
    ("contact", s.NoteSchema, transitions.contact, ("note",)),
    ("arrive", s.ArriveSchema, transitions.arrive, ("lon", "lat", "accuracy_m", "crs")),
    ("notes", s.NoteSchema, transitions.add_note, ("note",)),
    ("complete", s.CompleteSchema, transitions.complete, ("result",)),
    ("return-request", s.ReasonSchema, transitions.request_return, ("reason",)),
    ("return-approval", s.ApproveReturnSchema, decisions.approve_return, ("with_fault", "note")),
    ("return-refusal", s.NoteSchema, decisions.refuse_return, ("note",)),
    ("escalate", s.ReasonSchema, transitions.escalate, ("reason",)),
    ("hand-down", s.HandDownSchema, transitions.hand_down, ("community_unit_id", "reason")),
    ("review", s.ReviewSchema, transitions.record_review, ("outcome", "note")),
    (
        "callback",
        s.CallbackSchema,
        decisions.callback,
        ("resolved", "satisfaction", "comment", "source", "rater", "rated_at", "channel"),
    ),
    (
        "extension-request",
        s.ExtensionRequestSchema,
        transitions.request_extension,
        ("new_due_at", "reason"),
    ),
    ("extension-decision", s.DecisionSchema, decisions.decide_extension, ("approve", "note")),
    ("exemption-request", s.ReasonSchema, transitions.request_exemption, ("reason",)),
    ("exemption-decision", s.DecisionSchema, decisions.decide_exemption, ("approve", "note")),
)


# The rule each endpoint's action follows (its refusal codes are documented from it).
ACTION_OF_PATH = {
    "notes": Action.NOTE, "return-request": Action.REQUEST_RETURN,
    "return-approval": Action.APPROVE_RETURN, "return-refusal": Action.REFUSE_RETURN,
    "review": Action.RECORD_REVIEW, "extension-request": Action.REQUEST_EXTENSION,
    "extension-decision": Action.DECIDE_EXTENSION, "exemption-request": Action.REQUEST_EXEMPTION,
    "exemption-decision": Action.DECIDE_EXEMPTION,
    **{path: Action(path.replace("-", "_")) for path in (
        "dispatch", "accept", "contact", "arrive", "complete", "escalate", "hand-down",
        "callback")},
}


def _urgent_completion() -> timedelta:
    return timedelta(hours=ctx.setting("URGENT_COMPLETION_HOURS"))


def _review_limit() -> timedelta:
    return timedelta(days=ctx.setting("HAND_DOWN_REVIEW_DAYS"))


# Settings some actions need, passed in like tolerance_m (services never read the config).
SETTINGS_OF = {
    transitions.dispatch: {"urgent_completion": _urgent_completion},
    decisions.callback: {"urgent_completion": _urgent_completion},
    transitions.hand_down: {"review_limit": _review_limit},
}


def _action_view(path: str, schema, service, names):  # noqa: ANN001, ANN202
    def view(body, case_id: uuid.UUID):
        actor = ctx.current_actor()
        case = queries.get_case_for_update(ctx.session(), actor, case_id)
        settings = {name: value() for name, value in SETTINGS_OF.get(service, {}).items()}
        service(ctx.session(), actor, case, version=body["version"], now=ctx.request_now(),
                **{n: body[n] for n in names}, **settings)
        return case_view(case, actor)

    view.__name__ = f"case_{path.replace('-', '_')}"
    view.__doc__ = (service.__doc__ or path).strip().splitlines()[0]
    codes = may_answer(*refusal_codes(ACTION_OF_PATH[path]))
    return blp.route(f"/<uuid:case_id>/{path}", methods=["POST"])(
        blp.arguments(schema)(blp.response(200, s.CaseOutSchema)(codes(view))))


for _path, _schema, _service, _names in ACTIONS:
    _action_view(_path, _schema, _service, _names)


@blp.route("/<uuid:case_id>/link", methods=["POST"])
@blp.arguments(s.LinkSchema)
@blp.response(200, s.CaseOutSchema)
@may_answer(*refusal_codes(Action.LINK))
def link_case(body, case_id: uuid.UUID):
    """Link a nearby duplicate to its master case; closing the master closes it"""
    actor = ctx.current_actor()
    session = ctx.session()
    case = queries.get_case_for(session, actor, case_id)
    master = queries.get_case_for(session, actor, body["master_case_id"])
    transitions.link_to_master(session, actor, case, master, version=body["version"],
                               now=ctx.request_now())
    return case_view(case, actor)

