"""A demo district near Beijing's Wangjing: two townships, 46 basic and 4 special grids, people.

Deterministic, so the README and manual tests can name its codes and users. Grids go in
through the real import service, so the demo is checked like any other file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

from geo.crs import CRS
from server.auth.actor import Actor
from server.auth.passwords import Passwords
from server.cases import decisions, transitions
from server.cases.models import Case
from server.cases.rules import AppealType, Channel, Satisfaction, Urgency
from server.cases.services import IntakeRequest, intake
from server.catalogue.demo_items import load_demo_catalogue
from server.core.clock import LOCAL_TZ
from server.grids.assignment import GridIndexCache
from server.grids.models import Grid, GridMember
from server.grids.services import import_grids
from server.org.models import Unit, User
from server.org.rules import Role, UnitKind
from server.org.services import create_unit, create_user
from server.staff.postings import PostingRequest, create_posting
from server.staff.rules import PostingMode, VisitPeriod
from server.whistle.raising import RaiseRequest, raise_call
from server.whistle.rules import WhistleKind

DISTRICT_CODE = "110199"


@dataclass(frozen=True)
class DemoTownship:
    code: str
    name: str
    prefix: str  # grid code prefix
    west: float
    south: float
    columns: int
    rows: int
    population: int
    communities: tuple[tuple[str, str], ...]  # (code suffix, name), one per band of columns


CELL_LON = 0.01  # about 850 m at this latitude
CELL_LAT = 0.008  # about 890 m

TOWNSHIPS = (
    DemoTownship("110199001", "望京示范街道", "WJ", 116.40, 39.98, 6, 5, 108_000,
                 (("001", "花家地社区"), ("002", "南湖社区"), ("003", "宝星社区"))),
    DemoTownship("110199002", "示范乡", "SY", 116.46, 39.98, 4, 4, 36_000,
                 (("001", "东村"), ("002", "西村"))),
)

DEPARTMENTS = (
    ("CGZF", "城市管理综合执法局", "city_management"),
    ("SCJG", "市场监督管理局", "market_supervision"),
    ("STHJ", "生态环境局", "ecology_environment"),
    ("ZJW", "住房和城乡建设委员会", "housing"),
    ("YJGL", "应急管理局", "emergency_management"),
)

# (grid code, name, township, owner code suffix, owner name, box)
SPECIAL_GRIDS = (
    ("WJ-S01", "第一中学校园", "110199001", "SCH1", "北京示范第一中学", (116.412, 39.985, 116.418, 39.990)),  # noqa: E501 - a table row
    ("WJ-S02", "示范医院", "110199001", "HOS1", "示范区第一医院", (116.425, 39.995, 116.433, 40.001)),  # noqa: E501 - a table row
    ("WJ-S03", "望京工地三标段", "110199001", "CON1", "城建集团三标段项目部", (116.445, 40.005, 116.452, 40.012)),  # noqa: E501 - a table row
    ("SY-S01", "示范农贸市场", "110199002", "MKT1", "示范农贸市场管理公司", (116.474, 39.992, 116.481, 39.998)),  # noqa: E501 - a table row
)


def demo_loaded(session: Session) -> bool:
    return session.scalar(sa.select(Unit.id).where(Unit.code == DISTRICT_CODE)) is not None


def _grid_box(t: DemoTownship, col: int, row: int):  # noqa: ANN202
    west = t.west + col * CELL_LON
    south = t.south + row * CELL_LAT
    east, north = west + CELL_LON, south + CELL_LAT
    return box(round(west, 6), round(south, 6), round(east, 6), round(north, 6))


def load_demo_district(
    session: Session, passwords: Passwords, *, password: str, now: datetime
) -> str:
    """Create the demo district and return a summary with the sign-in names."""
    district = create_unit(session, code=DISTRICT_CODE, name="示范区", kind=UnitKind.DISTRICT,
                           parent_code=None, population=300_000, now=now)
    create_unit(session, code=f"{DISTRICT_CODE}-CC", name="示范区12345分中心",
                kind=UnitKind.COMMAND_CENTRE, parent_code=DISTRICT_CODE, now=now)
    for suffix, name, department_kind in DEPARTMENTS:
        create_unit(session, code=f"{DISTRICT_CODE}-{suffix}", name=name,
                    kind=UnitKind.DEPARTMENT, parent_code=DISTRICT_CODE,
                    department_kind=department_kind, now=now)

    features = []
    for t in TOWNSHIPS:
        boundary = box(t.west, t.south, t.west + t.columns * CELL_LON, t.south + t.rows * CELL_LAT)
        create_unit(session, code=t.code, name=t.name, kind=UnitKind.TOWNSHIP,
                    parent_code=DISTRICT_CODE, population=t.population, boundary=boundary, now=now)
        create_unit(session, code=f"{t.code}-CC", name=f"{t.name}指挥中心",
                    kind=UnitKind.COMMAND_CENTRE, parent_code=t.code, now=now)
        per_band = -(-t.columns // len(t.communities))
        for suffix, name in t.communities:
            create_unit(session, code=f"{t.code}{suffix}", name=name, kind=UnitKind.COMMUNITY,
                        parent_code=t.code, population=t.population // len(t.communities), now=now)
        for col in range(t.columns):
            community = t.communities[col // per_band][0]
            for row in range(t.rows):
                number = col * t.rows + row + 1
                features.append({
                    "type": "Feature",
                    "geometry": mapping(_grid_box(t, col, row)),
                    "properties": {"code": f"{t.prefix}-{number:03d}",
                                   "name": f"{t.name}第{number}网格",
                                   "kind": "basic", "township": t.code,
                                   "community": f"{t.code}{community}"},
                })
    for code, name, township, owner_suffix, owner_name, bounds in SPECIAL_GRIDS:
        owner = create_unit(session, code=f"{township}-{owner_suffix}", name=owner_name,
                            kind=UnitKind.OWNER_UNIT, parent_code=township, now=now)
        features.append({
            "type": "Feature",
            "geometry": mapping(box(*bounds)),
            "properties": {"code": code, "name": name, "kind": "special", "township": township,
                           "owner_unit": owner.code},
        })
    import_grids(session, {"type": "FeatureCollection", "features": features}, crs=CRS.WGS84,
                 repair=False, replace_existing=False, allowed_township_ids=None, now=now)
    load_demo_catalogue(session, now=now)

    people = (
        ("admin", "系统管理员", DISTRICT_CODE, [Role.ADMIN], []),
        ("auditor", "审计员", DISTRICT_CODE, [Role.AUDITOR], []),
        ("district.dispatcher", "区分中心派单员", f"{DISTRICT_CODE}-CC", [Role.DISTRICT_DISPATCHER], []),  # noqa: E501 - a table row
        ("cgzf.staff", "城管下沉队员", f"{DISTRICT_CODE}-CGZF", [Role.DEPARTMENT_STAFF], []),
        ("scjg.handler", "市场监管承办人", f"{DISTRICT_CODE}-SCJG", [Role.DEPARTMENT_HANDLER], []),
        ("wj.dispatcher", "望京指挥中心派单员", "110199001-CC", [Role.TOWNSHIP_DISPATCHER], []),
        ("wj.leader", "花家地网格长", "110199001001", [Role.GRID_LEADER], ["WJ-001", "WJ-002"]),
        ("wj.worker1", "网格员一", "110199001001", [Role.GRID_WORKER], ["WJ-001", "WJ-002", "WJ-003"]),  # noqa: E501 - a table row
        ("wj.worker2", "网格员二", "110199001002", [Role.GRID_WORKER], ["WJ-011", "WJ-012"]),
        ("sy.dispatcher", "示范乡指挥中心派单员", "110199002-CC", [Role.TOWNSHIP_DISPATCHER], []),
        ("sy.worker1", "示范乡网格员", "110199002001", [Role.GRID_WORKER], ["SY-001", "SY-002"]),
    )
    units = {u.code: u for u in session.scalars(sa.select(Unit))}
    grids = {g.code: g for g in session.scalars(sa.select(Grid).where(Grid.retired_at.is_(None)))}
    for username, display_name, unit_code, roles, grid_codes in people:
        user: User = create_user(session, passwords, username=username, password=password,
                                 display_name=display_name, unit_id=units[unit_code].id,
                                 roles=roles, now=now)
        for code in grid_codes:
            session.add(GridMember(grid_id=grids[code].id, user_id=user.id, created_at=now))
    session.flush()
    cases = _load_sample_cases(session, now=now)
    _load_field_work(session, now=now)
    basic = sum(t.columns * t.rows for t in TOWNSHIPS)
    return (
        f"demo district {district.code} loaded: {len(TOWNSHIPS)} townships, {basic} basic grids, "
        f"{len(SPECIAL_GRIDS)} special grids, {len(DEPARTMENTS)} departments, {cases} cases, "
        f"a patrol posting of cgzf.staff, a whistle call awaiting the 望京 command centre; users "
        f"{', '.join(p[0] for p in people)} (password: {password})"
    )


# (receiver, channel, appeal type, category, title, lon, lat, resident, urgency)
SAMPLE_CASES = (
    ("wj.worker1", Channel.PATROL, AppealType.REPORT, "01.02", "楼道堆放杂物堵塞消防通道",
     116.405, 39.984, None, Urgency.NORMAL),
    ("wj.dispatcher", Channel.CITY_DIRECT, AppealType.COMPLAINT, "02.02", "饭店夜间营业噪声扰民",
     116.415, 39.990, ("李四", "13911112222"), Urgency.NORMAL),
    ("wj.dispatcher", Channel.INTERNET, AppealType.HELP, "04.02", "小区电梯困人",
     116.428, 39.997, ("王五", "13700001111"), Urgency.URGENT),
    ("wj.dispatcher", Channel.INTERNET, AppealType.COMPLAINT, "01.01", "学校门口占道经营",
     116.414, 39.987, ("赵六", "13600002222"), Urgency.NORMAL),
    ("sy.dispatcher", Channel.DISTRICT_FORWARD, AppealType.CONSULTATION, None,
     "咨询老旧小区改造政策", None, None, ("钱七", "13500003333"), Urgency.NORMAL),
)


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, unit_id=user.unit_id,
                 unit_path=user.unit.path, roles=user.roles)


def _load_field_work(session: Session, *, now: datetime) -> None:
    """Through the real services: city management's staff member patrols three 望京 grids
    (three visits a week each), and 望京's dispatcher has raised a whistle call."""
    users = {u.username: u for u in session.scalars(sa.select(User))}
    grids = {g.code: g.id for g in session.scalars(sa.select(Grid).where(
        Grid.code.in_(("WJ-001", "WJ-002", "WJ-003")), Grid.retired_at.is_(None)))}
    create_posting(session, _actor(users["district.dispatcher"]), PostingRequest(
        staff_user_id=users["cgzf.staff"].id, grid_ids=[grids[c] for c in sorted(grids)],
        mode=PostingMode.PATROLLING, valid_from=now.astimezone(LOCAL_TZ).date(),
        visits_required=3, visit_period=VisitPeriod.WEEK, note="示范:巡格"), now=now)
    departments = {u.code: u.id for u in session.scalars(sa.select(Unit).where(
        Unit.kind == UnitKind.DEPARTMENT))}
    raise_call(session, _actor(users["wj.dispatcher"]), RaiseRequest(
        kind=WhistleKind.ENFORCEMENT,
        description="河道旁违章搭建彩钢房，需城管、市场监管联合执法。",
        lon=116.405, lat=39.984, address="望京示范街道河道北岸",
        department_ids=[departments[f"{DISTRICT_CODE}-{d}"] for d in ("CGZF", "SCJG")]),
        grid_index=GridIndexCache(), tolerance_m=0.0, now=now)


