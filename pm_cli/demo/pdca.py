"""The demo's improvement items: one in every PDCA phase, with the history that took it
there (two of them overdue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

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

# phase to reach → the moves that reach it from plan, each (to, what it records)
STEPS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "do": [("do", {"plan": "先隔离，再维修 / contain, then repair"})],
    "check": [
        ("do", {"plan": "清理并加装格栅 / clear and fit a grille"}),
        ("check", {"note": "已清理 / cleared"}),
    ],
    "act": [
        ("do", {"plan": "更换灯具 / replace fittings"}),
        ("check", {"note": "已更换 12 盏 / 12 replaced"}),
        ("act", {"result": "effective"}),
    ],
    "closed": [
        ("do", {"plan": "加装排风扇 / add an extract fan"}),
        ("check", {"note": "已安装 / installed"}),
        ("act", {"result": "effective"}),
        (
            "closed",
            {
                "note": "纳入电梯周检 / added to the weekly lift check",
                "playbook": "elevators.weekly",
            },
        ),
    ],
    "plan2": [
        ("do", {"plan": "更换法兰垫 / new flange gasket"}),
        ("check", {"note": "已更换 / replaced"}),
        ("act", {"result": "not-effective"}),
        ("plan", {}),
    ],
}


def build_items(session: Session, site: Site) -> int:
    """Each of ITEMS opened its days ago and moved (a move every 2 hours) to its phase; how
    many items that is."""
    from datetime import UTC, datetime, timedelta

    from pm_cli.pdca import service as pdca

    now = datetime.now(UTC)
    for title, severity, grid, days, phase, source in ITEMS:
        item = pdca.add_item(
            session,
            site=site,
            title=title,
            severity=severity,
            grid=grid,
            source=source,
            now=now - timedelta(days=days),
        ).item
        if phase in ("act", "closed", "plan2"):
            pdca.edit(
                session,
                site=site,
                no=item.no or 0,
                root_cause="巡检频次不足 / checked too rarely",
                preventive="同类网格一并检查 / check similar grids too",
            )
        for k, (to, kwargs) in enumerate(STEPS.get(phase, [])):
            pdca.advance(
                session,
                site=site,
                no=item.no or 0,
                to=to,
                now=now - timedelta(days=days, hours=-2 * (k + 1)),
                **kwargs,
            )
    return len(ITEMS)
