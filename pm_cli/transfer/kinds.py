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
    "risks": (
        Column("code", ("编码", "风险编码")),
        Column("title", ("风险", "名称", "危险源")),
        Column("grid", ("网格", "网格编码")),
        Column("likelihood", ("可能性", "L")),
        Column("impact", ("严重度", "影响", "I")),
        Column("legal", ("违法违规", "合规")),
        Column("area", ("领域", "专业")),
        Column("cause", ("原因",)),
        Column("consequence", ("后果",)),
        Column("controls", ("控制措施",)),
        Column("playbook_steps", ("控制步骤",), multi=True),
        Column("owner", ("责任人",)),
        Column("review", ("复查周期", "评审周期")),
        Column("status", ("状态",)),
        *(Column(k, derived=True) for k in ("score", "level", "review_rule", "last_review",
                                            "next_review", "review_overdue", "history")),
    ),
    "checkpoints": (
        Column("code", ("编码", "点位编码", "巡检点编码")),
        Column("name", ("名称", "点位名称", "巡检点")),
        Column("grid", ("网格", "网格编码")),
        Column("x", ("X", "横坐标")),
        Column("y", ("Y", "纵坐标")),
        Column("lat", ("纬度", "latitude")),
        Column("lon", ("经度", "longitude", "lng")),
        Column("tag_uid", ("标签码", "二维码", "NFC", "tag")),
        Column("tags", ("标签",), multi=True),
    ),
    "items": (
        Column("no", ("编号", "序号")),
        Column("title", ("标题", "问题")),
        Column("severity", ("严重程度", "等级")),
        Column("grid", ("网格",)),
        Column("owner", ("责任人",)),
        Column("source", ("来源",)),
        Column("source_ref", ("来源编号",)),
        Column("description", ("描述", "问题描述")),
        Column("plan", ("计划",)),
        Column("containment", ("临时措施",)),
        Column("root_cause", ("根本原因", "原因")),
        Column("corrective", ("纠正措施",)),
        Column("preventive", ("预防措施",)),
        *(Column(k, derived=True) for k in (
            "phase", "cycle", "found_at", "respond_by", "resolve_by", "responded_at",
            "checked_at", "occurrences", "overdue", "next", "id", "history", "ref", "label",
            "status", "withdrawn", "cycles")),
    ),
    "survey": (
        Column("date", ("日期", "调查日期", "测评日期", "day", "survey_date")),
        Column("grid", ("网格", "网格编码", "区域")),
        Column("building", ("楼栋", "楼宇", "楼号", "楼座")),
        Column("asked", ("调查户数", "总户数", "户数", "发放户数", "households",
                         "households_asked")),
        Column("answered", ("回收户数", "有效问卷", "答卷户数", "参与户数", "households_answering",
                            "responses", "answering")),
        Column("satisfied", ("满意户数", "满意", "满意率", "satisfied_households")),
        Column("note", ("备注", "说明")),
        Column("questions", rest=True),
    ),
}

# Import order when a file references another kind: sites, then staff, then grids.
ORDER = ("sites", "staff", "grids", "checkpoints", "risks", "items", "survey")


# The column rows are matched by; items may leave it out (a new item gets the next number).
MATCH = {"items": ("no", False), "survey": ("date", True)}


def match(kind: str) -> tuple[str, bool]:
    return MATCH.get(kind, ("code", True))


def keys(kind: str) -> list[str]:
    """The columns a file of this kind has (what import reads; export writes these)."""
    return [c.key for c in KINDS[kind] if not c.derived and not c.rest]
