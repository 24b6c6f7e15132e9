"""``gridops report``: the district's monthly pack written to a folder, through Flask's CLI."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from server.cases.models import Case
from tests.fixtures.cases import IN_T1_A1, IN_T1_B2

MID_NOV = datetime(2026, 11, 15, 2, 0, tzinfo=UTC)


def _run(app, *args):  # noqa: ANN001, ANN002, ANN202
    return app.test_cli_runner().invoke(args=["report", *args])


def test_the_pack_lists_every_file_it_wrote(app, world, file_case, db_session, tmp_path):
    for at in (IN_T1_A1, IN_T1_A1, IN_T1_B2):
        case = file_case(at=at)
        db_session.execute(sa.update(Case).where(Case.id == uuid.UUID(case["id"]))
                           .values(received_at=MID_NOV))
    db_session.flush()
    out = tmp_path / "pack"
    result = _run(app, "D1", "--month", "2026-11", "--out", str(out))
    assert result.exit_code == 0, result.output

    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert (index["district"]["code"], index["period"]) == ("D1", "2026-11")
    listed = {name for entry in index["files"] for name in entry["files"]}
    assert listed | {"index.json", "index.html"} == {p.name for p in out.iterdir()}
    html = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{name}"' in html for name in listed)

    [geojson] = [n for n in listed if n.endswith(".geojson")]
    doc = json.loads((out / geojson).read_text(encoding="utf-8"))
    counts = {f["properties"]["code"]: f["properties"]["count"] for f in doc["features"]}
    assert (counts["T1-A1"], counts["T1-B2"], counts["T2-A1"]) == (2, 1, 0)


def test_a_bad_month_or_an_unknown_district_is_refused(app, world, tmp_path):
    bad_month = _run(app, "D1", "--month", "2026-13", "--out", str(tmp_path))
    assert bad_month.exit_code == 2
    assert "2026-13" in bad_month.output
    not_a_district = _run(app, "T1", "--month", "2026-11", "--out", str(tmp_path))
    assert not_a_district.exit_code == 1
    assert "No district has code 'T1'" in not_a_district.output
    assert list(tmp_path.iterdir()) == []
