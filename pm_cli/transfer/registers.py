"""The risk register and improvement items in files: every row checked first, then written
through the features' services (so levels, events and items follow the rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pm_cli import validate as v
from pm_cli.errors import Problem
from pm_cli.store.fields import INT_MAX
from pm_cli.transfer.importer import (
    BAD,
    Duplicates,
    Importer,
    Plan,
    Progress,
    cell,
    code_duplicates,
    quiet,
    reference,
    site_codes,
    text,
)
from pm_cli.transfer.table import Column, Table

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

_DERIVED_RISK = (
    "score",
    "level",
    "review_rule",
    "last_review",
    "next_review",
    "review_overdue",
    "history",
)
_DERIVED_ITEM = (
    "phase",
    "cycle",
    "found_at",
    "respond_by",
    "resolve_by",
    "responded_at",
    "checked_at",
    "occurrences",
    "overdue",
    "next",
    "id",
    "history",
    "ref",
    "label",
    "status",
    "withdrawn",
    "cycles",
)


def _scale(value: str) -> int:
    if not value.isdigit() or len(value) > 1 or not 1 <= int(value) <= 5:
        raise ValueError(f"must be a whole number 1–5, not {value!r}")
    return int(value)


def _bool(value: str) -> bool:
    t = value.strip().lower()
    if t in ("", "false", "no", "n", "0", "否"):
        return False
    if t in ("true", "yes", "y", "1", "是"):
        return True
    raise ValueError(f"yes or no, not {value!r}")


def _status(value: str) -> str | None:
    t = value.strip().lower()
    if not t:
        return None
    if t not in ("open", "closed"):
        raise ValueError(f"open or closed, not {value!r}")
    return t


def _review(value: str) -> str | None:
    """A review rule (RRULE or shortcut), kept as written with its shortcut expanded."""
    from pm_cli.recurrence import expand_shortcut, parse_rule

    if not value:
        return None
    parse_rule(value)  # a rule it cannot read is refused here
    return expand_shortcut(value)


def _set(session: Session, row: Any, **values: Any) -> None:
    from pm_cli.store import write

    write.update(
        session,
        row,
        **{k: val for k, val in values.items() if val is not None or getattr(row, k) is not None},
    )


class _AsFound(Importer):
    """Problems listed as found: row by row, each row's in the order they are checked."""

    def ordered(self, problems: list[Problem]) -> list[Problem]:
        return problems


class RisksImporter(_AsFound):
    kind = plural = "risks"
    columns = (
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
        *(Column(k, derived=True) for k in _DERIVED_RISK),
    )

    def plan(
        self,
        session: Session,
        table: Table,
        site: Site | None,
        *,
        grid: str | None = None,  # noqa: ARG002
        progress: Progress | None = None,  # noqa: ARG002
    ) -> Plan:
        """Creates: (code, values, grid code, owner code); updates: (risk, changed fields,
        likelihood, impact)."""
        from pm_cli.risks.models import Risk
        from pm_cli.store.query import code_map

        assert site is not None
        plan = Plan(site)
        problems = plan.problems
        grids, staff = site_codes(session, site)
        existing = code_map(session, Risk, site_id=site.id, noun="risk", where=site.code)
        duplicates = code_duplicates(table.rows)
        for row in table.rows:
            planned = duplicates.check(row, problems)
            code = cell(row, "code", v.code, problems)
            if code is BAD or not planned:
                continue
            values = {
                "title": cell(row, "title", v.name, problems),
                "likelihood": cell(row, "likelihood", _scale, problems),
                "impact": cell(row, "impact", _scale, problems),
                "legal": cell(row, "legal", _bool, problems),
                **{
                    k: cell(row, k, v.optional_text, problems)
                    for k in ("area", "cause", "consequence", "controls")
                },
                "playbook_steps": cell(row, "playbook_steps", v.split_list, problems, multi=True),
                "review": cell(row, "review", _review, problems),
                "status": cell(row, "status", _status, problems),
                "grid": reference(row, "grid", grids, "grid", site, problems),
                "owner": reference(row, "owner", staff, "staff member", site, problems),
            }
            values = {k: val for k, val in values.items() if val is not BAD}
            has_grid, has_owner = "grid" in values, "owner" in values
            grid_code, owner_code = values.pop("grid", None), values.pop("owner", None)
            grid_id = grids.get(grid_code) if grid_code else None
            owner_id = staff.get(owner_code) if owner_code else None
            current = existing.get(code)
            if current is None:
                missing = [k for k in ("title", "likelihood", "impact") if k not in values]
                for k in missing:
                    problems.append(Problem(row.where, "required for a new risk", k))
                if not missing:
                    plan.creates.append((code, values, grid_code, owner_code))
                continue
            li = values.pop("likelihood", current.likelihood)
            im = values.pop("impact", current.impact)
            fields = dict(values)
            if fields.get("status") is None:  # an empty status keeps the risk's own
                fields.pop("status", None)
            if has_grid:
                fields["grid_id"] = grid_id
            if has_owner and owner_id:  # an empty owner keeps the one the rules chose
                fields["owner_id"] = owner_id
            change = {k: val for k, val in fields.items() if getattr(current, k) != val}
            if not change and (li, im) == (current.likelihood, current.impact):
                plan.unchanged += 1
            else:
                plan.updates.append((current, change, li, im))
        return plan

    def apply(self, session: Session, plan: Plan) -> None:
        from pm_cli.risks import service as risks

        site = plan.site
        assert site is not None
        for code, values, grid_code, owner_code in plan.creates:
            risk, _ = risks.add_risk(  # no owner named: the one `pm risk add` would choose
                session,
                site=site,
                code=code,
                title=values["title"],
                likelihood=values["likelihood"],
                impact=values["impact"],
                grid=grid_code,
                owner=owner_code,
                legal=values.get("legal", False),
                controls=values.get("controls"),
                cause=values.get("cause"),
                consequence=values.get("consequence"),
                area=values.get("area"),
                playbook_steps=values.get("playbook_steps"),
                review=values.get("review"),
                open_item=False,
            )
            if values.get("status") not in (None, risk.status):
                _set(session, risk, status=values["status"])
        for current, change, li, im in plan.updates:
            if (li, im) != (current.likelihood, current.impact):
                risks.assess(
                    session,
                    site=site,
                    code=current.code,
                    likelihood=li,
                    impact=im,
                    note="imported",
                    open_item=False,
                )
            _set(session, current, **change)

    def records(self, session: Session, site: Site | None) -> list[dict[str, Any]]:
        from pm_cli.risks import service as risks

        assert site is not None
        return risks.list_risks(session, site=site)


