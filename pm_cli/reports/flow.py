"""What happened in a period beside the KPIs (`pm report kpi`'s figures): the improvement
items' flow, the open risks by level, and each drill's response times. Counted by
`reports.kpi` in the same pass as the KPIs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Flow:
    """What happened in the period beside the KPIs: the items' flow, the open risks, and
    each drill's response times (their trend)."""

    opened: int = 0  # found in the period (not withdrawn)
    closed: int = 0  # moves to closed
    withdrawn: int = 0  # withdrawn (raised in error)
    verified: int = 0  # verifications (moves to act)
    reopened: int = 0  # sent back to plan in a later cycle (not effective)
    responded: int = 0  # cycles answered (left plan) in the period
    respond_hours: float = 0.0  # from the cycle's start to its answer, summed
    resolved: int = 0  # cycles resolved (reached check) in the period
    resolve_hours: float = 0.0
    risks_open: dict[str, int] = field(default_factory=dict)  # by level, at the period's end
    drills: list[dict[str, Any]] = field(default_factory=list)  # runs finished, oldest first

    def figures(self, kpis: list[Any]) -> list[dict[str, Any]]:
        """Each figure with what it is a count of: `numerator` over `denominator` (a mean:
        hours summed over cycles; a count: denominator null)."""
        from pm_cli.reports.facts import number

        def fig(
            key: str, label: str, num: float, den: float | None, unit: str, what: str
        ) -> dict[str, Any]:
            value = None if den == 0 else round(num / den, 4) if den is not None else number(num)
            return {
                "figure": key,
                "label": label,
                "numerator": number(round(num, 2)),
                "denominator": den,
                "value": value,
                "unit": unit,
                "what": what,
            }

        by = {k.key: k for k in kpis}
        ins = by["inspections"]
        levels = self.risks_open
        return [
            fig(
                "inspections_due",
                "应巡检 Inspections due",
                ins.denominator,
                None,
                "count",
                "scheduled walks and checklists due in the period",
            ),
            fig(
                "inspections_missed",
                "漏检 Inspections missed",
                ins.denominator - ins.numerator,
                ins.denominator,
                "rate",
                "due and not done ÷ due",
            ),
            fig(
                "items_opened",
                "新增整改 Items opened",
                self.opened,
                None,
                "count",
                "items found in the period (not withdrawn)",
            ),
            fig(
                "items_closed",
                "关闭整改 Items closed",
                self.closed,
                None,
                "count",
                "items closed in the period",
            ),
            fig(
                "items_withdrawn",
                "撤回整改 Items withdrawn",
                self.withdrawn,
                None,
                "count",
                "items withdrawn (raised in error) in the period",
            ),
            fig(
                "mean_time_to_respond",
                "平均响应时间 Mean time to respond",
                self.respond_hours,
                self.responded,
                "hours",
                "hours from an item's (cycle's) start to its answer ÷ items answered in the period",
            ),
            fig(
                "mean_time_to_resolve",
                "平均处理时间 Mean time to resolve",
                self.resolve_hours,
                self.resolved,
                "hours",
                "hours from an item's (cycle's) start to its check ÷ items resolved in the period",
            ),
            fig(
                "reopen_rate",
                "重开率 Reopen rate",
                self.reopened,
                self.verified,
                "rate",
                "items sent back to plan (not effective) ÷ verifications, in the period",
            ),
            *[
                fig(
                    f"risks_open_{lv}",
                    f"在册风险 Open risks: {lv}",
                    levels.get(lv, 0),
                    None,
                    "count",
                    f"open {lv} risks at the period's end",
                )
                for lv in ("critical", "major", "minor")
            ],
        ]
