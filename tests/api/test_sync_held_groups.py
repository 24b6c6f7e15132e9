"""Reference data held per scope group: what phones receive is unchanged (every phone of a
scope, behind or ahead of its group, gets exactly its own changes; a worker moved to another
township drops the old township's records and gets the new one's), and the server keeps the
shared rows once (SQLite and PostGIS)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from server.catalogue.models import CatalogueItem
from server.core.clock import now_utc
from server.grids.models import GridMember
from server.grids.services import add_grid_member
from sync import feed
from sync.feed import DeviceGroup, GroupRecord, HeldRecord, ScopeGroup
from tests.api.test_sync_pull import Phone, changed

GROUPED = ("units", "grids", "catalogue_items")


def _groups(db_session, phone: Phone) -> dict[str, uuid.UUID]:  # noqa: ANN001
    rows = db_session.execute(sa.select(DeviceGroup.table_name, DeviceGroup.group_id).where(
        DeviceGroup.device_id == uuid.UUID(phone.device_id)))
    return dict(rows.all())


def _own_rows(db_session, phone: Phone) -> dict[str, int]:  # noqa: ANN001
    return dict(db_session.execute(
        sa.select(HeldRecord.table_name, sa.func.count())
        .where(HeldRecord.device_id == uuid.UUID(phone.device_id))
        .group_by(HeldRecord.table_name)).all())


def changed_any(answer: dict) -> bool:
    return any(c["created"] or c["updated"] or c["deleted"] for c in answer["changes"].values())


def _status_held(client, phone: Phone) -> dict[str, int]:  # noqa: ANN001
    response = client.get("/api/v1/sync/status", headers=phone.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["held"]


def _new_item(db_session, code: str) -> CatalogueItem:  # noqa: ANN001
    template = db_session.scalar(sa.select(CatalogueItem).where(CatalogueItem.code == "03.01"))
    item = CatalogueItem(code=code, parent_code=template.parent_code, name=f"新事项 {code}",
                         lead=template.lead, cooperating=[], returnable=True, active=True,
                         response_limit_minutes=template.response_limit_minutes,
                         completion_limit_minutes=template.completion_limit_minutes,
                         created_at=now_utc(), updated_at=now_utc())
    db_session.add(item)
    db_session.flush()
    return item


def test_phones_of_one_scope_share_its_reference_rows(client, world, login, file_case,
                                                      db_session):
    file_case()
    first, second = Phone(client, login, "t1.worker"), Phone(client, login, "t1.worker")
    first.sync()
    second.sync()
    assert first.db == second.db
    # Their own rows are their cases and events only; the reference rows are kept once.
    for phone in (first, second):
        assert set(_own_rows(db_session, phone)) == {"cases", "case_events"}
    assert _groups(db_session, first) == _groups(db_session, second)
    assert set(_groups(db_session, first)) == set(GROUPED)
    catalogue = _groups(db_session, first)["catalogue_items"]
    kept = db_session.scalar(sa.select(sa.func.count()).select_from(GroupRecord)
                             .where(GroupRecord.group_id == catalogue))
    assert kept == len(first.db["catalogue_items"]) > 0
    # The status counts what the phone holds, as before.
    assert _status_held(client, first) == {t: len(r) for t, r in first.db.items()}
    # Nothing of a batch stays behind once the phone confirmed its last page.
    assert not changed_any(first.pull())
    assert db_session.scalar(sa.select(sa.func.count()).select_from(feed.PendingRecord).where(
        feed.PendingRecord.device_id == uuid.UUID(first.device_id))) == 0


def test_a_phone_behind_its_group_gets_exactly_its_own_changes(client, world, login,
                                                               file_case, db_session):
    file_case()  # loads the catalogue
    ahead, behind = Phone(client, login, "t1.worker"), Phone(client, login, "t1.worker")
    ahead.sync()
    behind.sync()
    first = _new_item(db_session, "99.01")
    gone = db_session.scalar(sa.select(CatalogueItem).where(CatalogueItem.code == "03.01"))
    gone.active = False
    db_session.flush()
    assert changed(ahead.sync()) == {"catalogue_items": {"created": {str(first.id)},
                                                         "deleted": {str(gone.id)}}}
    second = _new_item(db_session, "99.02")
    first.name = "改名的事项"
    db_session.flush()
    assert changed(ahead.sync()) == {"catalogue_items": {"created": {str(second.id)},
                                                         "updated": {str(first.id)}}}
    # Two versions behind: both creations, the deactivation, nothing "updated" it lacks.
    assert changed(behind.sync()) == {"catalogue_items": {"created": {str(first.id),
                                                                      str(second.id)},
                                                          "deleted": {str(gone.id)}}}
    assert behind.db == ahead.db
    assert behind.db["catalogue_items"][str(first.id)]["name"] == "改名的事项"
    # One group, two versions written; both phones hold the latest.
    group = _groups(db_session, ahead)["catalogue_items"]
    assert _groups(db_session, behind)["catalogue_items"] == group
    assert db_session.get(ScopeGroup, group).version == 3  # first sync, then two changes
    versions = set(db_session.scalars(sa.select(DeviceGroup.version).where(
        DeviceGroup.group_id == group)))
    assert versions == {3}
    # Housekeeping forgets the row no phone holds any more (the deactivated item).
    feed.prune_groups(db_session)
    kept = set(db_session.scalars(sa.select(GroupRecord.row_id)
                                  .where(GroupRecord.group_id == group)))
    assert kept == {uuid.UUID(i) for i in ahead.db["catalogue_items"]}
    reinstated = Phone(client, login, "t1.worker")
    reinstated.sync()
    assert reinstated.db == ahead.db


def test_a_worker_moved_to_another_township_swaps_its_reference_data(client, world, login,
                                                                     file_case, db_session):
    file_case()
    moved = Phone(client, login, "t1.worker")
    moved.sync()
    local = Phone(client, login, "t2.worker")
    local.sync()
    before = {t: set(moved.db[t]) for t in GROUPED}
    worker = world.users["t1.worker"]
    for code in ("T1-A1", "T1-A2"):
        db_session.delete(db_session.get(GridMember, (world.grids[code].id, worker.id)))
    add_grid_member(db_session, world.grids["T2-A1"], worker, now=now_utc())
    db_session.flush()
    seen = changed(moved.sync())
    for table in ("units", "grids"):
        assert seen[table]["deleted"] == before[table] - set(local.db[table])
        assert seen[table]["created"] == set(local.db[table]) - before[table]
    assert "catalogue_items" not in seen  # the same for everyone
    assert moved.db["cases"] == {}
    # It now holds what a T2 worker of the same grid holds, from the same groups.
    for table in GROUPED:
        assert moved.db[table] == local.db[table]
    assert _groups(db_session, moved) == _groups(db_session, local)
    fresh = Phone(client, login, "t1.worker")
    fresh.sync()
    assert fresh.db == moved.db


def test_a_phone_starting_over_leaves_no_group_behind(client, world, login, file_case,
                                                     db_session):
    file_case()
    phone = Phone(client, login, "t2.worker")
    phone.sync()
    groups = _groups(db_session, phone)
    answer = phone.pull(cursor=None)  # the phone forgot everything: a fresh first sync
    assert answer["changes"]["catalogue_items"]["created"]
    assert _groups(db_session, phone) == groups  # the same groups, nothing written twice
    db_session.execute(sa.delete(DeviceGroup).where(
        DeviceGroup.device_id == uuid.UUID(phone.device_id)))
    feed.prune_groups(db_session)
    left = set(db_session.scalars(sa.select(ScopeGroup.id).where(
        ScopeGroup.id.in_(list(groups.values())))))
    assert left == set()  # no phone refers to them any more
    again = Phone(client, login, "t2.worker")
    again.sync()
    assert again.db == phone.db


def test_a_phone_synced_before_groups_moves_to_its_group_unchanged(client, world, login,
                                                                   file_case, db_session):
    file_case()
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    device = uuid.UUID(phone.device_id)
    # As migration 0026 finds a phone: every record it holds is a row of its own.
    for table, held in phone.db.items():
        if table in GROUPED:
            db_session.add_all(HeldRecord(user_id=world.users["t1.worker"].id, device_id=device,
                                          table_name=table, row_id=uuid.UUID(i)) for i in held)
    db_session.execute(sa.delete(DeviceGroup).where(DeviceGroup.device_id == device))
    db_session.flush()
    item = _new_item(db_session, "99.03")
    assert changed(phone.sync()) == {"catalogue_items": {"created": {str(item.id)}}}
    # Its first pull with anything to send moved every reference table to its group.
    assert set(_own_rows(db_session, phone)) == {"cases", "case_events"}
    assert set(_groups(db_session, phone)) == set(GROUPED)
    other = Phone(client, login, "t1.worker")
    other.sync()
    assert other.db == phone.db
    assert _groups(db_session, other) == _groups(db_session, phone)
