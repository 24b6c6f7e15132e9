"""Open311's read side: the services a resident may report and the requests filed with keys.

Only cases filed through Open311 are ever answered, never a confidential one, and never with
the resident's name, phone, e-mail, device or account (docs/open311.md, privacy).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from server.cases.models import Case
from server.cases.rules import CaseStatus
from server.catalogue.models import CatalogueItem
from server.core.errors import NotFound
from server.core.i18n import _
from server.open311.models import Open311Request
from server.open311.rules import MAX_RESULTS, Window
from server.org.models import Unit


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str | None
    group: str | None  # the parent item's name
    has_attributes: bool = False  # reportable children: a ``subcategory`` attribute
    subcategories: tuple[CatalogueItem, ...] = ()


@dataclass(frozen=True)
class FiledCase:
    case: Case
    request: Open311Request
    service_name: str | None = None
    agency: str | None = None  # the lead unit's name


def _reportable() -> sa.ColumnElement[bool]:
    """A resident may report what the catalogue can dispatch: active items with a lead."""
    return sa.and_(CatalogueItem.active.is_(True), CatalogueItem.lead.is_not(None))


def list_services(session: Session) -> list[Service]:
    parent = aliased(CatalogueItem)
    rows = session.execute(
        sa.select(CatalogueItem, parent.name)
        .outerjoin(parent, parent.code == CatalogueItem.parent_code)
        .where(_reportable()).order_by(CatalogueItem.code)).all()
    with_children = set(session.scalars(
        sa.select(CatalogueItem.parent_code).where(_reportable()).distinct()))
    return [Service(item.code, item.name, item.description, group,
                    has_attributes=item.code in with_children)
            for item, group in rows]


def get_service(session: Session, code: str) -> Service:
    """One reportable item with its reportable children (404 ``unknown_service``)."""
    parent = aliased(CatalogueItem)
    row = session.execute(
        sa.select(CatalogueItem, parent.name)
        .outerjoin(parent, parent.code == CatalogueItem.parent_code)
        .where(_reportable(), CatalogueItem.code == code)).first()
    if row is None:
        raise NotFound(_("No service has code '{code}'.").format(code=code),
                       code="unknown_service")
    item, group = row
    children = tuple(subcategories(session, code))
    return Service(item.code, item.name, item.description, group,
                   has_attributes=bool(children), subcategories=children)


def subcategories(session: Session, code: str) -> list[CatalogueItem]:
    return list(session.scalars(sa.select(CatalogueItem).where(
        _reportable(), CatalogueItem.parent_code == code).order_by(CatalogueItem.code)))


def filed_with_retry_id(session: Session, client_request_id: str, *,
                        since: datetime) -> FiledCase | None:
    row = session.execute(
        sa.select(Case, Open311Request).join(Open311Request, Open311Request.case_id == Case.id)
        .where(Case.client_request_id == client_request_id, Case.received_at >= since)).first()
    return FiledCase(*row) if row else None


def _filed() -> sa.Select:
    lead = aliased(Unit)
    return (sa.select(Case, Open311Request, CatalogueItem.name, lead.name)
            .join(Open311Request, Open311Request.case_id == Case.id)
            .outerjoin(CatalogueItem, CatalogueItem.code == Case.category_code)
            .outerjoin(lead, lead.id == Case.lead_unit_id)
            .where(Case.confidential.is_(False)))


def find_requests(session: Session, *, numbers: Sequence[str] | None = None,
                  service_codes: Iterable[str] | None = None, window: Window | None = None,
                  statuses: Iterable[CaseStatus] | None = None) -> list[FiledCase]:
    """The spec's GET requests: ``numbers`` (service_request_id) overrides every other
    filter; otherwise requested in ``window``, newest first, at most 1,000."""
    query = _filed()
    if numbers is not None:
        query = query.where(Case.number.in_(list(numbers)))
    else:
        if service_codes:
            query = query.where(Case.category_code.in_(list(service_codes)))
        if window is not None:
            query = query.where(Case.received_at >= window.start,
                                Case.received_at <= window.end)
        if statuses is not None:
            query = query.where(Case.status.in_(list(statuses)))
    query = query.order_by(Case.received_at.desc(), Case.number.desc()).limit(MAX_RESULTS)
    return [FiledCase(*row) for row in session.execute(query).all()]


def get_request(session: Session, number: str) -> FiledCase:
    row = session.execute(_filed().where(Case.number == number)).first()
    if row is None:
        raise NotFound(_("No service request has id '{id}'.").format(id=number),
                       code="unknown_service_request")
    return FiledCase(*row)


def by_token(session: Session, token: str) -> FiledCase:
    row = session.execute(_filed().where(Open311Request.token == token)).first()
    if row is None:
        raise NotFound(_("No service request has token '{token}'.").format(token=token),
                       code="unknown_token")
    return FiledCase(*row)
