"""Whistle calls over HTTP (吹哨报到 / 乡呼县应): raise, judge, arrive, act, close, rate."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.idempotency import once_per_request_id
from server.api.openapi import may_answer
from server.api.schemas import ReasonSchema
from server.api.whistle import schemas as s
from server.auth.actor import Actor
from server.whistle import queries, raising, rules, services
from server.whistle.models import WhistleCall
from sync.photos import link_photos
from sync.photos import statuses as photo_statuses

blp = Blueprint("whistle", __name__, url_prefix="whistle-calls",
                description="Township whistle calls (吹哨报到 / 乡呼县应)")


def _ref(unit) -> dict[str, str]:  # noqa: ANN001
    return {"id": str(unit.id), "code": unit.code, "name": unit.name}


def call_view(call: WhistleCall, *, now: datetime, detail: bool = False,
              outside: dict | None = None) -> dict[str, Any]:
    """The call with each department's standing (arrival state, response time, rating)."""
    session = ctx.session()
    if outside is None:
        outside = queries.outside_counts(session, [call.id])
    departments = queries.department_report(call, now=now, outside=outside)
    absent = [d["department"]["id"] for d in departments if d["arrival_state"] == "absent"]
    view = {
        **{name: getattr(call, name) for name in (
            "id", "category_code", "description", "version", "address", "linked_case_ids",
            "photos", "raised_at", "raised_by_user_id", "raised_by_department_id", "judged_at",
            "rejection_reason", "arrival_due_at", "completion_due_at", "arrival_radius_m",
            "closed_at", "result", "updated_at")},
        "kind": call.kind.value,
        "urgency": call.urgency.value,
        "status": call.status.value,
        "location": {"lon": call.lon, "lat": call.lat, "input_crs": call.input_crs,
                     "input_lon": call.input_lon, "input_lat": call.input_lat},
        "grid": {"id": str(call.grid_id), "code": call.grid_code},
        "township": _ref(call.township),
        "lead_department_id": call.lead_unit_id,
        "closed_on_time": rules.closed_on_time(call.closed_at, call.completion_due_at),
        "overdue": rules.is_overdue(status=call.status, completion_due_at=call.completion_due_at,
                                    now=now, absent_departments=len(absent)),
        "departments": departments,
        "late_department_ids": [d["department"]["id"] for d in departments
                                if d["arrival_state"] == "late"],
        "absent_department_ids": absent,
        "allowed_actions": [a.value for a in rules.allowed_actions(call.status)],
    }
    if detail:
        view["arrivals"] = queries.arrivals(session, call)
        view["actions"] = actions = queries.actions(session, call)
        shas = [*call.photos, *(p for a in actions for p in a.photos)]
        view["photo_status"] = {sha: status.value
                                for sha, status in photo_statuses(session, shas).items()}
    return view


def _limits() -> services.ArrivalLimits:
    return services.ArrivalLimits(radius_m=ctx.setting("WHISTLE_ARRIVAL_RADIUS_M"),
                                  accuracy_cap_m=ctx.setting("WHISTLE_ACCURACY_CAP_M"))


def _load(actor: Actor, call_id: uuid.UUID) -> WhistleCall:
    return queries.get_call_for(ctx.session(), actor, call_id)


@blp.route("", methods=["POST"])
@blp.arguments(s.WhistleRaiseSchema)
@blp.response(201, s.WhistleCallDetailSchema)
@blp.alt_response(200, schema=s.WhistleCallDetailSchema,
                  description="A retried request: the call it made")
@may_answer("coordinates_outside_china", "idempotency_key_reused", "invalid_sha256",
            "outside_served_area", "outside_township", "photo_subject_unsupported",
            "unknown_case", "unknown_category", "unknown_department")
def raise_call(body):
    """吹哨: raise a whistle call about a place in one's township (or department's area)"""
    actor, session, request = ctx.current_actor(), ctx.session(), raising.RaiseRequest(**body)
    outcome = once_per_request_id(
        session, request.client_request_id,
        create=lambda: raising.raise_call(
            session, actor, request, grid_index=ctx.grid_index_cache(), tolerance_m=0.0,
            now=ctx.request_now()),
        retried=lambda: raising.retried_raise(session, actor, request.client_request_id))
    # Its photos, linked to it, can be downloaded by everyone who sees the call.
    link_photos(ctx.session(), outcome.call.photos, subject_type="whistle_call",
                subject_id=outcome.call.id, user_id=actor.user_id, now=ctx.request_now())
    return call_view(outcome.call, now=ctx.request_now(), detail=True), (
        201 if outcome.created else 200)


@blp.route("", methods=["GET"])
@blp.arguments(s.WhistleListQuerySchema, location="query")
@blp.response(200, s.WhistleCallPageSchema)
@may_answer("invalid_cursor", "invalid_sha256")
def list_calls(args):
    """Whistle calls one may see, newest first, filtered; keyset pagination"""
    actor = ctx.current_actor()
    filters = queries.CallFilters(
        status=tuple(args["status"]), township_id=args["township_id"],
        department_id=args["department_id"], kind=args["kind"], overdue=args["overdue"],
        raised_from=args["raised_from"], raised_to=args["raised_to"])
    now = ctx.request_now()
    page = queries.list_calls(ctx.session(), actor, filters, now=now, limit=args["limit"],
                              cursor=args["cursor"])
    outside = queries.outside_counts(ctx.session(), [c.id for c in page.calls])
    return {"items": [call_view(c, now=now, outside=outside) for c in page.calls],
            "next_cursor": page.next_cursor}


