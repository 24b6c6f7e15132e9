"""``gridops report``: a district's monthly pack (月度通报材料) written to a folder.

Each table of the month — rankings, each township's scores, unit stats, hotspots, 双否,
whistle 双考评, tracked problems, the monthly trend with its chart — as CSV (UTF-8 with BOM)
and XLSX, the grid-count choropleth as GeoJSON, and ``index.html`` / ``index.json`` listing
every file with its title. The pack reads the same functions the API answers with, so a
figure in the pack is the figure on the screen.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from server.api.tables import table_csv
from server.api.xlsx import table_xlsx
from server.org.models import Unit
from server.reports.choropleth import grid_counts_geojson
from server.reports.pack_tables import SECTIONS
from server.reports.periods import Period


@dataclass
class PackFile:
    title: str
    files: list[str]
    rows: int | None = None  # table rows / features


@dataclass
class Pack:
    district: Unit
    period: Period
    generated_at: datetime
    entries: list[PackFile] = field(default_factory=list)


def write_pack(session: Session, district: Unit, period: Period, out: Path, *,
               now: datetime) -> Pack:
    """Write every section's tables, the choropleth and the index into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    pack = Pack(district, period, now)
    number = 0
    for section in SECTIONS:
        for table in section(session, district, period, now):
            number += 1
            stem = f"{number:02d}-{table.name}"
            (out / f"{stem}.csv").write_bytes(table_csv(table))
            (out / f"{stem}.xlsx").write_bytes(table_xlsx(table))
            pack.entries.append(PackFile(table.title, [f"{stem}.csv", f"{stem}.xlsx"],
                                         len(table.rows)))
    number += 1
    doc = grid_counts_geojson(session, area=district, period=period)
    name = f"{number:02d}-{doc['name']}.geojson"
    (out / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    title = f"{period.label} {district.name} 各网格案件量 (GeoJSON, WGS-84)"
    pack.entries.append(PackFile(title, [name], len(doc["features"])))
    _write_index(pack, out)
    return pack


def _write_index(pack: Pack, out: Path) -> None:
    title = f"{pack.district.name} {pack.period.label} 月度通报材料"
    (out / "index.json").write_text(json.dumps({
        "title": title,
        "district": {"id": str(pack.district.id), "code": pack.district.code,
                     "name": pack.district.name},
        "period": pack.period.label,
        "generated_at": pack.generated_at.isoformat(),
        "files": [{"title": e.title, "files": e.files, "rows": e.rows} for e in pack.entries],
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    items = "\n".join(
        f"<tr><td>{html.escape(e.title)}</td><td>{e.rows if e.rows is not None else ''}</td>"
        f"<td>{' · '.join(_link(f) for f in e.files)}</td></tr>" for e in pack.entries)
    (out / "index.html").write_text(
        f"<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title></head><body>\n<h1>{html.escape(title)}</h1>\n"
        f"<p>生成于 {pack.generated_at.isoformat()} (UTC)</p>\n"
        f"<table border=\"1\" cellpadding=\"4\"><tr><th>内容</th><th>行数</th><th>文件</th></tr>\n"
        f"{items}\n</table></body></html>\n", encoding="utf-8")


def _link(name: str) -> str:
    return f"<a href=\"{html.escape(name)}\">{html.escape(name.rsplit('.', 1)[1].upper())}</a>"
