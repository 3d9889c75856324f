"""The 1000-point site score (千分制, domain.md §7): each KPI earns its points × its rate; a
KPI with nothing to measure drops out and the others scale up to 1000; deductions come off
the total (floor 0); the band names the result.

The arithmetic is kept whole for `--explain`: the lines' points minus the deductions are the
score, to the tenth of a point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pm_cli.reports.kpi import NONE, Kpi, Kpis

TOTAL = 1000
# (kpi, points, category) — the default weights of domain.md §7; the category is the heading
# assessors file it under (docs/reports.md has the mapping).
WEIGHTS: tuple[tuple[str, int, str], ...] = (
    ("inspections", 200, "共用设施设备 Facilities"),
    ("on_time", 100, "基础管理 Management"),
    ("steps_passed", 100, "环境管理 Environment"),
    ("response_sla", 100, "客户服务与满意度 Service"),
    ("resolution_sla", 100, "客户服务与满意度 Service"),
    ("closed", 100, "基础管理 Management"),
    ("drills_on_schedule", 100, "秩序维护与消防安全 Safety"),
    ("drill_targets", 75, "秩序维护与消防安全 Safety"),
    ("risk_reviews", 75, "秩序维护与消防安全 Safety"),
    ("complaints", 50, "客户服务与满意度 Service"),
    ("satisfaction", 100, "客户服务与满意度 Service"),
)
OVERDUE_CRITICAL = 50  # per critical item overdue at the period's end
UNCONTROLLED_RISK = 20  # per critical risk without a control step or a drill
BANDS = ((900, "优秀 excellent"), (800, "良好 good"), (700, "合格 pass"), (0, "不合格 fail"))


@dataclass(frozen=True)
class Scheme:
    """The rules a score is counted by: domain.md §7's by default, or a company's own
    (`--weights FILE`, reports.weights)."""

    weights: tuple[tuple[str, int, str], ...] = WEIGHTS
    overdue_critical: int = OVERDUE_CRITICAL
    uncontrolled_risk: int = UNCONTROLLED_RISK
    bands: tuple[tuple[int, str], ...] = BANDS
    source: str = "default"  # the weights file, or "default"


DEFAULT = Scheme()


def band(score: float, scheme: Scheme = DEFAULT) -> str:
    return next(name for floor, name in scheme.bands if score >= floor)


@dataclass
class Score:
    score: float | None  # None: nothing to measure, no score
    band: str | None
    lines: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    deductions: list[dict[str, Any]] = field(default_factory=list)
    scaled_from: int = TOTAL  # the points of the KPIs that had something to measure

    def record(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "lines": self.lines,
            "dropped": self.dropped,
            "deductions": self.deductions,
            "scaled_from": self.scaled_from,
        }


def score(k: Kpis, scheme: Scheme = DEFAULT) -> Score:
    """The site's score."""
    return score_of(k.kpis, deductions(k, scheme=scheme), scheme)


def deductions(
    k: Kpis, dimension: str | None = None, group: str | None = None, scheme: Scheme = DEFAULT
) -> list[dict[str, Any]]:
    """The site's deductions; with a dimension, those of one group of it (by grid: the item's
    or risk's grid; by staff: its owner; services and months carry none)."""

    def mine(grid_id: str | None, owner_id: str | None) -> bool:
        if dimension is None:
            return True
        f = k.facts
        if dimension == "grid":
            return (f.grids.get(grid_id, NONE) if grid_id else NONE) == group
        if dimension == "staff":
            return (f.staff.get(owner_id, NONE) if owner_id else NONE) == group
        return False

    out: list[dict[str, Any]] = [
        {
            "reason": f"critical item {_item(i)} overdue at the period's end",
            "points": scheme.overdue_critical,
        }
        for i in k.overdue_critical
        if mine(i.grid_id, i.owner_id) and scheme.overdue_critical
    ]
    out += [
        {
            "reason": f"critical risk {r.code} has no control step or drill",
            "points": scheme.uncontrolled_risk,
        }
        for r in k.uncontrolled
        if mine(r.grid_id, r.owner_id) and scheme.uncontrolled_risk
    ]
    return out


