"""Phones of one scope group pulling at the same moment (PostGIS, real commits, one thread
per phone): each gets exactly the change, the group writes it once, nobody waits forever."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from server.catalogue.models import CatalogueItem
from server.core.clock import now_utc
from server.extensions import db
from sync.feed import DeviceGroup, ScopeGroup
from tests.fixtures.world import PASSWORD, build_world
from tests.integration.test_sync_pull_concurrency import _wait_until_finished

PHONES = 6


def _sync(client, headers, cursor):  # noqa: ANN001, ANN202
    """Pull until has_more is false: (cursor, catalogue ids created, any other change)."""
    created: set[str] = set()
    other = False
    while True:
        answer = client.post("/api/v1/sync/pull", json={"cursor": cursor}, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        for table, change in body["changes"].items():
            if table == "catalogue_items":
                created |= {r["id"] for r in change["created"]}
                other = other or bool(change["updated"] or change["deleted"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return cursor, created, other


@pytest.mark.concurrency
def test_phones_of_one_group_pulling_at_once_share_one_new_version(committing_postgis_app):
    app = committing_postgis_app
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        client = app.test_client()
        phones = []
        for _ in range(PHONES):
            token = client.post("/api/v1/auth/login", json={
                "username": "t1.worker", "password": PASSWORD,
                "device_id": str(uuid.uuid4())}).get_json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            phones.append([headers, _sync(client, headers, None)[0]])
        group = db.session.scalar(sa.select(DeviceGroup.group_id).where(
            DeviceGroup.table_name == "catalogue_items").limit(1))
        version = db.session.get(ScopeGroup, group).version
        now = now_utc()
        items = [CatalogueItem(code=f"98.{n:02d}", name=f"新事项 {n}", cooperating=[],
                               returnable=True, active=True, created_at=now, updated_at=now)
                 for n in range(3)]
        db.session.add_all(items)
        db.session.commit()
        expected = {str(i.id) for i in items}
        txid = db.session.scalar(sa.text("SELECT pg_current_xact_id()::text::bigint"))
        db.session.commit()
        _wait_until_finished(txid)

    results: list[tuple[set[str], bool] | BaseException] = [None] * PHONES  # type: ignore[list-item]
    start = threading.Barrier(PHONES)

    def phone(n: int) -> None:
        try:
            with app.app_context():
                headers, cursor = phones[n]
                start.wait(timeout=30)
                _, created, other = _sync(app.test_client(), headers, cursor)
                results[n] = (created, other)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[n] = exc

    threads = [threading.Thread(target=phone, args=(n,)) for n in range(PHONES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not t.is_alive() for t in threads), "a pull never finished"
    assert results == [(expected, False)] * PHONES
    with app.app_context():
        assert db.session.get(ScopeGroup, group).version == version + 1
        versions = set(db.session.scalars(sa.select(DeviceGroup.version).where(
            DeviceGroup.group_id == group)))
        assert versions == {version + 1}
