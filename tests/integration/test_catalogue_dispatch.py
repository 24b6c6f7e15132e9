"""plan_dispatch and the import service on both databases: resolution, None cases, query counts."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from shapely.geometry import box

from geo.crs import CRS
from server.catalogue.formats import read_json_items
from server.catalogue.queries import get_item, plan_dispatch
from server.catalogue.services import import_catalogue
from server.core.errors import NotFound
from server.grids.services import import_grids
from server.org.rules import UnitKind
from server.org.services import create_unit
from tests.fixtures.world import NOW, grid_feature

CITY = "department:city_management"
MARKET = "department:market_supervision"


def item(code: str, lead: str | None = "territorial", *cooperating: str, **extra) -> dict:  # noqa: ANN003
    limits = {"response_limit_hours": 24, "completion_limit_hours": 168} if lead else {}
    return {"code": code, "name": f"事项{code}", "lead": lead, "cooperating": list(cooperating),
            **limits, **extra}


ITEMS = [
    item("01", None),
    item("01.01", "territorial", CITY, "unit:D1-SCJG"),
    item("01.02", CITY, "territorial", MARKET),
    item("01.03", "unit:D1-SCJG", "territorial"),
    item("01.04", "territorial", active=False),
    # The same units named twice over: by kind and by code.
    item("01.05", CITY, "unit:D1-CGZF", MARKET, "unit:D1-SCJG", "territorial"),
    item("01.06", MARKET, response_limit_hours=0.5, completion_limit_hours=12, returnable=False),
]


@contextmanager
def count_queries(session) -> Iterator[list[str]]:  # noqa: ANN001
    statements: list[str] = []
    connection = session.connection()

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ANN002
        statements.append(statement)

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)


@pytest.fixture
def catalogue(world, db_session):  # noqa: ANN001, ANN201
    import_catalogue(db_session, read_json_items(ITEMS), replace_all=False, now=NOW)
    return world


def unit_ids(world, *codes: str) -> tuple:  # noqa: ANN001
    return tuple(world.units[c].id for c in codes)


def test_territorial_lead_is_the_township_of_the_grid(catalogue, db_session):
    t1 = catalogue.units["T1"].id
    plan = plan_dispatch(db_session, "01.01", t1)
    assert plan.lead_unit_id == t1
    assert plan.cooperating_unit_ids == unit_ids(catalogue, "D1-CGZF", "D1-SCJG")
    assert (plan.item_code, plan.item_name) == ("01.01", "事项01.01")
    assert plan.response_limit == timedelta(hours=24)
    assert plan.completion_limit == timedelta(days=7)
    assert plan.returnable is True


def test_a_department_lead_is_that_kind_of_department_in_the_townships_district(
    catalogue, db_session
):
    for township in ("T1", "T2"):
        plan = plan_dispatch(db_session, "01.02", catalogue.units[township].id)
        assert plan.lead_unit_id == catalogue.units["D1-CGZF"].id
        assert plan.cooperating_unit_ids == unit_ids(catalogue, township, "D1-SCJG")


def test_a_named_unit_leads_wherever_the_case_is(catalogue, db_session, caplog, monkeypatch):
    # migrations/env.py's fileConfig() disables loggers that exist when the test schema is
    # built (disable_existing_loggers defaults to True); this test needs ours.
    monkeypatch.setattr(logging.getLogger("server.catalogue.queries"), "disabled", False)
    plan = plan_dispatch(db_session, "01.03", catalogue.units["T2"].id)
    assert plan.lead_unit_id == catalogue.units["D1-SCJG"].id
    assert plan.cooperating_unit_ids == unit_ids(catalogue, "T2")
    with caplog.at_level(logging.WARNING, logger="server.catalogue.queries"):
        plan = plan_dispatch(db_session, "01.03", None)
    # No grid, no township: the territorial cooperating unit is skipped, and logged.
    assert plan.lead_unit_id == catalogue.units["D1-SCJG"].id
    assert plan.cooperating_unit_ids == ()
    assert "cooperating territorial not resolved" in caplog.text


def test_cooperating_units_exclude_the_lead_and_repeat_no_unit(catalogue, db_session):
    plan = plan_dispatch(db_session, "01.05", catalogue.units["T1"].id)
    assert plan.lead_unit_id == catalogue.units["D1-CGZF"].id
    assert plan.cooperating_unit_ids == unit_ids(catalogue, "D1-SCJG", "T1")


def test_limits_in_fractions_of_hours_and_no_returns(catalogue, db_session):
    plan = plan_dispatch(db_session, "01.06", catalogue.units["T1"].id)
    assert plan.response_limit == timedelta(minutes=30)
    assert plan.returnable is False


@pytest.mark.parametrize(
    ("code", "township"),
    [
        ("99", "T1"),  # unknown item
        ("01", "T1"),  # a category without a lead
        ("01.04", "T1"),  # inactive
        ("01.01", None),  # territorial, but the case has no grid
        ("01.02", None),  # department, but no township to find the district
        ("01.02", "T3"),  # D2 has no city management department
    ],
)
def test_no_plan_sends_the_case_to_triage(catalogue, db_session, code, township):
    township_id = catalogue.units[township].id if township else None
    assert plan_dispatch(db_session, code, township_id) is None


def test_a_departments_outpost_in_the_township_comes_first(catalogue, db_session):
    outpost = create_unit(db_session, code="T1-CGZF", name="街道综合执法队",
                          kind=UnitKind.DEPARTMENT, parent_code="T1",
                          department_kind="city_management", now=NOW)
    assert plan_dispatch(db_session, "01.02", catalogue.units["T1"].id).lead_unit_id == outpost.id
    assert (plan_dispatch(db_session, "01.02", catalogue.units["T2"].id).lead_unit_id
            == catalogue.units["D1-CGZF"].id)


def test_plan_dispatch_takes_at_most_two_queries(catalogue, db_session):
    t1 = catalogue.units["T1"].id
    db_session.expire_all()
    with count_queries(db_session) as statements:
        plan_dispatch(db_session, "01.05", t1)  # department and unit tokens: two queries
    assert len(statements) == 2, statements
    with count_queries(db_session) as statements:
        plan_dispatch(db_session, "01.01", None)  # territorial lead, no township: the item alone
        plan_dispatch(db_session, "01.04", t1)  # inactive: the item alone
    assert len(statements) == 2, statements


def test_get_item_of_an_unknown_code_is_unknown_category(catalogue, db_session):
    assert get_item(db_session, "01.02").lead == CITY
    with pytest.raises(NotFound) as error:
        get_item(db_session, "42")
    assert error.value.code == "unknown_category"


def test_import_reads_the_same_few_times_whatever_the_size(world, db_session):
    def selects(n: int, start: int) -> int:
        rows = [item(f"{start + i:02d}", "unit:D1-CC", "territorial", CITY) for i in range(n)]
        with count_queries(db_session) as statements:
            import_catalogue(db_session, read_json_items(rows), replace_all=False, now=NOW)
        return sum(s.lstrip().upper().startswith("SELECT") for s in statements)

    assert selects(5, 10) == selects(400, 100) <= 3


def test_a_special_grid_owner_resolves_from_the_cases_special_grids(world, db_session, caplog):
    market = grid_feature("T2-S1", "T2", box(116.401, 39.901, 116.402, 39.902), kind="special",
                          owner_unit="D1-SCJG", special_kind="market")  # not where the case is
    import_grids(db_session, {"type": "FeatureCollection", "features": [market]}, crs=CRS.WGS84,
                 repair=False, replace_existing=False, allowed_township_ids=None, now=NOW)
    import_catalogue(db_session, read_json_items([
        item("07", None),
        item("07.01", "special_grid_owner:school", "territorial", "special_grid_owner:market"),
    ]), replace_all=False, now=NOW)
    t1, school = world.units["T1"].id, world.units["T1-SCH"].id
    special = [world.grids["T1-S1"].id]
    with count_queries(db_session) as statements:
        plan = plan_dispatch(db_session, "07.01", t1, special_grid_ids=special)
    assert (plan.lead_unit_id, plan.cooperating_unit_ids) == (school, (t1,))
    assert len(statements) == 2  # the item, then the special grids (no unit is named by code)
    assert "special_grid_owner:market not resolved" in caplog.text  # no market grid: skipped
    assert plan_dispatch(db_session, "07.01", t1, special_grid_ids=[]) is None
    # The lead needs no township: the special grid names its owner wherever the case is.
    assert plan_dispatch(db_session, "07.01", None, special_grid_ids=special).lead_unit_id == school
