"""The demo site `pm demo` builds: 翠湖花园 with its staff and grid hierarchy.

Plain data plus `build_demo`, which writes it through the feature services only (so every row
is stamped and logged like a user's). Later features append their own demo data here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pm_cli.errors import ConflictError

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.playbooks.spec import Step
    from pm_cli.runs.service import Answer
    from pm_cli.sites.models import Site

SITE_CODE = "CH"
SITE = {
    "code": SITE_CODE,
    "name": "翠湖花园 Cuihu Garden",
    "tz": "Asia/Shanghai",
    "address": "江苏省苏州市工业园区翠湖路88号",
}


class StaffRow(NamedTuple):
    code: str
    name: str
    role: str  # admin | manager | lead | tech
    phone: str
    team: str


class GridRow(NamedTuple):
    code: str
    name: str
    parent: str | None
    owner: str  # staff code: a manager for the buildings, else a lead or a tech
    risk: str  # minor | major | critical
    tags: tuple[str, ...]
    duties: tuple[str, ...] = ()


def _phone(n: int) -> str:
    return f"1380013{n:04d}"


STAFF: tuple[StaffRow, ...] = (
    StaffRow("A01", "赵静", "admin", _phone(1), "管理处"),
    StaffRow("M01", "陈建国", "manager", _phone(11), "管理处"),
    StaffRow("M02", "刘芳", "manager", _phone(12), "客服部"),
    StaffRow("M03", "周强", "manager", _phone(13), "工程部"),
    StaffRow("L01", "王磊", "lead", _phone(21), "工程部"),
    StaffRow("L02", "李娜", "lead", _phone(22), "秩序维护部"),
    StaffRow("L03", "张伟", "lead", _phone(23), "环境部"),
    StaffRow("L04", "吴涛", "lead", _phone(24), "消防中控室"),
    StaffRow("L05", "孙敏", "lead", _phone(25), "环境部"),
    StaffRow("T01", "杨帆", "tech", _phone(31), "工程部"),
    StaffRow("T02", "马超", "tech", _phone(32), "工程部"),
    StaffRow("T03", "胡军", "tech", _phone(33), "工程部"),
    StaffRow("T04", "郭鹏", "tech", _phone(34), "工程部"),
    StaffRow("T05", "何亮", "tech", _phone(35), "工程部"),
    StaffRow("T06", "高翔", "tech", _phone(36), "秩序维护部"),
    StaffRow("T07", "林峰", "tech", _phone(37), "消防中控室"),
    StaffRow("T08", "罗洋", "tech", _phone(38), "秩序维护部"),
    StaffRow("T09", "郑秀英", "tech", _phone(39), "环境部"),
    StaffRow("T10", "梁红", "tech", _phone(40), "环境部"),
    StaffRow("T11", "谢文", "tech", _phone(41), "环境部"),
)

# Parents come before their children. Three levels: building/area → floor/zone → spot.
GRIDS: tuple[GridRow, ...] = (
    # ---- 1号楼 -------------------------------------------------------------------------
    GridRow("A", "1号楼 Building 1", None, "M01", "major", ("住宅", "高层"), (
        "楼栋公共区域安全与服务品质总负责",
        "每月组织一次楼栋综合检查并跟踪整改",
    )),
    GridRow("A-LB", "大堂 Lobby", "A", "L03", "minor", ("公共区域", "保洁", "门禁"), (
        "每日两次大堂保洁，地面无污渍无积水",
        "检查单元门禁与可视对讲正常",
    )),
    GridRow("A-LB-FC", "消防控制室 Fire control room", "A-LB", "L04", "critical",
            ("消防", "值守"), (
        "24小时双人值班，持证上岗",
        "每日检查火灾报警控制器、联动控制器运行状态并记录",
        "每班核对消防设施故障与误报处理情况",
    )),
    GridRow("A-EL", "电梯厅 Lift lobbies", "A", "T03", "major", ("电梯", "公共区域"), (
        "每日巡查各层电梯厅照明与层门状态",
    )),
    GridRow("A-EL-1", "1#客梯 Passenger lift 1", "A-EL", "T03", "major", ("电梯", "特种设备"), (
        "每日试运行，检查轿厢照明、应急电话与五方通话",
        "督促维保单位半月保养并签字确认",
    )),
    GridRow("A-MEP", "设备层 Plant floor", "A", "L01", "major", ("设备", "机房"), (
        "每日巡检设备层各机房门锁、照明与通风",
    )),
    GridRow("A-MEP-PD", "配电室 Switch room", "A-MEP", "T01", "critical",
            ("供配电", "设备", "高压"), (
        "每日抄录电压、电流与变压器温度",
        "检查绝缘垫、绝缘手套和应急照明完好",
        "停送电严格执行工作票与操作票",
    )),
    GridRow("A-MEP-PP", "生活水泵房 Domestic pump room", "A-MEP", "T05", "major",
            ("给排水", "设备", "二次供水"), (
        "每日检查水泵运行、出水压力与有无渗漏",
        "每季度配合水箱清洗消毒并留存水质报告",
    )),
    GridRow("A-RF", "屋面 Roof", "A", "T02", "major", ("屋面", "防汛", "高处作业"), (
        "每周检查屋面排水口无堵塞",
        "台风暴雨前后专项检查屋面设施固定情况",
    )),
    GridRow("A-RF-LM", "电梯机房 Lift machine room", "A-RF", "T03", "critical",
            ("电梯", "设备", "机房"), (
        "每日检查机房温度、照明与门锁，严禁堆放杂物",
        "核对盘车工具与救援操作规程在位",
    )),
    GridRow("A-RF-WT", "屋顶消防水箱 Roof fire tank", "A-RF", "T05", "major",
            ("消防", "给排水"), (
        "每周检查水位与补水阀、液位显示正常",
    )),
    GridRow("A-ST", "消防楼梯 Fire stairs", "A", "T06", "major", ("消防", "疏散"), (
        "每日巡查疏散通道畅通，防火门常闭",
        "检查应急照明与疏散指示标志完好",
    )),
    # ---- 2号楼 -------------------------------------------------------------------------
    GridRow("B", "2号楼 Building 2", None, "M02", "major", ("住宅", "高层"), (
        "楼栋公共区域安全与服务品质总负责",
        "处理业主报事报修并按时回访",
    )),
    GridRow("B-LB", "大堂 Lobby", "B", "T09", "minor", ("公共区域", "保洁", "门禁"), (
        "每日两次大堂保洁，信报箱与快递柜周边整洁",
    )),
    GridRow("B-EL", "电梯厅 Lift lobbies", "B", "T03", "major", ("电梯", "公共区域")),
    GridRow("B-EL-1", "1#客梯 Passenger lift 1", "B-EL", "T03", "major", ("电梯", "特种设备"), (
        "每日试运行，检查轿厢照明、应急电话与五方通话",
    )),
    GridRow("B-MEP", "设备层 Plant floor", "B", "L01", "major", ("设备", "机房")),
    GridRow("B-MEP-PD", "配电室 Switch room", "B-MEP", "T01", "critical",
            ("供配电", "设备"), (
        "每日抄录电压、电流并检查配电柜指示",
        "每月检测漏电保护装置并记录",
    )),
    GridRow("B-MEP-PP", "二次供水泵房 Booster pump room", "B-MEP", "T05", "major",
            ("给排水", "设备", "二次供水"), (
        "每日检查水泵运行与变频柜参数",
        "泵房上锁，无关人员不得入内",
    )),
    GridRow("B-RF", "屋面 Roof", "B", "T02", "major", ("屋面", "防汛", "高处作业"), (
        "每周检查屋面排水口与防雷接地",
    )),
    GridRow("B-RF-LM", "电梯机房 Lift machine room", "B-RF", "T03", "critical",
            ("电梯", "设备", "机房"), (
        "每日检查机房温度、照明与门锁，严禁堆放杂物",
    )),
    # ---- 地下车库 ----------------------------------------------------------------------
    GridRow("P", "地下车库 Garage", None, "M03", "major", ("车库", "消防"), (
        "车库整体安全、照明与通风总负责",
        "汛期组织防倒灌演练",
    )),
    GridRow("P-EN", "出入口 Entrances & ramps", "P", "L02", "critical",
            ("车辆", "道闸", "防汛"), (
        "高峰时段岗亭值守疏导车辆",
        "暴雨预警时备好挡水板与沙袋",
    )),
    GridRow("P-EN-1", "1号入口坡道 Ramp 1 (in)", "P-EN", "T08", "critical",
            ("车辆", "坡道", "防汛"), (
        "每日检查坡道防滑条、截水沟与反光镜",
        "检查道闸起落与防砸功能正常",
    )),
    GridRow("P-EN-2", "2号出口坡道 Ramp 2 (out)", "P-EN", "T08", "critical",
            ("车辆", "坡道", "防汛"), (
        "每日检查坡道防滑条、截水沟与反光镜",
    )),
    GridRow("P-CH", "充电区 EV charging", "P", "T04", "critical", ("充电桩", "消防", "供配电"), (
        "每日巡查充电桩外观、线缆与指示灯",
        "检查区域灭火器与消防沙箱在位，严禁私拉电线",
    )),
    GridRow("P-CH-1", "快充桩 Fast chargers", "P-CH", "T04", "critical",
            ("充电桩", "供配电"), (
        "每月检测充电桩接地与漏电保护",
    )),
    GridRow("P-PK", "停车区 Parking bays", "P", "T06", "major", ("车库", "消防", "安防"), (
        "每两小时巡逻一次，检查监控与照明",
        "防火卷帘下方严禁停车堆物",
    )),
    GridRow("P-MEP", "设备区 Plant zone", "P", "L01", "critical", ("设备", "机房"), (
        "每日巡检各机房并填写运行记录",
    )),
    GridRow("P-MEP-SUB", "高压配电房 HV substation", "P-MEP", "T01", "critical",
            ("供配电", "高压", "设备"), (
        "每班巡视高低压柜、变压器运行并抄表",
        "持电工证上岗，倒闸操作双人监护",
    )),
    GridRow("P-MEP-FP", "消防泵房 Fire pump room", "P-MEP", "T07", "critical",
            ("消防", "给排水", "设备"), (
        "每日检查消防泵控制柜处于自动状态",
        "每周低频巡检启泵并记录压力",
    )),
    GridRow("P-MEP-GEN", "柴油发电机房 Generator room", "P-MEP", "T02", "critical",
            ("供配电", "设备", "消防"), (
        "每月空载试机30分钟并记录",
        "检查油位与蓄电池电压",
    )),
    GridRow("P-MEP-SP", "集水井 Sump pits", "P-MEP", "T05", "major",
            ("给排水", "防汛", "有限空间"), (
        "每日检查排污泵自动启停与液位浮球",
        "进入井内按有限空间作业审批",
    )),
    # ---- 园区 --------------------------------------------------------------------------
    GridRow("G", "园区 Grounds", None, "M01", "minor", ("园区", "公共区域"), (
        "园区环境、秩序与绿化总负责",
    )),
    GridRow("G-EN", "出入口 Gates", "G", "L02", "major", ("安防", "门禁", "车辆"), (
        "24小时门岗值守，访客登记",
        "检查人行闸机与车行道闸运行正常",
    )),
    GridRow("G-EN-N", "北门岗 North gate", "G-EN", "T06", "major", ("安防", "门禁"), (
        "交接班核对钥匙、对讲机与值班记录",
    )),
    GridRow("G-GD", "中心花园 Central garden", "G", "L05", "minor", ("绿化", "保洁"), (
        "按季节修剪、浇灌与病虫害防治",
        "每日清扫园路与休息座椅",
    )),
    GridRow("G-GD-P", "景观水池 Ornamental pond", "G-GD", "T11", "major",
            ("绿化", "水体", "防溺水"), (
        "每日检查救生圈与警示牌在位",
        "每周清理水面漂浮物，检查水泵运行",
    )),
    GridRow("G-PL", "儿童游乐区 Playground", "G", "L05", "major", ("儿童安全", "公共区域"), (
        "每日开园前检查游乐设施螺栓、焊缝与锐边",
        "检查安全地垫完好，无积水",
    )),
    GridRow("G-FA", "消防通道 Fire access road", "G", "T06", "major", ("消防", "车辆"), (
        "每日巡查消防车道与登高场地无占用",
        "车道标线与禁停标识清晰",
    )),
    GridRow("G-WS", "垃圾分类站 Waste station", "G", "T10", "minor", ("保洁", "垃圾分类"), (
        "每日定时清运并消杀",
        "督导居民分类投放",
    )),
)


def build_demo(session: Session) -> Site:
    """Add the demo site, its staff and its grids; the caller owns the transaction."""
    from pm_cli.grids import service as grids
    from pm_cli.sites import service as sites
    from pm_cli.staff import service as staff

    site = sites.add_site(session, **SITE)
    for p in STAFF:
        staff.add_staff(session, site=site, code=p.code, name=p.name, role=p.role,
                        phone=p.phone, team=p.team)
    for g in GRIDS:
        grids.add_grid(session, site=site, code=g.code, name=g.name, parent=g.parent,
                       owner=g.owner, risk=g.risk, tags=list(g.tags), duties=list(g.duties))
    return site


def prepare(path: Path, *, force: bool) -> None:
    """Make `path` ready for the demo: a pm database without site CH.

    An existing CH is refused unless `force`; then the file is replaced, but only when CH is
    all it holds (a file with real sites in it is never deleted for a demo).
    """
    from pm_cli.db.service import init_db
    from pm_cli.sites import service as sites
    from pm_cli.store.engine import make_engine, session_scope

    if path.exists():
        init_db(path)  # refuses a file that is not a pm database; brings an older one up to date
        engine = make_engine(path)
        try:
            with session_scope(engine, path, write=False) as s:
                codes = [x.code for x in sites.list_sites(s)]
        finally:
            engine.dispose()
        if SITE_CODE in codes:
            if not force:
                raise ConflictError(
                    f"site {SITE_CODE} already exists", where=str(path),
                    hint=f"pm demo --force rebuilds it (replaces {path}); "
                    "or pass --db with a new file",
                )
            others = [c for c in codes if c != SITE_CODE]
            if others:
                raise ConflictError(
                    f"--force would replace the whole file, and it also holds site(s) "
                    f"{', '.join(others)}", where=str(path),
                    hint="build the demo in its own file: pm demo --db demo.db",
                )
            for p in (path, *(path.with_name(path.name + x) for x in ("-wal", "-shm"))):
                p.unlink(missing_ok=True)
    init_db(path)


# ---- a week of checklist runs ----------------------------------------------------------

# (service, grid, staff): who walks which checklist where, every day of the demo week
ROUNDS = (
    ("cleaning", "A-LB", "L03"),
    ("cleaning", "B-LB", "T09"),
    ("security", "G-EN-N", "T06"),
    ("water", "B-MEP-PP", "T05"),
    ("fire", "A-LB-FC", "L04"),
    ("elevators", "A-EL-1", "T03"),
    ("parking", "P-PK", "T06"),
    ("equipment", "A-MEP-PD", "T01"),
)
FAIL_RATE = 0.04
# The smallest valid JPEG: what a demo "photo" is.
PHOTO = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c"
    "0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e33"
    "3432ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708"
    "090a0bffda0008010100003f00d2cf20ffd9")


def _daily_playbook(rows: list[dict], service: str) -> str | None:
    mine = [r for r in rows if r["service"] == service and r["schedule"]]
    daily = [r for r in mine if "DAILY" in r["schedule"].upper() or
             "HOURLY" in r["schedule"].upper()]
    chosen = (daily or mine)
    return chosen[0]["id"] if chosen else None


def _answer_for(step: Step, fail: bool, photo: Path) -> Answer:
    from pm_cli.runs.service import Answer

    a = Answer(step=step.id)
    if step.kind == "reading":
        assert step.range is not None  # Step._reading: a reading has a range
        lo, hi = step.range.min, step.range.max  # Range: at least one of them
        if lo is not None and hi is not None:
            a.value = (hi * 1.5 + 1) if fail else round((lo + hi) / 2, 2)
        elif lo is not None:
            a.value = lo * 0.5 if fail else round(lo * 1.2 + 0.1, 2)
        elif hi is not None:
            a.value = (hi * 1.5 + 1) if fail else round(hi * 0.6, 2)
    else:
        a.outcome = "fail" if fail else "pass"
    if step.kind == "text":
        a.note = "已记录 / logged"
    elif fail:
        a.note = "现场整改中 / being fixed on site"
    failed = fail or False
    if step.kind == "photo" or step.evidence == "photo" or (
            step.evidence == "photo-on-fail" and failed):
        a.photo = photo
    return a


def build_demo_runs(session: Session, site: Site, *, store_dir: Path, days: int = 7,
                    seed: int = 7) -> int:
    """A week of runs of the daily playbooks, some with failed steps; the newest left open."""
    import random
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from pm_cli.playbooks import service as playbooks
    from pm_cli.runs import service as runs
    from pm_cli.store.ids import utc_text

    rnd = random.Random(seed)
    rows = playbooks.list_playbooks(session)
    store_dir.mkdir(parents=True, exist_ok=True)
    photo = store_dir / "demo-photo.jpg"
    photo.write_bytes(PHOTO)
    zone = ZoneInfo(site.tz or "Asia/Shanghai")
    now = datetime.now(zone)
    # The week is the `days` site days up to the newest one whose first round has begun:
    # before 08:00 site time that is yesterday, so the demo shows a full week at any hour.
    newest = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if now < newest + timedelta(hours=8):
        newest -= timedelta(days=1)
    rounds = []
    for day in range(days - 1, -1, -1):
        for k, (svc, grid, staff) in enumerate(ROUNDS):
            playbook = _daily_playbook(rows, svc)
            start = newest - timedelta(days=day) + timedelta(hours=8, minutes=12 * k)
            if playbook is not None and start <= now:
                rounds.append((start, playbook, grid, staff))
    made = 0
    for n, (start, playbook, grid, staff) in enumerate(rounds):
        run = runs.start_run(session, site=site, playbook=playbook, grid=grid, by=staff,
                             started_at=utc_text(start))
        session.flush()
        steps = runs.view(session, run).steps
        last = n == len(rounds) - 1
        for i, step in enumerate(steps):
            if last and i >= len(steps) // 2:
                break  # the newest run is still being walked
            answer = _answer_for(step, rnd.random() < FAIL_RATE, photo)
            runs.record(session, site=site, run=run, answer=answer, store_dir=store_dir)
        if not last:
            minutes = sum(s.minutes or 2 for s in steps)
            done = min(start + timedelta(minutes=minutes), now)  # never finished in the future
            runs.finish(session, run=run, at=utc_text(done))
        made += 1
    photo.unlink(missing_ok=True)
    return made


# ---- improvement items and the risk register -------------------------------------------

SITE_RISKS = (
    ("R-01", "配电室进水 Switch room flooding", "A-MEP-PD", 3, 5,
     "挡水板、排水泵、雨季前演练 / flood boards, sump pump, pre-season drill"),
    ("R-02", "坡道结冰车辆打滑 Icy ramp", "P-EN-1", 2, 4,
     "融雪剂、防滑垫、限速 / de-icer, mats, speed limit"),
    ("R-03", "儿童游乐设施松动 Loose play equipment", "G-PL", 3, 3,
     "每日检查紧固件 / daily fastener check"),
    ("R-04", "景观水池溺水 Drowning in the pond", "G-GD-P", 1, 5,
     "护栏、警示牌、巡逻 / railings, signs, patrols"),
)

# (title, severity, grid, days ago, phase to reach, source)
ITEMS = (
    ("消防通道堆放杂物 Fire lane blocked by clutter", "critical", "G-FA", 2, "plan", "manual"),
    ("2号楼大堂门禁失灵 Lobby door access failing", "major", "B-LB", 4, "do", "complaint"),
    ("屋面排水口堵塞 Roof drain clogged", "major", "A-RF", 6, "check", "audit"),
    ("车库照明不足 Garage lighting below 95%", "minor", "P-PK", 9, "act", "manual"),
    ("电梯机房温度偏高 Lift machine room too hot", "major", "A-RF-LM", 12, "closed", "audit"),
    ("水泵房渗漏复发 Pump room leak came back", "major", "A-MEP-PP", 15, "plan2", "complaint"),
    ("北门岗登记不全 Gate log incomplete", "minor", "G-EN-N", 1, "plan", "manual"),
)


def build_demo_items(session: Session, site: Site) -> dict[str, int]:
    """The 62-risk starter library, a few site risks on grids, and items in every phase —
    two of them overdue."""
    from datetime import UTC, datetime, timedelta

    from pm_cli.pdca import service as pdca
    from pm_cli.risks import service as risks

    counts = risks.import_library(session, site=site)
    for code, title, grid, li, im, controls in SITE_RISKS:
        risks.add_risk(session, site=site, code=code, title=title, grid=grid, likelihood=li,
                       impact=im, controls=controls)
    now = datetime.now(UTC)
    steps = {
        "do": [("do", {"plan": "先隔离，再维修 / contain, then repair"})],
        "check": [("do", {"plan": "清理并加装格栅 / clear and fit a grille"}),
                  ("check", {"note": "已清理 / cleared"})],
        "act": [("do", {"plan": "更换灯具 / replace fittings"}),
                ("check", {"note": "已更换 12 盏 / 12 replaced"}),
                ("act", {"result": "effective"})],
        "closed": [("do", {"plan": "加装排风扇 / add an extract fan"}),
                   ("check", {"note": "已安装 / installed"}),
                   ("act", {"result": "effective"}),
                   ("closed", {"note": "纳入电梯周检 / added to the weekly lift check",
                               "playbook": "elevators.weekly"})],
        "plan2": [("do", {"plan": "更换法兰垫 / new flange gasket"}),
                  ("check", {"note": "已更换 / replaced"}),
                  ("act", {"result": "not-effective"}), ("plan", {})],
    }
    for title, severity, grid, days, phase, source in ITEMS:
        item = pdca.add_item(session, site=site, title=title, severity=severity, grid=grid,
                             source=source, now=now - timedelta(days=days)).item
        if phase in ("act", "closed", "plan2"):
            pdca.edit(session, site=site, no=item.no or 0, root_cause="巡检频次不足 / checked "
                      "too rarely", preventive="同类网格一并检查 / check similar grids too")
        for k, (to, kwargs) in enumerate(steps.get(phase, [])):  # a move every 2 hours
            pdca.advance(session, site=site, no=item.no or 0, to=to,
                         now=now - timedelta(days=days, hours=-2 * (k + 1)), **kwargs)
    return {"risks": counts["added"] + len(SITE_RISKS), "items": len(ITEMS)}


# ---- a year of drills ------------------------------------------------------------------

# (code, scenario, grid, schedule, months between runs)
DRILLS = (
    ("FIRE-A", "fire", "A", "FREQ=MONTHLY;INTERVAL=6", 6),
    ("FIRE-B", "fire", "B", None, 6),
    ("FLOOD-P", "flood", "P", None, 12),
    ("LIFT-A1", "elevator_entrapment", "A-EL-1", None, 6),
    ("POWER", "power_outage", None, None, 3),
    ("TYPHOON", "typhoon", None, None, 12),
)


def build_demo_drills(session: Session, site: Site, *, seed: int = 11) -> int:
    """Drills planned per scenario, a year of runs at 90–100% of each target, one missing
    the evacuation target (12 minutes against 10) so a finding and an item show."""
    import random
    from datetime import UTC, datetime, timedelta

    from pm_cli.drills import scenario as scenarios
    from pm_cli.drills import service as drills

    rnd = random.Random(seed)
    lib = scenarios.library()
    now = datetime.now(UTC)
    made = 0
    for code, sc_id, grid, schedule, months in DRILLS:
        if sc_id not in lib:
            continue
        drills.plan(session, site=site, code=code, scenario=sc_id, grid=grid, schedule=schedule)
        sc = lib[sc_id]
        for k in range(12 // months):
            t0 = (now - timedelta(days=30 * months * (k + 1) - 10)).replace(
                hour=6, minute=0, second=0, microsecond=0)  # 14:00 in Shanghai
            run = drills.start(session, site=site, code=code, at=t0, participants=rnd.randint(
                15, 60), observers="街道消防站 / sub-district fire station" if sc_id == "fire"
                else None, weather=rnd.choice(["晴 sunny", "多云 cloudy", "小雨 light rain"]))
            last = 0.0
            for m in sc.milestones[1:]:
                target = m.target if m.target is not None else last + 5
                minutes = max(last, target * rnd.uniform(0.9, 1.0))
                if code == "FIRE-A" and k == 0 and m.id == "evacuated":
                    minutes = target + 2  # the miss the demo shows
                last = minutes
                drills.event(session, site=site, run=run, milestone=m.id,
                             at=t0 + timedelta(minutes=round(minutes, 2)))
            drills.finish(session, site=site, run=run, at=t0 + timedelta(minutes=last + 10))
            made += 1
    return made


# ---- checkpoints and two routes --------------------------------------------------------

# (code, name, grid, x, y) in metres on the site plan, origin at the south-west gate
CHECKPOINTS = (
    ("CP-A01", "1号楼大堂 Bldg 1 lobby", "A-LB", 40, 60),
    ("CP-A02", "1号楼消防控制室 Fire control room", "A-LB-FC", 46, 62),
    ("CP-A03", "1号楼电梯厅 Bldg 1 lift lobby", "A-EL", 42, 70),
    ("CP-A04", "1号楼配电室 Bldg 1 switch room", "A-MEP-PD", 30, 58),
    ("CP-A05", "1号楼水泵房 Bldg 1 pump room", "A-MEP-PP", 34, 52),
    ("CP-A06", "1号楼消防楼梯 Bldg 1 fire stairs", "A-ST", 50, 74),
    ("CP-B01", "2号楼大堂 Bldg 2 lobby", "B-LB", 110, 62),
    ("CP-B02", "2号楼电梯厅 Bldg 2 lift lobby", "B-EL", 112, 72),
    ("CP-B03", "2号楼配电室 Bldg 2 switch room", "B-MEP-PD", 100, 56),
    ("CP-B04", "2号楼二次供水泵房 Booster pumps", "B-MEP-PP", 104, 50),
    ("CP-P01", "车库1号入口坡道 Ramp 1", "P-EN-1", 70, 20),
    ("CP-P02", "车库2号出口坡道 Ramp 2", "P-EN-2", 90, 20),
    ("CP-P03", "充电区 EV charging", "P-CH-1", 60, 35),
    ("CP-P04", "消防泵房 Fire pump room", "P-MEP-FP", 85, 38),
    ("CP-P05", "柴油发电机房 Generator room", "P-MEP-GEN", 95, 33),
    ("CP-P06", "集水井 Sump pits", "P-MEP-SP", 75, 30),
    ("CP-G01", "北门岗 North gate", "G-EN-N", 75, 120),
    ("CP-G02", "中心花园 Central garden", "G-GD", 75, 85),
    ("CP-G03", "景观水池 Pond", "G-GD-P", 80, 92),
    ("CP-G04", "儿童游乐区 Playground", "G-PL", 60, 95),
    ("CP-G05", "消防通道 Fire access road", "G-FA", 130, 90),
    ("CP-G06", "垃圾分类站 Waste station", "G-WS", 20, 100),
)
# (code, name, checkpoints in a walking order nobody optimised, playbook, schedule, window)
ROUTES = (
    ("DAY-1", "白班巡检 Day round", ("CP-G06", "CP-B01", "CP-A01", "CP-G05", "CP-A03",
                                     "CP-B02", "CP-G04", "CP-A06", "CP-G02", "CP-G03",
                                     "CP-G01"), "security.patrol", "daily@09:00",
     "09:00-11:00"),
    ("NIGHT-1", "夜班巡检 Night round", ("CP-P05", "CP-A02", "CP-P01", "CP-B04", "CP-P03",
                                         "CP-A04", "CP-P06", "CP-B03", "CP-P02", "CP-A05",
                                         "CP-P04", "CP-G01"), "security.patrol",
     "daily@21:00", "21:00-23:30"),
)


# walks the demo leaves undone (days ago → route → why): one missed, one cut short
DEMO_MISSED = {2: ("NIGHT-1", None), 4: ("NIGHT-1", "门锁未开 / door locked")}
WALKERS = {"DAY-1": "T06", "NIGHT-1": "T07"}


def build_demo_routes(session: Session, site: Site, *, store_dir: Path, days: int = 6) -> int:
    """Checkpoints, a day and a night route (created `days` ago) and their walks since:
    every stop's checklist done, except one night missed and one night with a stop skipped
    (and today's walks that are not over yet)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from pm_cli.checkpoints import service as checkpoints
    from pm_cli.routes import service as routes
    from pm_cli.routes import walks
    from pm_cli.runs import service as runs
    from pm_cli.staff.service import get_staff
    from pm_cli.store.ids import utc_text

    zone = ZoneInfo(site.tz or "Asia/Shanghai")
    today = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    for code, name, grid, x, y in CHECKPOINTS:
        checkpoints.add_checkpoint(session, site=site, code=code, name=name, grid=grid,
                                   x=x, y=y, tag_uid=f"QR-{code}")
    for code, name, stops, playbook, schedule, window in ROUTES:
        routes.add_route(session, site=site, code=code, name=name, stops=list(stops),
                         playbook=playbook, schedule=schedule, window=window,
                         created_at=utc_text(today - timedelta(days=days)))
    session.flush()
    for day in range(days, -1, -1):
        for code, *_, window in ROUTES:
            missed_route, skip_reason = DEMO_MISSED.get(day, (None, None))
            if code == missed_route and skip_reason is None:
                continue
            at = today - timedelta(days=day) + timedelta(
                hours=int(window[:2]), minutes=int(window[3:5]) + 4)
            if at + timedelta(hours=2) > datetime.now(zone):
                continue  # today's walk not done yet
            by = get_staff(session, site=site, code=WALKERS[code])
            walk, _ = walks.start(session, site=site, code=code, by=by, at=at)
            wv = walks.view(session, walk)
            for stop in wv.stops:
                at += timedelta(minutes=5)
                if code == missed_route and stop.index == len(wv.stops) // 2:
                    walks.skip(session, site=site, walk=walk, stop=stop.index,
                               reason=skip_reason or "", at=at)
                    continue
                st = walks.arrive(session, site=site, walk=walk, stop=stop.index, at=at)
                session.flush()
                if st.run is None:
                    continue  # a whole-route checklist is done at the last stop only
                for step in runs.view(session, st.run).steps:
                    runs.record(session, site=site, run=st.run, store_dir=store_dir,
                                answer=_answer_for(step, False, store_dir / "none.jpg"))
                runs.finish(session, run=st.run, at=utc_text(at + timedelta(minutes=3)))
            walks.finish(session, walk=walk, at=at + timedelta(minutes=4))
    return len(ROUTES)