ITEM_TEXT = ("description", "plan", "containment", "root_cause", "corrective", "preventive")


def _number(value: str) -> int | None:
    t = value.strip().lstrip("#")
    if not t:
        return None
    if not t.isdigit() or len(t) > 10 or not 1 <= int(t) <= INT_MAX:
        raise ValueError(
            f"an item number is a whole number from 1 to {INT_MAX:,} like 17, not {value[:20]!r}"
        )
    return int(t)


def _source(value: str) -> str | None:
    from pm_cli.pdca.rules import SOURCES

    t = value.strip().lower()
    if not t:
        return None
    if t not in SOURCES:
        raise ValueError(f"unknown source {value!r}: use {'|'.join(SOURCES)}")
    return t


class ItemsImporter(_AsFound):
    kind = plural = "items"
    match = ("no", False)  # a row without a number is a new item (it gets the next one)
    columns = (
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
        *(Column(k, derived=True) for k in _DERIVED_ITEM),
    )

    def plan(
        self,
        session: Session,
        table: Table,
        site: Site | None,
        *,
        grid: str | None = None,  # noqa: ARG002
        progress: Progress | None = None,  # noqa: ARG002
    ) -> Plan:
        """Creates: (number or None, values); updates: (number, changed texts, new owner's
        code or None)."""
        from pm_cli.pdca.models import Pdca
        from pm_cli.store.query import live

        assert site is not None
        plan = Plan(site)
        problems = plan.problems
        grids, staff = site_codes(session, site)
        existing = {i.no: i for i in session.exec(live(Pdca, site.id)) if i.no}
        duplicates = Duplicates(
            ((row, quiet(_number, text(row, "no"))) for row in table.rows),
            column="no",
            what=lambda no: f"item #{no}",
        )
        for row in table.rows:
            planned = duplicates.check(row, problems)
            no = cell(row, "no", _number, problems) if "no" in row.values else None
            if no is BAD or not planned:
                continue
            values = {
                "title": cell(row, "title", v.name, problems),
                "severity": cell(row, "severity", v.risk_level, problems),
                "source": cell(row, "source", _source, problems),
                "source_ref": cell(row, "source_ref", v.optional_text, problems),
                "grid": reference(row, "grid", grids, "grid", site, problems),
                "owner": reference(row, "owner", staff, "staff member", site, problems),
                **{k: cell(row, k, v.optional_text, problems) for k in ITEM_TEXT},
            }
            values = {k: val for k, val in values.items() if val is not BAD}
            current = existing.get(no) if no is not None else None
            if current is None:
                missing = [k for k in ("title", "severity") if k not in values]
                for k in missing:
                    problems.append(Problem(row.where, "required for a new item", k))
                if not missing:
                    plan.creates.append((no, values))
                continue
            texts = {
                k: values[k]
                for k in ("title", *ITEM_TEXT)
                if k in values and getattr(current, k) != values[k]
            }
            owner = values.get("owner")  # a staff code; None or absent: the owner stays
            new_owner = owner if owner and staff.get(owner) != current.owner_id else None
            if not texts and new_owner is None:
                plan.unchanged += 1
            else:
                plan.updates.append((no, texts, new_owner))
        return plan

    def apply(self, session: Session, plan: Plan) -> None:
        from pm_cli.pdca import service as pdca

        site = plan.site
        assert site is not None
        for no, values in plan.creates:
            opened = pdca.add_item(
                session,
                site=site,
                title=values["title"],
                severity=values["severity"],
                grid=values.get("grid"),
                owner=values.get("owner"),
                source=values.get("source") or "manual",
                source_ref=values.get("source_ref"),
                description=values.get("description"),
                no=no,
            )
            texts = {k: values[k] for k in ITEM_TEXT if values.get(k) and k != "description"}
            if texts:
                pdca.edit(session, site=site, no=opened.item.no or 0, **texts)
        for no, texts, new_owner in plan.updates:
            if texts:
                pdca.edit(session, site=site, no=no, **texts)
            if new_owner is not None:
                pdca.assign(session, site=site, no=no, staff=new_owner)

    def records(self, session: Session, site: Site | None) -> list[dict[str, Any]]:
        from pm_cli.pdca import service as pdca

        assert site is not None
        return pdca.list_items(session, site=site, include_closed=True)
