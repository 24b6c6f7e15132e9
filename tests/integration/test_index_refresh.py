"""Several processes, each with its own grid index, see a change committed by any of them.

Two engines stand for two server hosts; each has its own GridIndexCache. Data is committed
for real (on both databases), then removed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

from geo.crs import CRS
from server.grids.assignment import GridIndexCache, assign_with_index
from server.grids.models import Grid
from server.grids.services import import_grids, retire_grid
from server.org.models import Unit
from server.org.rules import UnitKind
from server.org.services import create_unit

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.concurrency
def test_a_grid_change_on_one_host_reaches_the_index_of_another(app):
    from server.extensions import db

    suffix = uuid.uuid4().hex[:8]
    with app.app_context():
        url = db.engine.url
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    host_a = sa.create_engine(url, **options)
    host_b = sa.create_engine(url, **options)
    cache_a, cache_b = GridIndexCache(), GridIndexCache()
    point = ([120.105], [30.105])  # far from every other test's grids
    try:
        with Session(host_b) as s:
            assert assign_with_index(s, cache_b, *point, tolerance_m=50)[0].basic is None
        with Session(host_a) as s:
            create_unit(s, code=f"D-{suffix}", name="d", kind=UnitKind.DISTRICT,
                        parent_code=None, now=NOW)
            create_unit(s, code=f"T-{suffix}", name="t", kind=UnitKind.TOWNSHIP,
                        parent_code=f"D-{suffix}", now=NOW)
            feature = {"type": "Feature", "geometry": mapping(box(120.1, 30.1, 120.11, 30.11)),
                       "properties": {"code": f"G-{suffix}", "name": "g", "kind": "basic",
                                      "township": f"T-{suffix}"}}
            import_grids(s, {"type": "FeatureCollection", "features": [feature]},
                         crs=CRS.WGS84, repair=False, replace_existing=False,
                         allowed_township_ids=None, now=NOW)
            assert assign_with_index(s, cache_a, *point, tolerance_m=50)[0].basic is not None
            s.commit()
        with Session(host_b) as s:
            found = assign_with_index(s, cache_b, *point, tolerance_m=50)[0]
            assert found.basic_code == f"G-{suffix}"
        with Session(host_a) as s:
            grid = s.scalar(sa.select(Grid).where(Grid.code == f"G-{suffix}"))
            retire_grid(s, grid, now=NOW)
            s.commit()
        with Session(host_b) as s:
            assert assign_with_index(s, cache_b, *point, tolerance_m=50)[0].basic is None
        assert cache_b.rebuilds == 3
    finally:
        with Session(host_a) as s:
            s.execute(sa.delete(Grid).where(Grid.code == f"G-{suffix}"))
            s.execute(sa.delete(Unit).where(Unit.code == f"T-{suffix}"))
            s.execute(sa.delete(Unit).where(Unit.code == f"D-{suffix}"))
            s.commit()
        host_a.dispose()
        host_b.dispose()