def _load_sample_cases(session: Session, *, now: datetime) -> int:
    """A few cases through the real intake: auto-dispatched, urgent, and one for triage."""
    users = {u.username: u for u in session.scalars(sa.select(User))}
    index = GridIndexCache()
    for username, channel, appeal, category, title, lon, lat, resident, urgency in SAMPLE_CASES:
        actor = _actor(users[username])
        name, phone = resident or (None, None)
        intake(session, actor, IntakeRequest(
            channel=channel, appeal_type=appeal, title=title, description=title,
            category_code=category, urgency=urgency, lon=lon, lat=lat, crs=CRS.WGS84,
            resident_name=name, resident_phone=phone), grid_index=index, tolerance_m=50.0,
            now=now)
    _handle_to_callback(session, users, title=SAMPLE_CASES[0][4], now=now)
    return len(SAMPLE_CASES)


def _handle_to_callback(session: Session, users: dict[str, User], *, title: str,
                        now: datetime) -> None:
    """One sample case handled by its lead (the 望京 township) and called back by its
    supervisor (the district 12345 centre), so this month's evaluation has a rated case."""
    case = session.scalar(sa.select(Case).where(Case.title == title))
    lead, supervisor = _actor(users["wj.dispatcher"]), _actor(users["district.dispatcher"])
    transitions.accept(session, lead, case, version=case.version, now=now)
    transitions.contact(session, lead, case, version=case.version, note="已电话联系居民", now=now)
    transitions.complete(session, lead, case, version=case.version, result="杂物已清理", now=now)
    decisions.callback(session, supervisor, case, version=case.version, resolved=True,
                       satisfaction=Satisfaction.SATISFIED, comment="居民表示满意", now=now)
