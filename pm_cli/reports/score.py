"""The 1000-point site score (千分制, domain.md §7): each KPI earns its points × its rate; a
KPI with nothing to measure drops out and the others scale up to 1000; deductions come off
the total (floor 0); the band names the result.

The arithmetic is kept whole for `--explain`: the lines' points minus the deductions are the
score, to the tenth of a point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pm_cli.reports.kpi import Kpi, Kpis

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
)
OVERDUE_CRITICAL = 50  # per critical item overdue at the period's end
UNCONTROLLED_RISK = 20  # per critical risk without a control step or a drill
BANDS = ((900, "优秀 excellent"), (800, "良好 good"), (700, "合格 pass"), (0, "不合格 fail"))


def band(score: float) -> str:
    return next(name for floor, name in BANDS if score >= floor)


@dataclass
class Score:
    score: float | None  # None: nothing to measure, no score
    band: str | None
    lines: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    deductions: list[dict[str, Any]] = field(default_factory=list)
    scaled_from: int = TOTAL  # the points of the KPIs that had something to measure

    def record(self) -> dict[str, Any]:
        return {"score": self.score, "band": self.band, "lines": self.lines,
                "dropped": self.dropped, "deductions": self.deductions,
                "scaled_from": self.scaled_from}


def score(k: Kpis) -> Score:
    measured: list[tuple[str, int, str, Kpi]] = [
        (key, pts, cat, k.get(key)) for key, pts, cat in WEIGHTS if k.get(key).rate is not None]
    dropped = [{"kpi": key, "label": k.get(key).label, "max": pts, "category": cat,
                "why": "nothing to measure in the period"}
               for key, pts, cat in WEIGHTS if k.get(key).rate is None]
    base = sum(pts for _, pts, _, _ in measured)
    if not base:
        return Score(None, None, dropped=dropped, scaled_from=0)
    lines: list[dict[str, Any]] = []
    for key, pts, cat, kpi in measured:
        top = pts * TOTAL / base
        rate = kpi.rate or 0.0
        lines.append({"kpi": key, "label": kpi.label, "category": cat,
                      "points": round(top * rate, 1), "max": round(top, 1), "weight": pts,
                      "rate": round(rate, 4), "numerator": kpi.record()["numerator"],
                      "denominator": kpi.record()["denominator"]})
    deductions: list[dict[str, Any]] = [{"reason": f"critical item {_item(i)} overdue at the period's end",
                   "points": OVERDUE_CRITICAL} for i in k.overdue_critical]
    deductions += [{"reason": f"critical risk {r.code} has no control step or drill",
                    "points": UNCONTROLLED_RISK} for r in k.uncontrolled]
    earned = round(sum(line["points"] for line in lines), 1)
    total = max(0.0, round(earned - sum(d["points"] for d in deductions), 1))
    return Score(total, band(total), lines, dropped, deductions, base)


def _item(item: Any) -> str:
    return f"#{item.no}" if item.no is not None else f"#~{item.id[-8:]}"


def by_category(s: Score) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in s.lines:
        c = out.setdefault(line["category"], {"category": line["category"], "points": 0.0,
                                              "max": 0.0, "kpis": []})
        c["points"] = round(c["points"] + line["points"], 1)
        c["max"] = round(c["max"] + line["max"], 1)
        c["kpis"].append(line["kpi"])
    return list(out.values())


def explain(s: Score) -> list[str]:
    """The score's arithmetic in lines a person can check."""
    if s.score is None:
        return ["no score: nothing to measure in the period (no inspection due, no item, "
                "no drill, no open risk)"]
    out = []
    if s.dropped:
        names = ", ".join(f"{d['kpi']} ({d['max']})" for d in s.dropped)
        out.append(f"dropped, nothing to measure: {names}; the other {s.scaled_from} points "
                   f"scale to {TOTAL} (× {TOTAL / s.scaled_from:.3f})")
    for line in s.lines:
        out.append(f"{line['kpi']:<20} {line['numerator']}/{line['denominator']} = "
                   f"{line['rate']:.1%} × {line['max']} = {line['points']}")
    earned = round(sum(line["points"] for line in s.lines), 1)
    out.append(f"{'earned':<20} {earned}")
    for d in s.deductions:
        out.append(f"{'−' + str(d['points']):<20} {d['reason']}")
    out.append(f"{'score':<20} {s.score} — {s.band}")
    return out
