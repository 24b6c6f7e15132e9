"""Who may see which unit's evaluation (server/reports/access.py), on both databases."""

from __future__ import annotations

import pytest

from server.auth.actor import Actor
from server.core.errors import NotFound, PermissionDenied
from server.org.rules import UnitKind
from server.org.services import create_unit
from server.reports.access import (
    RankingKind,
    TargetKind,
    ranking_district_for,
    settings_district_for,
    target_for,
)
from tests.fixtures.world import NOW


def actor_of(world, username: str) -> Actor:  # noqa: ANN001
    user = world.users[username]
    return Actor(user_id=user.id, username=user.username, unit_id=user.unit_id,
                 unit_path=user.unit.path, roles=user.roles)


@pytest.fixture
def outpost(world, db_session):  # noqa: ANN001, ANN201
    """T1's city-management outpost (执法队), rolled up to district department D1-CGZF."""
    return create_unit(db_session, code="T1-CGZF", name="T1 城管执法队", kind=UnitKind.DEPARTMENT,
                       parent_code="T1", department_kind="city_management", now=NOW)


def sees(db_session, world, username: str, unit_id) -> bool:  # noqa: ANN001
    try:
        target_for(db_session, actor_of(world, username), unit_id)
    except NotFound:
        return False
    return True


def test_scope_of_each_role(world, db_session, outpost) -> None:  # noqa: ANN001
    u, g = world.units, world.grids
    expected = {
        "admin": {"D1", "T1", "T1-C1", "T2", "D1-CGZF", "D2", "T3", "grid"},
        "auditor": {"D1", "T1", "T1-C1", "T2", "D1-CGZF", "D2", "T3", "grid"},
        "d1.dispatcher": {"D1", "T1", "T1-C1", "T2", "D1-CGZF", "grid"},
        "t1.dispatcher": {"T1", "T1-C1", "grid"},
        "t1.leader": {"T1", "T1-C1", "grid"},
        "t2.dispatcher": {"T2"},
        "d1.staff": {"D1-CGZF"},
        "d1.handler": set(),
        "d2.dispatcher": {"D2", "T3"},
    }
    ids = {code: u[code].id for code in ("D1", "T1", "T1-C1", "T2", "D1-CGZF", "D2", "T3")}
    ids["grid"] = g["T1-A1"].id
    for username, visible in expected.items():
        got = {code for code, unit_id in ids.items() if sees(db_session, world, username, unit_id)}
        assert got == visible, username
    # The district department's people see its outpost; the township's people do not.
    assert sees(db_session, world, "d1.staff", outpost.id)
    assert not sees(db_session, world, "t1.dispatcher", outpost.id)
    assert not sees(db_session, world, "d1.handler", outpost.id)
    assert target_for(db_session, actor_of(world, "admin"), g["T1-A1"].id).kind is TargetKind.GRID


def test_grid_workers_are_refused(world, db_session) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        target_for(db_session, actor_of(world, "t1.worker"), world.units["T1"].id)
    with pytest.raises(PermissionDenied):
        ranking_district_for(db_session, actor_of(world, "t1.worker"), world.units["D1"].id,
                             RankingKind.TOWNSHIP)


def test_rankings_are_public_within_the_district(world, db_session) -> None:  # noqa: ANN001
    d1 = world.units["D1"].id
    for username, kind, ok in [
        ("d1.dispatcher", RankingKind.TOWNSHIP, True),
        ("d1.dispatcher", RankingKind.DEPARTMENT, True),
        ("t2.dispatcher", RankingKind.TOWNSHIP, True),
        ("t2.dispatcher", RankingKind.DEPARTMENT, False),
        ("d1.staff", RankingKind.DEPARTMENT, True),
        ("d1.staff", RankingKind.TOWNSHIP, False),
        ("d2.dispatcher", RankingKind.TOWNSHIP, False),
        ("auditor", RankingKind.DEPARTMENT, True),
    ]:
        try:
            ranking_district_for(db_session, actor_of(world, username), d1, kind)
            assert ok, (username, kind)
        except NotFound:
            assert not ok, (username, kind)


def test_settings_are_edited_by_the_district_not_the_judged(world, db_session) -> None:  # noqa: ANN001
    d1 = world.units["D1"].id
    settings_district_for(db_session, actor_of(world, "d1.dispatcher"), d1, edit=True)
    settings_district_for(db_session, actor_of(world, "admin"), d1, edit=True)
    settings_district_for(db_session, actor_of(world, "t1.dispatcher"), d1, edit=False)
    for username in ("t1.dispatcher", "d1.staff", "auditor"):
        with pytest.raises(PermissionDenied):
            settings_district_for(db_session, actor_of(world, username), d1, edit=True)
    with pytest.raises(NotFound):
        settings_district_for(db_session, actor_of(world, "d2.dispatcher"), d1, edit=False)
