"""A small demo catalogue (34 items) in the shape of a city's list, loaded with the demo district.

Normal items: respond within 24 h, complete within 7 days (Xining's seven days); urgent
ones (heating, gas, lifts, blocked fire lanes) in hours. It goes in through the real import,
so it is checked like any file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from server.catalogue.formats import CatalogueFile
from server.catalogue.services import ImportCounts, import_catalogue

NORMAL = (24, 168)
URGENT = (2, 24)
CITY_MANAGEMENT = "department:city_management"
MARKET = "department:market_supervision"
ENVIRONMENT = "department:ecology_environment"
HOUSING = "department:housing"
EMERGENCY = "department:emergency_management"

# (code, name, lead, cooperating, (response h, completion h), returnable, active)
ITEMS: tuple[
    tuple[str, str, str | None, tuple[str, ...], tuple[float, float] | None, bool, bool], ...
] = (
    ("01", "市容环境", None, (), None, True, True),
    ("01.01", "占道经营", CITY_MANAGEMENT, ("territorial",), NORMAL, True, True),
    ("01.02", "乱堆乱放", "territorial", (), NORMAL, True, True),
    ("01.03", "违规户外广告", CITY_MANAGEMENT, (), NORMAL, True, True),
    ("01.04", "生活垃圾清运不及时", "territorial", (CITY_MANAGEMENT,), NORMAL, True, True),
    ("01.05", "共享单车乱停放", "territorial", (), NORMAL, True, True),
    ("01.06", "黑车揽客", "territorial", (), NORMAL, True, False),  # moved to transport
    ("02", "噪声扰民", None, (), None, True, True),
    ("02.01", "夜间施工噪声", CITY_MANAGEMENT, (HOUSING,), (2, 24), True, True),
    ("02.02", "商业经营噪声", "territorial", (CITY_MANAGEMENT,), NORMAL, True, True),
    ("02.03", "邻里噪声", "territorial", (), NORMAL, False, True),
    ("03", "供暖", None, (), None, True, True),
    ("03.01", "室内温度不达标", "territorial", (HOUSING,), URGENT, False, True),
    ("03.02", "供暖管线漏水", "territorial", (HOUSING,), (1, 12), False, True),
    ("03.03", "供暖费争议", HOUSING, (), NORMAL, True, True),
    ("04", "物业管理", None, (), None, True, True),
    ("04.01", "物业服务质量", "territorial", (HOUSING,), NORMAL, True, True),
    ("04.02", "电梯故障", MARKET, ("territorial",), URGENT, True, True),
    ("04.03", "小区停车管理", "territorial", (), NORMAL, True, True),
    ("05", "违法建设", None, (), None, True, True),
    ("05.01", "私搭乱建", "territorial", (CITY_MANAGEMENT,), NORMAL, False, True),
    ("05.02", "破坏房屋承重结构", HOUSING, ("territorial",), (12, 72), True, True),
    ("06", "食品安全", None, (), None, True, True),
    ("06.01", "无证经营食品", MARKET, (), NORMAL, True, True),
    ("06.02", "销售过期变质食品", MARKET, ("territorial",), (12, 72), True, True),
    ("06.03", "餐饮油烟扰民", CITY_MANAGEMENT, (ENVIRONMENT,), NORMAL, True, True),
    ("07", "大气污染", None, (), None, True, True),
    ("07.01", "工地扬尘", HOUSING, (CITY_MANAGEMENT,), NORMAL, True, True),
    ("07.02", "露天焚烧", "territorial", (ENVIRONMENT,), (2, 24), True, True),
    ("07.03", "企业废气排放", ENVIRONMENT, (), NORMAL, True, True),
    ("08", "安全隐患", None, (), None, True, True),
    ("08.01", "燃气泄漏", EMERGENCY, ("territorial",), (0.5, 12), True, True),
    ("08.02", "消防通道堵塞", "territorial", (EMERGENCY,), URGENT, True, True),
    ("09", "政策咨询", "unit:110199-CC", (), NORMAL, True, True),
)


def load_demo_catalogue(session: Session, *, now: datetime) -> ImportCounts:
    """Import the demo catalogue; needs the demo district's departments and command centre."""
    rows = []
    for index, (code, name, lead, cooperating, limits, returnable, active) in enumerate(ITEMS):
        response, completion = limits or (None, None)
        rows.append((index, {
            "code": code, "name": name, "lead": lead, "cooperating": list(cooperating),
            "response_limit_hours": response, "completion_limit_hours": completion,
            "returnable": returnable, "active": active,
        }))
    return import_catalogue(session, CatalogueFile("json", "items", rows=rows),
                            replace_all=False, now=now)
