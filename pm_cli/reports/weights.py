"""A company's own score weights (`pm report score --weights FILE`): a YAML file checked like
a playbook, every problem at its `FILE:LINE:COL`. Whatever it leaves out keeps domain.md
§7's default.

    points:                 # a KPI's points; 0 leaves it out of the score
      inspections: 250
      satisfaction: 150
      complaints: 0
    deductions:             # points off per case
      overdue_critical: 50
      uncontrolled_risk: 20
    bands:                  # the lowest score of each band
      excellent: 900
      good: 800
      pass: 700
    categories:             # the heading a KPI is filed under
      satisfaction: 客户服务与满意度 Service
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pm_cli.errors import InputError, Problem
from pm_cli.reports import score as scoring
from pm_cli.reports.kpi import KEYS

KpiKey = Literal[
    "inspections",
    "on_time",
    "steps_passed",
    "response_sla",
    "resolution_sla",
    "closed",
    "drills_on_schedule",
    "drill_targets",
    "risk_reviews",
    "complaints",
    "satisfaction",
]
Points = Annotated[int, Field(ge=0, le=10_000)]
Heading = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Deductions(_Strict):
    overdue_critical: Points = scoring.OVERDUE_CRITICAL
    uncontrolled_risk: Points = scoring.UNCONTROLLED_RISK


class Bands(_Strict):
    excellent: Annotated[int, Field(ge=1, le=1000)] = 900
    good: Annotated[int, Field(ge=1, le=1000)] = 800
    # `pass` is a Python keyword: the field is `pass_`, the file's key `pass`
    pass_: Annotated[int, Field(ge=1, le=1000, alias="pass")] = 700

    @model_validator(mode="after")
    def _descending(self) -> Bands:
        if not self.excellent > self.good > self.pass_:
            raise ValueError(
                f"bands go down: excellent ({self.excellent}) > good "
                f"({self.good}) > pass ({self.pass_})"
            )
        return self


class WeightsFile(_Strict):
    points: dict[KpiKey, Points] = Field(default_factory=dict)
    deductions: Deductions = Field(default_factory=Deductions)
    bands: Bands = Field(default_factory=Bands)
    categories: dict[KpiKey, Heading] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something_scored(self) -> WeightsFile:
        default = {key: pts for key, pts, _ in scoring.WEIGHTS}
        given: dict[str, int] = {str(k): v for k, v in self.points.items()}
        if not any(given.get(k, default.get(k, 0)) for k in KEYS):
            raise ValueError("every KPI has 0 points: nothing would be scored")
        return self


def scheme_of(spec: WeightsFile, source: str) -> scoring.Scheme:
    default = {key: (pts, cat) for key, pts, cat in scoring.WEIGHTS}
    points: dict[str, int] = {str(k): v for k, v in spec.points.items()}
    headings: dict[str, str] = {str(k): v for k, v in spec.categories.items()}
    weights = []
    for key in KEYS:
        pts, cat = default.get(key, (0, "其他 Other"))
        pts = points.get(key, pts)
        if pts:
            weights.append((key, pts, headings.get(key, cat)))
    b = spec.bands
    return scoring.Scheme(
        tuple(weights),
        spec.deductions.overdue_critical,
        spec.deductions.uncontrolled_risk,
        (
            (b.excellent, "优秀 excellent"),
            (b.good, "良好 good"),
            (b.pass_, "合格 pass"),
            (0, "不合格 fail"),
        ),
        source,
    )


def load(path: Path) -> scoring.Scheme:
    """The scheme of a weights file; an InputError naming each problem's line."""
    from pm_cli.yamlfile import parse_checked, read_text

    text, problems = read_text(path, "weights file")
    spec = None
    if text is not None:
        spec, problems = parse_checked(
            text,
            str(path),
            WeightsFile,
            noun="weights",
            shape="a weights file is a mapping (points: …, deductions: …, bands: …, categories: …)",
        )
    if spec is None:
        raise InputError(
            problems or [Problem(str(path), "not a weights file")],
            source=str(path),
            outcome="no score was counted",
            hint="docs/reports.md shows a weights file",
        )
    return scheme_of(spec, str(path))