def score_of(kpis: list[Kpi], cuts: list[dict[str, Any]], scheme: Scheme = DEFAULT) -> Score:
    """Points × rate of each KPI measured, scaled to 1000, less the deductions `cuts`."""
    by_key = {x.key: x for x in kpis}
    measured: list[tuple[str, int, str, Kpi]] = [
        (key, pts, cat, by_key[key])
        for key, pts, cat in scheme.weights
        if by_key[key].rate is not None
    ]
    dropped = [
        {
            "kpi": key,
            "label": by_key[key].label,
            "max": pts,
            "category": cat,
            "why": "nothing to measure in the period",
        }
        for key, pts, cat in scheme.weights
        if by_key[key].rate is None
    ]
    base = sum(pts for _, pts, _, _ in measured)
    if not base:
        return Score(None, None, dropped=dropped, deductions=cuts, scaled_from=0)
    tops = [pts * TOTAL / base for _, pts, _, _ in measured]
    maxes = _apportion(tops)
    points = _apportion(
        [top * (kpi.rate or 0.0) for top, (*_, kpi) in zip(tops, measured, strict=True)]
    )
    lines: list[dict[str, Any]] = []
    for (key, pts, cat, kpi), top, got in zip(measured, maxes, points, strict=True):
        rec = kpi.record()
        lines.append(
            {
                "kpi": key,
                "label": kpi.label,
                "category": cat,
                "points": got,
                "max": top,
                "weight": pts,
                "rate": round(kpi.rate or 0.0, 4),
                "numerator": rec["numerator"],
                "denominator": rec["denominator"],
                **({"coverage": rec["coverage"]} if "coverage" in rec else {}),
            }
        )
    earned = round(sum(line["points"] for line in lines), 1)
    total = max(0.0, round(earned - sum(d["points"] for d in cuts), 1))
    return Score(total, band(total, scheme), lines, dropped, cuts, base)


def _apportion(values: list[float]) -> list[float]:
    """The values to a tenth each, summing to their exact sum's tenth (largest remainder):
    three KPIs of 333.33… points are 333.4 + 333.3 + 333.3, not 999.9."""
    tenths = [v * 10 for v in values]
    floors = [int(t + 1e-9) for t in tenths]
    short = round(sum(tenths)) - sum(floors)
    for i in sorted(range(len(values)), key=lambda i: floors[i] - tenths[i])[: max(0, short)]:
        floors[i] += 1
    return [f / 10 for f in floors]


def by(k: Kpis, dimension: str, scheme: Scheme = DEFAULT) -> list[dict[str, Any]]:
    """One score per group of a dimension (grid, service, staff, month, week), best
    first."""
    from pm_cli.reports.kpi import KEYS

    groups = k.facts.by(dimension)
    f = k.facts
    if dimension in ("grid", "staff"):  # a group may hold a deduction and nothing measured
        names = f.grids if dimension == "grid" else f.staff
        for row in (*k.overdue_critical, *k.uncontrolled):
            ref = row.grid_id if dimension == "grid" else row.owner_id
            groups.setdefault(names.get(ref, NONE) if ref else NONE, [Kpi(x) for x in KEYS])
    out = []
    for group, kpis in groups.items():
        s = score_of(kpis, deductions(k, dimension, group, scheme), scheme)
        out.append({dimension: group, **s.record()})
    return sorted(out, key=lambda r: (r["score"] is None, -(r["score"] or 0), r[dimension]))


def _item(item: Any) -> str:
    return f"#{item.no}" if item.no is not None else f"#~{item.id[-8:]}"


def by_category(s: Score) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in s.lines:
        c = out.setdefault(
            line["category"], {"category": line["category"], "points": 0.0, "max": 0.0, "kpis": []}
        )
        c["points"] = round(c["points"] + line["points"], 1)
        c["max"] = round(c["max"] + line["max"], 1)
        c["kpis"].append(line["kpi"])
    return list(out.values())


def explain(s: Score) -> list[str]:
    """The score's arithmetic in lines a person can check."""
    if s.score is None:
        return [
            "no score: nothing to measure in the period (no inspection due, no item, "
            "no drill, no open risk)"
        ]
    out = []
    if s.dropped:
        names = ", ".join(f"{d['kpi']} ({d['max']})" for d in s.dropped)
        out.append(
            f"dropped, nothing to measure: {names}; the other {s.scaled_from} points "
            f"scale to {TOTAL} (× {TOTAL / s.scaled_from:.3f})"
        )
    for line in s.lines:
        cov = line.get("coverage")
        kept = (
            f" × coverage {cov['numerator']}/{cov['denominator']} ÷ 70 % ({cov['factor']:.3f})"
            if cov and cov["factor"] < 1
            else ""
        )
        out.append(
            f"{line['kpi']:<20} {line['numerator']}/{line['denominator']}{kept} = "
            f"{line['rate']:.1%} × {line['max']} = {line['points']}"
        )
    earned = round(sum(line["points"] for line in s.lines), 1)
    out.append(f"{'earned':<20} {earned}")
    for d in s.deductions:
        out.append(f"{'−' + str(d['points']):<20} {d['reason']}")
    out.append(f"{'score':<20} {s.score} — {s.band}")
    return out
