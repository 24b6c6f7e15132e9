"""Open311 use cases: issue and revoke keys, check a key, file a resident's request.

A request goes through the one intake service (``server.cases.services.intake``) on the
``internet`` channel, received under the key's unit: it is located, assigned to its grids,
dispatched by the catalogue and queued like any other case.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import hash_token
from server.cases.models import Case
from server.cases.rules import AppealType, Channel
from server.cases.services import IntakeRequest, IntakeResult, intake
from server.core.errors import Invalid, NotFound, PermissionDenied
from server.core.i18n import _
from server.core.ids import new_id, new_secret
from server.grids.assignment import GridIndexCache
from server.open311 import queries
from server.open311.models import Open311Key, Open311Request
from server.open311.rules import SUBCATEGORY, TITLE_SEPARATOR, resident_name, retry_ids
from server.org.models import User
from server.org.rules import Role
from server.org.services import get_unit_by_code

MANAGE_KEYS = frozenset({Role.ADMIN})


class InvalidApiKey(PermissionDenied):
    code = "invalid_api_key"
    message = "The api_key is missing, unknown or revoked."


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    record: Open311Key


@dataclass(frozen=True)
class Submission:
    """A POST requests call, as the resident's client sent it (syntax already checked)."""

    service_code: str
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    address_string: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    media_urls: Sequence[str] = ()
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    raw_fields: Mapping[str, Sequence[str]] = field(default_factory=dict)  # retry identity


@dataclass(frozen=True)
class Filed:
    case: Case
    request: Open311Request
    created: bool


def issue_key(session: Session, actor: Actor | None, *, name: str, unit_code: str,
              now: datetime) -> IssuedKey:
    """A new key for a channel; ``actor`` None is the operator at the command line."""
    if actor is not None:
        actor.require(MANAGE_KEYS, _("manage Open311 keys"))
    unit = get_unit_by_code(session, unit_code)
    raw = new_secret()
    key_id = new_id()
    # The service account that receives the channel's cases: inactive and without a usable
    # password hash, so nobody can sign in as it.
    account = User(username=f"open311-{key_id.hex[:12]}", display_name=f"Open311 · {name}",
                   password_hash="!", unit_id=unit.id, is_active=False, created_at=now)
    session.add(account)
    session.flush()
    record = Open311Key(id=key_id, name=name, key_hash=hash_token(raw), key_prefix=raw[:6],
                        unit_id=unit.id, user_id=account.id, created_at=now,
                        created_by_user_id=actor.user_id if actor else None)
    session.add(record)
    session.flush()
    return IssuedKey(raw, record)


def revoke_key(session: Session, actor: Actor | None, key_id: uuid.UUID, *,
               now: datetime) -> Open311Key:
    if actor is not None:
        actor.require(MANAGE_KEYS, _("manage Open311 keys"))
    record = session.get(Open311Key, key_id)
    if record is None:
        raise NotFound(_("No such Open311 key."), code="unknown_open311_key")
    if record.revoked_at is None:
        record.revoked_at = now
    session.flush()
    return record


def list_keys(session: Session, actor: Actor) -> list[Open311Key]:
    actor.require(MANAGE_KEYS, _("manage Open311 keys"))
    return list(session.scalars(sa.select(Open311Key).order_by(Open311Key.created_at)))


def check_key(session: Session, raw: str | None) -> Open311Key:
    """The live key for ``raw``; 403 ``invalid_api_key`` otherwise (the spec's status)."""
    if not raw:
        raise InvalidApiKey()
    record = session.scalar(sa.select(Open311Key).where(Open311Key.key_hash == hash_token(raw)))
    if record is None or record.revoked_at is not None:
        raise InvalidApiKey()
    return record


def key_actor(session: Session, key: Open311Key) -> Actor:
    """The key acts as a receiver of its unit, and for nothing else."""
    account = session.get_one(User, key.user_id)
    return Actor(user_id=account.id, username=account.username, unit_id=key.unit_id,
                 unit_path=key.unit.path, roles=frozenset({Role.TOWNSHIP_DISPATCHER}))


def file_request(session: Session, key: Open311Key, submission: Submission, *,
                 grid_index: GridIndexCache, tolerance_m: float, retry_window: timedelta,
                 now: datetime) -> Filed:
    """File the resident's request as a case; the same POST again within the window is
    answered with the case it created."""
    current_id, previous_id = retry_ids(key.id.hex, submission.raw_fields, now=now,
                                        window=retry_window)
    earlier = queries.filed_with_retry_id(session, previous_id, since=now - retry_window)
    if earlier is not None:
        return Filed(earlier.case, earlier.request, created=False)
    service = queries.get_service(session, submission.service_code)
    category = _category(session, service.code, submission.attributes)
    if submission.lat is None and submission.lon is None and not submission.address_string:
        raise Invalid(_("Give lat and long, or address_string."), code="location_required")
    try:
        # A savepoint: the same POST sent twice at once meets the unique client_request_id,
        # and the loser answers the winner's case instead of a 500.
        with session.begin_nested():
            result = _intake(session, key, service.name, category, submission, current_id,
                             grid_index=grid_index, tolerance_m=tolerance_m, now=now)
    except IntegrityError:
        twin = queries.filed_with_retry_id(session, current_id, since=now - retry_window)
        if twin is None:
            raise
        return Filed(twin.case, twin.request, created=False)
    if not result.created:
        return Filed(result.case, session.get_one(Open311Request, result.case.id), False)
    record = Open311Request(
        case_id=result.case.id, key_id=key.id, token=uuid.uuid4().hex, email=submission.email,
        device_id=submission.device_id, account_id=submission.account_id,
        attributes={k: list(v) for k, v in submission.attributes.items() if k != SUBCATEGORY},
        requested_at=now)
    session.add(record)
    session.flush()
    return Filed(result.case, record, created=True)


def _intake(session: Session, key: Open311Key, service_name: str, category: str,
            submission: Submission, client_request_id: str, *, grid_index: GridIndexCache,
            tolerance_m: float, now: datetime) -> IntakeResult:
    return intake(
        session, key_actor(session, key),
        IntakeRequest(
            channel=Channel.INTERNET, appeal_type=AppealType.REPORT, title=_title(
                service_name, submission), description=submission.description,
            category_code=category, lon=submission.lon, lat=submission.lat,
            address=(submission.address_string or None) and submission.address_string[:300],
            resident_name=resident_name(submission.first_name, submission.last_name),
            resident_phone=(submission.phone or None) and submission.phone[:30],
            attachments=[{"name": f"media_url {i}", "url": url[:500], "sha256": None,
                          "content_type": None}
                         for i, url in enumerate(submission.media_urls, start=1)],
            client_request_id=client_request_id),
        grid_index=grid_index, tolerance_m=tolerance_m, now=now)


def _category(session: Session, code: str, attributes: Mapping[str, Sequence[str]]) -> str:
    """The service's code, or the child item the resident chose as ``subcategory``."""
    chosen = list(attributes.get(SUBCATEGORY) or ())
    if not chosen or not chosen[0]:
        return code
    allowed = {item.code for item in queries.subcategories(session, code)}
    if chosen[0] not in allowed:
        raise Invalid.for_field(f"attribute[{SUBCATEGORY}]",
                                _("'{value}' is not a subcategory of service {code}.").format(
                                    value=chosen[0], code=code), code="unknown_subcategory")
    return chosen[0]


def _title(service_name: str, submission: Submission) -> str:
    first_line = (submission.description or "").strip().splitlines()[:1]
    return (f"{service_name}{TITLE_SEPARATOR}{first_line[0]}" if first_line
            else service_name)[:200]


