"""``gridops report``: the district's monthly pack written to a folder, through Flask's CLI."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from server.cases.models import Case, CaseRating
from tests.fixtures.cases import IN_T1_A1, IN_T1_B2, act

MID_NOV = datetime(2026, 11, 15, 2, 0, tzinfo=UTC)


def _run(app, *args):  # noqa: ANN001, ANN002, ANN202
    return app.test_cli_runner().invoke(args=["report", *args])


def _rated_in_november(client, login, file_case, db_session, *, at, resolved,  # noqa: ANN001, ANN202
                       satisfaction):
    case = file_case(at=at)
    township, district = login("t1.dispatcher"), login("d1.dispatcher")
    case = act(client, township, case, "accept")
    case = act(client, township, case, "complete", result="已处理")
    act(client, district, case, "callback", resolved=resolved, satisfaction=satisfaction)
    case_id = uuid.UUID(case["id"])
    db_session.execute(sa.update(Case).where(Case.id == case_id).values(received_at=MID_NOV))
    db_session.execute(sa.update(CaseRating).where(CaseRating.case_id == case_id)
                       .values(recorded_at=MID_NOV + timedelta(days=2)))
    return case


def _csv(path):  # noqa: ANN001, ANN202
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_pack_holds_every_table_as_csv_and_xlsx_the_map_and_an_index(
        app, client, world, login, file_case, db_session, tmp_path):
    _rated_in_november(client, login, file_case, db_session, at=IN_T1_A1, resolved=True,
                       satisfaction="satisfied")
    unhappy = _rated_in_november(client, login, file_case, db_session, at=IN_T1_B2,
                                 resolved=False, satisfaction="dissatisfied")
    file_case(at=IN_T1_A1)  # received now (December): not in November's map
    tracked = client.post("/api/v1/tracked-problems", headers=login("d1.dispatcher"), json={
        "title": "占道经营整治", "category_codes": ["01.01"],
        "area_unit_id": str(world.units["T1"].id), "starts_on": "2026-11-01"})
    assert tracked.status_code == 201, tracked.get_json()
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
    titles = [entry["title"] for entry in index["files"]]
    # 2 rankings, 2 townships' scores, unit stats, 3 hotspot tables, 双否, 2 whistle sides,
    # 1 tracked problem, the trend, the map
    assert len(titles) == 14, "\n".join(titles)
    for words in ("街乡排名", "部门排名", "Unit T1 三率", "Unit T2 三率", "单位统计", "双否件",
                  "每月一题:占道经营整治", "GeoJSON"):
        assert any(words in t for t in titles), (words, titles)
    tables = [e for e in index["files"] if not e["files"][0].endswith(".geojson")]
    assert all(sorted(p.rsplit(".", 1)[1] for p in e["files"]) == ["csv", "xlsx"]
               for e in tables)

    def file_of(words: str, ext: str):  # noqa: ANN202
        [entry] = [e for e in index["files"] if words in e["title"]]
        return out / next(f for f in entry["files"] if f.endswith(ext))

    ranking = {r["单位编码"]: r for r in _csv(file_of("街乡排名", ".csv"))}
    assert ranking["T1"]["考核件"] == "2"
    assert ranking["T1"]["解决率"] == "50.00%"
    assert ranking["T1"]["排名"] == "1"
    assert ranking["T2"]["考核件"] == "0"
    t1_scores = {r["单位编码"]: r for r in _csv(file_of("Unit T1 三率", ".csv"))}
    assert (t1_scores["T1"]["满意"], t1_scores["T1"]["不满意"]) == ("1", "1")
    assert [r["工单编号"] for r in _csv(file_of("双否件", ".csv"))] == [unhappy["number"]]
    stats = [r["单位编码"] for r in _csv(file_of("单位统计", ".csv"))]
    assert stats == ["D1", "T1", "T2", "D1-CGZF", "D1-SCJG"]

    trend = load_workbook(file_of("月度三率走势", ".xlsx")).worksheets[0]
    [chart] = trend._charts
    assert len(trend["A"]) == 13  # the header and twelve months, the last 2026-11
    assert trend["A13"].value == "2026-11"
    assert chart.tagname == "lineChart"

    [geojson] = [n for n in listed if n.endswith(".geojson")]
    doc = json.loads((out / geojson).read_text(encoding="utf-8"))
    counts = {f["properties"]["code"]: f["properties"]["count"] for f in doc["features"]}
    assert (counts["T1-A1"], counts["T1-B2"], counts["T2-A1"]) == (1, 1, 0)


def test_a_bad_month_or_an_unknown_district_is_refused(app, world, tmp_path):
    bad_month = _run(app, "D1", "--month", "2026-13", "--out", str(tmp_path))
    assert bad_month.exit_code == 2
    assert "2026-13" in bad_month.output
    not_a_district = _run(app, "T1", "--month", "2026-11", "--out", str(tmp_path))
    assert not_a_district.exit_code == 1
    assert "No district has code 'T1'" in not_a_district.output
    assert list(tmp_path.iterdir()) == []
