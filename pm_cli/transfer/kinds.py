"""The columns each kind of record has in files (English keys, Chinese header aliases)."""

from __future__ import annotations

from pm_cli.transfer.readers import Column

KINDS: dict[str, tuple[Column, ...]] = {
    "sites": (
        Column("code", ("编码", "代码", "项目编码")),
        Column("name", ("名称", "项目名称", "项目")),
        Column("tz", ("时区", "timezone", "time_zone")),
        Column("address", ("地址",)),
    ),
    "staff": (
        Column("code", ("编码", "工号", "员工编号")),
        Column("name", ("姓名", "名称")),
        Column("role", ("角色", "岗位")),
        Column("phone", ("电话", "手机", "联系电话")),
        Column("team", ("班组", "团队", "部门")),
    ),
    "grids": (
        Column("code", ("编码", "网格编码")),
        Column("name", ("名称", "网格名称")),
        Column("parent", ("上级", "上级网格", "parent_code")),
        Column("owner", ("责任人", "负责人")),
        Column("risk_level", ("风险等级", "risk")),
        Column("tags", ("标签",), multi=True),
        Column("responsibilities", ("责任清单", "职责", "duties"), multi=True),
    ),
}

# Import order when a file references another kind: sites, then staff, then grids.
ORDER = ("sites", "staff", "grids")


def keys(kind: str) -> list[str]:
    return [c.key for c in KINDS[kind]]