@blp.route("/evaluation", methods=["GET"])
@blp.arguments(s.WhistleEvaluationQuerySchema, location="query")
@blp.response(200, s.WhistleEvaluationSchema)
def evaluation(args):
    """双考评: departments' arrivals, response times and ratings; callers' calls by outcome"""
    return queries.evaluation(ctx.session(), ctx.current_actor(), now=ctx.request_now(), **args)


@blp.route("/<uuid:call_id>", methods=["GET"])
@blp.response(200, s.WhistleCallDetailSchema)
@may_answer("invalid_sha256")
def get_call(call_id: uuid.UUID):
    """One whistle call with its departments' standing, arrivals and joint-action records"""
    return call_view(_load(ctx.current_actor(), call_id), now=ctx.request_now(), detail=True)


@blp.route("/<uuid:call_id>/timeline", methods=["GET"])
@blp.response(200, s.WhistleEventSchema(many=True))
def get_timeline(call_id: uuid.UUID):
    """Every change of the call, oldest first (append-only)"""
    return queries.timeline(ctx.session(), _load(ctx.current_actor(), call_id))


# The judge's and the caller's moves, one endpoint each: (path, view name, OpenAPI summary,
# schema, service function, settings passed besides the body). Each loads the call locked,
# calls the service with the body and answers the call as in GET.
ACTIONS = (
    ("accept", "accept_call",
     "Judge: accept, naming the lead and cooperating departments and both deadlines",
     s.WhistleAcceptSchema, services.accept, lambda: {"limits": _limits()}),
    ("reject", "reject_call", "Judge: reject the call with a reason",
     ReasonSchema, services.reject, dict),
    ("close", "close_call", "The caller closes the call; departments that never arrived stay "
     "absent", s.WhistleCloseSchema, services.close, dict),
    ("ratings", "rate_department",
     "双考评: the caller rates one department 满意 / 基本满意 / 不满意, once",
     s.WhistleRateSchema, services.rate, dict),
    ("unjustified", "mark_unjustified",
     "双考评: a named department marks the call unjustified, with a reason, once",
     s.WhistleUnjustifiedSchema, services.mark_unjustified, dict),
)


# What each action's service may refuse it with (read off the services, for OpenAPI).
REFUSALS = ("illegal_transition", "not_caller", "outside_territory", "stale_version")
CODES_OF_ACTION = {
    "accept": (*REFUSALS, "deadline_already_open", "deadline_window_invalid", "judgement_invalid",
               "overdue_grace_invalid", "reminder_fractions_invalid", "unknown_department"),
    "reject": REFUSALS,
    "close": REFUSALS,
    "ratings": (*REFUSALS, "already_rated", "own_department", "unknown_department"),
    "unjustified": (*REFUSALS, "already_marked", "not_named_department"),
}


def _action_view(path: str, name: str, summary: str, schema, service, settings):  # noqa: ANN001, ANN202
    def view(body, call_id: uuid.UUID):
        actor, now = ctx.current_actor(), ctx.request_now()
        call = queries.get_call_for_update(ctx.session(), actor, call_id)
        service(ctx.session(), actor, call, now=now, **settings(), **body)
        return call_view(call, now=now, detail=True)

    view.__name__, view.__doc__ = name, summary
    view = may_answer(*CODES_OF_ACTION[path])(view)
    return blp.route(f"/<uuid:call_id>/{path}", methods=["POST"])(
        blp.arguments(schema)(blp.response(200, s.WhistleCallDetailSchema)(view)))


for _action in ACTIONS:
    _action_view(*_action)


@blp.route("/<uuid:call_id>/arrivals", methods=["POST"])
@blp.arguments(s.WhistleArrivalSchema)
@blp.response(201, s.WhistleArrivalResultSchema)
@blp.alt_response(200, schema=s.WhistleArrivalResultSchema,
                  description="A retried arrival: the one recorded")
@may_answer("coordinates_outside_china", "idempotency_key_reused", "illegal_transition",
            "invalid_sha256", "not_caller", "not_named_department", "outside_territory",
            "stale_version")
def post_arrival(body, call_id: uuid.UUID):
    """报到: a named department's staff member checks in near the call's place"""
    actor, now = ctx.current_actor(), ctx.request_now()
    call = queries.get_call_for_update(ctx.session(), actor, call_id)
    outcome = services.arrive(
        ctx.session(), actor, call, arrival_id=body["id"], lon=body["lon"], lat=body["lat"],
        accuracy_m=body["accuracy_m"], crs=body["crs"], device_time=body["device_time"],
        now=now)
    return ({"arrival": outcome.record, "flags": outcome.flags, "call": call_view(call, now=now)},
            201 if outcome.created else 200)


@blp.route("/<uuid:call_id>/actions", methods=["POST"])
@blp.arguments(s.WhistleActionSchema)
@blp.response(201, s.WhistleActionResultSchema)
@blp.alt_response(200, schema=s.WhistleActionResultSchema,
                  description="A retried record: the one kept")
@may_answer("idempotency_key_reused", "illegal_transition", "invalid_sha256", "not_caller",
            "not_named_department", "outside_territory", "photo_subject_unsupported",
            "stale_version")
def post_action(body, call_id: uuid.UUID):
    """Joint action: what a named department did, with photos and the result"""
    actor, now = ctx.current_actor(), ctx.request_now()
    call = queries.get_call_for_update(ctx.session(), actor, call_id)
    outcome = services.record_action(
        ctx.session(), actor, call, action_id=body["id"], description=body["description"],
        result=body["result"], photos=body["photos"], device_time=body["device_time"], now=now)
    link_photos(ctx.session(), outcome.record.photos, subject_type="whistle_call",
                subject_id=call.id, user_id=actor.user_id, now=now)
    return ({"action": outcome.record, "call": call_view(call, now=now)},
            201 if outcome.created else 200)
