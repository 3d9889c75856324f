"""What the KPIs are counted from: each KPI's label (domain.md §7), the facts counted
(numerator and denominator per KPI × grid × service × staff × month × ISO week × day), and the
period they are counted over ([since, until) cut at now). `reports.records` fills the facts
from the records, `reports.rollup` from the per-day rollups, and `reports.kpi` sums them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pm_cli.timefmt import parse_utc

LABELS: dict[str, tuple[str, str]] = {  # kpi: (label, what the two counts are)
    "inspections": (
        "巡检完成率 Inspections completed",
        "scheduled walks and checklists done ÷ due",
    ),
    "on_time": ("按时率 On time", "finished inside their window ÷ done"),
    "steps_passed": (
        "合格率 Steps passed",
        "weight of steps passed ÷ weight of steps answered (N/A left out), in "
        "runs finished in the period",
    ),
    "response_sla": (
        "响应及时率 Response SLA",
        "items answered (out of plan) by their respond-by ÷ items whose "
        "respond-by fell in the period (each cycle)",
    ),
    "resolution_sla": (
        "处理及时率 Resolution SLA",
        "items resolved (at check) by their resolve-by ÷ items whose resolve-by "
        "fell in the period (each cycle)",
    ),
    "closed": (
        "整改闭环率 Failures closed",
        "items closed effective in their first cycle (never reopened) ÷ items whose "
        "first resolve-by fell in the period",
    ),
    "drills_on_schedule": (
        "演练按期率 Drills on schedule",
        "drills run by their due date ÷ drills due in the period (the "
        "stricter of the plan's schedule and the scenario's frequency)",
    ),
    "drill_targets": (
        "演练达标率 Drill targets met",
        "milestones reached within their target ÷ milestones with a target, in "
        "drills finished in the period (one not recorded counts as missed)",
    ),
    "risk_reviews": (
        "风险复评及时率 Risk reviews current",
        "open risks not overdue for review ÷ open risks, at the period's end",
    ),
    "complaints": (
        "投诉及时率 Complaints on time",
        "complaints answered by their respond-by ÷ complaints whose respond-by fell in the period",
    ),
    "satisfaction": (
        "业主满意度 Owner satisfaction",
        "households satisfied ÷ households answering, in surveys of the period; "
        "under 70 % of the households asked answering, × coverage ÷ 70 %",
    ),
}
KEYS = tuple(LABELS)
DIMENSIONS = ("grid", "service", "staff", "month", "week", "day")
NONE = "—"  # the group of facts with no grid (service, staff) to them


@dataclass
class Kpi:
    """One KPI: `numerator` of `denominator` (0: nothing to measure in the period)."""

    key: str
    numerator: float = 0.0
    denominator: float = 0.0
    asked: float = 0.0  # satisfaction: the households asked (its coverage rule)

    @property
    def label(self) -> str:
        return LABELS[self.key][0]

    @property
    def factor(self) -> float:
        """What the coverage rule keeps of the rate (1 but for satisfaction)."""
        from pm_cli.surveys.rules import factor

        return factor(self.denominator, self.asked) if self.key == "satisfaction" else 1.0

    @property
    def rate(self) -> float | None:
        if not self.denominator:
            return None
        return self.numerator / self.denominator * self.factor

    def record(self) -> dict[str, Any]:
        rate = self.rate
        out: dict[str, Any] = {
            "kpi": self.key,
            "label": self.label,
            "numerator": number(self.numerator),
            "denominator": number(self.denominator),
            "rate": None if rate is None else round(rate, 4),
            "what": LABELS[self.key][1],
        }
        if self.key == "satisfaction" and self.denominator:
            out["coverage"] = {
                "numerator": number(self.denominator),
                "denominator": number(self.asked),
                "rate": round(self.denominator / self.asked, 4) if self.asked else None,
                "factor": round(self.factor, 4),
            }
        return out


def number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)


_DAYS: dict[date, tuple[str, str, str]] = {}  # a day's (month, ISO week, day) keys


@dataclass
class Facts:
    """What was counted, each with where it belongs: (kpi, grid, service, staff, month,
    ISO week) → [numerator, denominator]. Summed whole for the site, or by one dimension."""

    tz: str | None
    grids: dict[str, str]
    staff: dict[str, str]
    cells: dict[tuple[str, str, str, str, str, str, str], list[float]] = field(default_factory=dict)
    ids: bool = False  # keep grid and staff ids, not codes (what a rollup stores)

    def add(
        self,
        kpi: str,
        num: float,
        den: float,
        *,
        at: datetime | str,
        grid_id: str | None = None,
        service: str | None = None,
        staff_id: str | None = None,
        asked: float = 0.0,
    ) -> None:
        from pm_cli.dates import zone

        t = (parse_utc(at) if isinstance(at, str) else at).astimezone(zone(self.tz))
        if self.ids:
            grid, staff = grid_id or NONE, staff_id or NONE
        else:
            grid = self.grids.get(grid_id, NONE) if grid_id else NONE
            staff = self.staff.get(staff_id, NONE) if staff_id else NONE
        self.put(kpi, grid, service or NONE, staff, t.date(), num, den, asked)

    def put(
        self,
        kpi: str,
        grid: str,
        service: str,
        staff: str,
        day: date,
        num: float,
        den: float,
        asked: float,
    ) -> None:
        """Count into one cell: a KPI's fact on a site day (its month and ISO week follow)."""
        when = _DAYS.get(day)
        if when is None:
            year, week, _ = day.isocalendar()
            when = _DAYS[day] = (day.strftime("%Y-%m"), f"{year}-W{week:02d}", day.isoformat())
        key = (kpi, grid, service, staff, *when)
        cell = self.cells.setdefault(key, [0.0, 0.0, 0.0])
        cell[0] += num
        cell[1] += den
        cell[2] += asked

    def total(self) -> list[Kpi]:
        out = {k: Kpi(k) for k in KEYS}
        for (kpi, *_), (num, den, asked) in self.cells.items():
            out[kpi].numerator += num
            out[kpi].denominator += den
            out[kpi].asked += asked
        return list(out.values())

    def only(self, dimension: str, group: str) -> Facts:
        """The facts of one group of a dimension (a grid's, to split it by service)."""
        at = 1 + DIMENSIONS.index(dimension)
        return Facts(
            self.tz,
            self.grids,
            self.staff,
            {key: cell for key, cell in self.cells.items() if key[at] == group},
        )

    def by(self, dimension: str) -> dict[str, list[Kpi]]:
        at = 1 + DIMENSIONS.index(dimension)
        groups: dict[str, dict[str, Kpi]] = {}
        for key, (num, den, asked) in self.cells.items():
            g = groups.get(key[at])
            if g is None:
                g = groups[key[at]] = {k: Kpi(k) for k in KEYS}
            x = g[key[0]]
            x.numerator += num
            x.denominator += den
            x.asked += asked
        return {name: list(groups[name].values()) for name in sorted(groups)}


@dataclass
class Period:
    since: datetime
    until: datetime
    now: datetime

    @property
    def end(self) -> datetime:
        """Where counting stops: the period's end, or now if that comes first."""
        return min(self.until, self.now)

    def holds(self, text: str | None) -> bool:
        return text is not None and self.since <= parse_utc(text) < self.end
