"""Sites and staff in files: plain fields, matched by code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pm_cli import validate as v
from pm_cli.errors import Problem
from pm_cli.transfer.importer import (
    BAD,
    Importer,
    Plan,
    Progress,
    cell,
    code_duplicates,
    diff,
    drain,
    optional,
)
from pm_cli.transfer.table import Column, Row, Table

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

Fields = Mapping[str, Callable[[str], Any]]


def plan_plain(
    table: Table,
    existing: Mapping[str, Any],
    fields: Fields,
    required: tuple[str, ...],
    noun: str,
    plan: Plan,
) -> Plan:
    """Each row's fields parsed; a new code becomes a create (with an id), a known one an
    update of the fields that differ."""
    problems = plan.problems
    duplicates = code_duplicates(table.rows)
    for row in table.rows:
        planned = duplicates.check(row, problems)
        code = cell(row, "code", v.code, problems)
        values = _values(row, fields, problems)
        if code is BAD or not planned:
            continue
        current = existing.get(code)
        if current is None:
            missing = [k for k in required if k not in row.values]
            for key in missing:
                problems.append(Problem(row.where, f"required for a new {noun}", key))
            if not missing:
                from pm_cli.store.ids import new_id

                plan.creates.append({"id": new_id(), "code": code, **values})
        elif change := diff(current, values):
            plan.updates.append((current, change))
        else:
            plan.unchanged += 1
    return plan


def _values(row: Row, fields: Fields, problems: list[Problem]) -> dict[str, Any]:
    out = {}
    for key, parse in fields.items():
        if key in row.values:
            value = cell(row, key, parse, problems)
            if value is not BAD:
                out[key] = value
    return out


class SitesImporter(Importer):
    kind = plural = "sites"
    needs_site = False
    columns = (
        Column("code", ("编码", "代码", "项目编码")),
        Column("name", ("名称", "项目名称", "项目")),
        Column("tz", ("时区", "timezone", "time_zone")),
        Column("address", ("地址",)),
    )
    fields: Fields = {"name": v.name, "tz": optional(v.tz), "address": v.optional_text}

    def plan(
        self,
        session: Session,
        table: Table,
        site: Site | None,
        *,
        grid: str | None = None,  # noqa: ARG002
        progress: Progress | None = None,
    ) -> Plan:
        from pm_cli.sites.models import Site
        from pm_cli.store.query import code_map

        sites = code_map(session, Site, site_id=None, noun="site", where="this database")
        plan = plan_plain(table, sites, self.fields, ("name",), "site", Plan(site))
        if progress:
            progress(len(table.rows))
        return plan

    def apply(self, session: Session, plan: Plan) -> None:
        from pm_cli.sites.models import Site
        from pm_cli.store import write

        for values in plan.creates:
            write.create(session, Site, site_id=values["id"], **values)
        for row, change in plan.updates:
            write.update(session, row, **change)

    def records(self, session: Session, site: Site | None) -> list[dict[str, Any]]:  # noqa: ARG002 (every site)
        from pm_cli.sites import service as sites

        return [sites.record(s) for s in sites.list_sites(session)]


class StaffImporter(Importer):
    kind = plural = "staff"
    columns = (
        Column("code", ("编码", "工号", "员工编号")),
        Column("name", ("姓名", "名称")),
        Column("role", ("角色", "岗位")),
        Column("phone", ("电话", "手机", "联系电话")),
        Column("team", ("班组", "团队", "部门")),
    )
    fields: Fields = {
        "name": v.name,
        "role": v.role,
        "phone": v.optional_text,
        "team": v.optional_text,
    }

    def plan(
        self,
        session: Session,
        table: Table,
        site: Site | None,
        *,
        grid: str | None = None,  # noqa: ARG002
        progress: Progress | None = None,
    ) -> Plan:
        from pm_cli.staff.models import Staff
        from pm_cli.store.query import code_map

        assert site is not None
        staff = code_map(session, Staff, site_id=site.id, noun="staff member", where=site.code)
        plan = plan_plain(table, staff, self.fields, ("name", "role"), "staff member", Plan(site))
        if progress:
            progress(len(table.rows))
        return plan

    def apply(self, session: Session, plan: Plan) -> None:
        from pm_cli.staff.models import Staff
        from pm_cli.store import write

        assert plan.site is not None
        write.bulk_update(session, Staff, plan.updates)
        write.bulk_create(session, Staff, site_id=plan.site.id, rows=drain(plan.creates))

    def records(self, session: Session, site: Site | None) -> list[dict[str, Any]]:
        from pm_cli.staff import service as staff

        assert site is not None
        return [staff.record(s) for s in staff.list_staff(session, site=site)]
