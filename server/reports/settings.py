"""Per-district evaluation settings with history: a past period is judged by the settings in
force on its first day; a change takes effect from a day that has not begun yet or today."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.core.clock import LOCAL_TZ
from server.core.errors import Invalid
from server.core.trail import record_change, snapshot
from server.reports.access import settings_district_for
from server.reports.models import EvaluationSettingsRow
from server.reports.periods import Period
from server.reports.scoring import DEFAULT_SETTINGS, EvaluationSettings, settings_problems

BP = Decimal(100)  # basis points per percent
PERMILLE = Decimal(1000)


@dataclass(frozen=True)
class SettingsVersion:
    """One entry of a district's history; ``row`` None is the built-in default."""

    settings: EvaluationSettings
    effective_from: date | None
    row: EvaluationSettingsRow | None


def to_settings(row: EvaluationSettingsRow) -> EvaluationSettings:
    return EvaluationSettings(
        response_weight=Decimal(row.response_weight_bp) / BP,
        resolution_weight=Decimal(row.resolution_weight_bp) / BP,
        satisfaction_weight=Decimal(row.satisfaction_weight_bp) / BP,
        basic_weight=Decimal(row.basic_weight_permille) / PERMILLE,
        bottom_townships=row.bottom_townships,
        bottom_departments=row.bottom_departments,
    )


def settings_for(session: Session, *, district_id: uuid.UUID | None,
                 period: Period) -> EvaluationSettings:
    """The settings in force on the period's first day (the default if none was set)."""
    if district_id is None:
        return DEFAULT_SETTINGS
    row = session.scalars(
        sa.select(EvaluationSettingsRow)
        .where(EvaluationSettingsRow.district_id == district_id,
               EvaluationSettingsRow.effective_from <= period.first)
        .order_by(EvaluationSettingsRow.effective_from.desc(),
                  EvaluationSettingsRow.set_at.desc())
        .limit(1)
    ).first()
    return DEFAULT_SETTINGS if row is None else to_settings(row)


def history(session: Session, *, district_id: uuid.UUID) -> list[SettingsVersion]:
    """The default first, then every change in the order it takes effect."""
    rows = session.scalars(
        sa.select(EvaluationSettingsRow)
        .where(EvaluationSettingsRow.district_id == district_id)
        .order_by(EvaluationSettingsRow.effective_from, EvaluationSettingsRow.set_at)
    ).all()
    return [SettingsVersion(DEFAULT_SETTINGS, None, None),
            *(SettingsVersion(to_settings(r), r.effective_from, r) for r in rows)]


def current(session: Session, actor: Actor, *, district_id: uuid.UUID,
            now: datetime) -> tuple[EvaluationSettings, list[SettingsVersion]]:
    """What is in force today, and the history (for anyone who sees the district)."""
    settings_district_for(session, actor, district_id, edit=False)
    today = now.astimezone(LOCAL_TZ).date()
    versions = history(session, district_id=district_id)
    in_force = [v for v in versions if v.effective_from is None or v.effective_from <= today]
    return in_force[-1].settings, versions


def change_settings(session: Session, actor: Actor, *, district_id: uuid.UUID,
                    settings: EvaluationSettings, effective_from: date | None,
                    note: str | None, now: datetime) -> EvaluationSettingsRow:
    """Put new settings in force from ``effective_from`` (default: today, Beijing time).

    Admins and the district's own dispatchers only. A day already past is refused: a closed
    period must keep the numbers it was published with.
    """
    settings_district_for(session, actor, district_id, edit=True)
    today = now.astimezone(LOCAL_TZ).date()
    effective_from = effective_from or today
    problems = settings_problems(settings)
    if effective_from < today:
        problems["effective_from"] = (f"Settings take effect today ({today}) or later; past "
                                      "periods keep the settings they were judged by.")
    if problems:
        raise Invalid("These settings cannot be used.", code="invalid_settings",
                      errors={"json": {k: [v] for k, v in problems.items()}})
    before = [v.settings for v in history(session, district_id=district_id)
              if v.effective_from is None or v.effective_from <= effective_from][-1]
    row = EvaluationSettingsRow(
        district_id=district_id, effective_from=effective_from,
        response_weight_bp=_scaled(settings.response_weight, BP, "response_weight"),
        resolution_weight_bp=_scaled(settings.resolution_weight, BP, "resolution_weight"),
        satisfaction_weight_bp=_scaled(settings.satisfaction_weight, BP, "satisfaction_weight"),
        basic_weight_permille=_scaled(settings.basic_weight, PERMILLE, "basic_weight"),
        bottom_townships=settings.bottom_townships,
        bottom_departments=settings.bottom_departments,
        note=note, set_at=now, set_by_user_id=actor.user_id)
    session.add(row)
    session.flush()
    record_change(session, actor, "evaluation_settings.changed", district_id,
                  before=snapshot(before), after={**snapshot(settings),
                  "effective_from": effective_from}, note=note, now=now)
    return row


def _scaled(value: Decimal, factor: Decimal, field: str) -> int:
    scaled = value * factor
    if scaled != scaled.to_integral_value():
        raise Invalid.for_field(field, f"At most {len(str(int(factor))) - 1} decimals.",
                                code="invalid_settings")
    return int(scaled)
