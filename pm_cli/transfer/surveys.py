"""`pm import FILE --kind survey`: owner-satisfaction surveys (业主满意度), one row per grid
(or building, or the whole site) and day. Every row is checked first; then each is created,
or updates the survey of its grid and day (a file imported twice changes nothing).

The columns: date, grid (a grid's code or name; a `building` column is read the same way;
empty: the whole site), households asked, households answering, and either households
satisfied (a count, or a percentage of those answering such as `92%`) or one column per
question holding its mean score 1–5 (any column the kind does not name is a question)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from pm_cli.errors import Problem
from pm_cli.grids.models import Grid
from pm_cli.sites.models import Site
from pm_cli.surveys import rules
from pm_cli.surveys.models import Survey
from pm_cli.transfer.importer import Duplicates, Importer, Plan, Progress, diff
from pm_cli.transfer.importer import text as _text
from pm_cli.transfer.table import Column, Row, Table
from pm_cli.validate import optional_text

QUESTION = "questions"  # the kind's catch-all column: `questions:HEADER` keys in a row
_DAY = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]00:00(?::00(?:\.0+)?)?)?"
)


def parse_day(text: str) -> str:
    """A survey's date, year first: 2026-11-15, 2026/11/15, 2026.11.15, 2026年11月15日 (an
    Excel date cell reads as 2026-11-15 00:00:00)."""
    m = _DAY.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a date, year first (2026-11-15): {text[:30]!r}")
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        raise ValueError(f"no such day: {text[:30]!r}") from None


def _whole(text: str, noun: str) -> int:
    t = text.replace(",", "").strip()
    if t.endswith(".0"):
        t = t[:-2]
    if not t.isdigit() or len(t) > 9:
        raise ValueError(f"{noun}: a whole number, not {text[:20]!r}")
    return int(t)


def _satisfied(text: str, answered: int | None) -> float | None:
    t = text.replace(",", "").strip()
    if not t:
        return None
    percent = t.endswith(("%", "％"))
    try:
        value = float(t.rstrip("%％").strip())
    except ValueError:
        raise ValueError(
            f"households satisfied: a number or a percentage like 92%, not {text[:20]!r}"
        ) from None
    if not percent:
        return value
    if not 0 <= value <= 100:
        raise ValueError(f"a percentage from 0% to 100%, not {text[:20]!r}")
    if answered is None:
        raise ValueError("a percentage satisfied needs the households answering")
    return round(answered * value / 100, 2)


def _score(text: str) -> float | None:
    t = text.strip()
    if not t:
        return None
    try:
        value = float(t)
    except ValueError:
        raise ValueError(f"a mean score from 1 to 5, not {text[:20]!r}") from None
    if not 1 <= value <= 5:
        raise ValueError(f"a mean score from 1 to 5, not {text[:20]!r}")
    return value


class _Grids:
    """A grid by code, or by name when exactly one grid has it."""

    def __init__(self, session: Session, site: Site):
        rows = session.exec(
            select(Grid.id, Grid.code, Grid.name).where(
                Grid.site_id == site.id,
                Grid.deleted == False,  # noqa: E712
            )
        ).all()
        self.codes = {code: gid for gid, code, _ in rows}
        self.names: dict[str, list[str]] = {}
        for _gid, code, name in rows:
            self.names.setdefault(name.strip().casefold(), []).append(code)
        self.site = site.code

    def find(self, text: str) -> str:
        if text in self.codes:
            return self.codes[text]
        named = self.names.get(text.casefold(), [])
        if len(named) == 1:
            return self.codes[named[0]]
        if named:
            raise ValueError(
                f"{len(named)} grids are named {text!r} ({', '.join(sorted(named))}): give the code"
            )
        raise ValueError(f"no grid with the code or name {text!r} at site {self.site}")


Key = tuple[str, str | None]  # (day, grid id): the survey a row is of


class SurveysImporter(Importer):
    kind = "survey"
    plural = "surveys"
    match = ("date", True)
    columns = (
        Column("date", ("日期", "调查日期", "测评日期", "day", "survey_date")),
        Column("grid", ("网格", "网格编码", "区域")),
        Column("building", ("楼栋", "楼宇", "楼号", "楼座")),
        Column(
            "asked", ("调查户数", "总户数", "户数", "发放户数", "households", "households_asked")
        ),
        Column(
            "answered",
            (
                "回收户数",
                "有效问卷",
                "答卷户数",
                "参与户数",
                "households_answering",
                "responses",
                "answering",
            ),
        ),
        Column("satisfied", ("满意户数", "满意", "满意率", "satisfied_households")),
        Column("note", ("备注", "说明")),
        Column(QUESTION, rest=True),
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
        """Each row is created, or updates the survey of its grid and day. Creates: values;
        updates: (survey, changed values)."""
        assert site is not None
        plan = Plan(site)
        grids = _Grids(session, site)
        existing = {
            (s.day, s.grid_id): s
            for s in session.exec(
                select(Survey).where(Survey.site_id == site.id, Survey.deleted == False)  # noqa: E712
            )
        }
        checked = [_check(row, grids) for row in table.rows]
        places: dict[Key, str] = {}
        for _row, _bad, _values, key, place in checked:
            if key is not None:
                places.setdefault(key, place or "the whole site")
        duplicates = Duplicates(
            ((row, key) for row, _b, _v, key, _p in checked),
            column="date",
            what=lambda key: f"a survey of {places[key]} on {key[0]}",
        )
        for row, bad, values, _key, _place in checked:
            duplicates.check(row, bad)
            if bad:
                plan.problems += bad
                continue
            current = existing.get((values["day"], values["grid_id"]))
            if current is None:
                plan.creates.append(values)
            elif change := diff(current, values):
                plan.updates.append((current, change))
            else:
                plan.unchanged += 1
        return plan

    def apply(self, session: Session, plan: Plan) -> None:
        from pm_cli.store import write

        assert plan.site is not None
        for values in plan.creates:
            write.create(session, Survey, site_id=plan.site.id, **values)
        for current, change in plan.updates:
            write.update(session, current, **change)

    def records(self, session: Session, site: Site | None) -> list[dict[str, Any]]:
        assert site is not None
        return records(session, site=site)

    def ordered(self, problems: list[Problem]) -> list[Problem]:
        return sorted(problems, key=_where_order)

    def export_columns(self, rows: list[dict[str, Any]]) -> list[str]:
        """Each question its own column, in the order first met."""
        cols = [k for k in self.keys() if k != "building"]
        return cols + list(dict.fromkeys(k for r in rows for k in r if k not in cols))


def _check(row: Row, grids: _Grids) -> tuple[Row, list[Problem], dict[str, Any], Key | None, str]:
    """A row's problems, its values, the survey it is of (None when that is unclear) and the
    place it names."""
    bad: list[Problem] = []

    def run(key: str, parse: Any, *args: Any) -> Any:
        try:
            return parse(_text(row, key), *args)
        except ValueError as e:
            bad.append(Problem(row.where, str(e), key.split(":", 1)[-1]))
            return None

    day = run("date", parse_day)
    place = _text(row, "grid") or _text(row, "building")
    grid_id = run("grid" if _text(row, "grid") else "building", grids.find) if place else None
    asked = run("asked", _whole, "households asked")
    answered = run("answered", _whole, "households answering")
    satisfied = run("satisfied", _satisfied, answered) if _text(row, "satisfied") else None
    scores: dict[str, float] = {}
    for key in row.values:
        if key.startswith(f"{QUESTION}:"):
            got = run(key, _score)
            if got is not None:
                scores[key.split(":", 1)[1].strip()] = got
    note = run("note", optional_text)
    for key, value in (("date", day), ("asked", asked), ("answered", answered)):
        if value is None and not any(p.column == key for p in bad):
            bad.append(Problem(row.where, "required", key))
    if not bad and satisfied is None and not scores:
        bad.append(
            Problem(
                row.where,
                "give households satisfied, or a column per question with its mean score 1–5",
                "satisfied",
            )
        )
    values = {
        "day": day,
        "grid_id": grid_id,
        "asked": asked,
        "answered": answered,
        "satisfied": satisfied,
        "scores": scores,
        "note": note,
    }
    bad += [
        Problem(row.where, why, name.split(".")[0])
        for name, why in rules.problems({k: val for k, val in values.items() if val is not None})
    ]
    key_ = (day, grid_id) if day is not None and (grid_id is not None or not place) else None
    return row, bad, values, key_, place


def _where_order(p: Problem) -> tuple[int, str]:
    tail = p.where.rsplit(":", 1)[-1].lstrip("#").rsplit(" ", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, p.column or "")


def records(session: Session, *, site: Site) -> list[dict[str, Any]]:
    """The site's surveys as `pm export survey` writes them (each question its own column),
    oldest first: what `pm import --kind survey` reads back unchanged."""
    codes = dict(session.exec(select(Grid.id, Grid.code).where(Grid.site_id == site.id)).all())
    out = []
    for s in session.exec(
        select(Survey)
        .where(Survey.site_id == site.id, Survey.deleted == False)  # noqa: E712
        .order_by(col(Survey.day), col(Survey.grid_id))
    ):
        rec: dict[str, Any] = {
            "date": s.day,
            "grid": codes.get(s.grid_id or "", s.grid_id),
            "asked": s.asked,
            "answered": s.answered,
            "satisfied": s.satisfied,
            "note": s.note,
        }
        rec.update({q: score for q, score in (s.scores or {}).items() if q not in rec})
        out.append(rec)
    return out
