"""Drill scenarios (专项预案): the bundled library, validated with pydantic."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DIR = Path(__file__).resolve().parent / "scenarios"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Role(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z]{2,5}$")]
    title: str
    duties: str | None = None


class Milestone(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    title: str
    target: Annotated[float, Field(ge=0)] | None = None  # minutes from T0
    rule: bool = False  # the target is a regulation's, not a default


class Task(_Strict):
    role: str
    text: str


class Scenario(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    title: str
    kind: Literal["special", "onsite"] = "special"
    frequency: str  # the required minimum frequency (RRULE)
    frequency_note: str | None = None
    roles: list[Role]
    milestones: Annotated[list[Milestone], Field(min_length=1)]
    tasks: list[Task] = []
    notes: str | None = None

    @field_validator("frequency")
    @classmethod
    def _rrule(cls, value: str) -> str:
        from pm_cli.recurrence import parse_rule

        parse_rule(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        ids = [m.id for m in self.milestones]
        if len(set(ids)) != len(ids):
            raise ValueError("milestone ids repeat")
        roles = {r.code for r in self.roles}
        bad = sorted({t.role for t in self.tasks} - roles)
        if bad:
            raise ValueError(f"tasks name roles the scenario does not have: {', '.join(bad)}")
        return self

    def milestone(self, mid: str) -> Milestone | None:
        return next((m for m in self.milestones if m.id == mid), None)


@cache
def library() -> dict[str, Scenario]:
    from pm_cli.errors import PmError
    from pm_cli.yamlfile import load_bundled

    out: dict[str, Scenario] = {}
    for path in sorted(DIR.glob("*.yaml")):
        try:
            sc = Scenario.model_validate(load_bundled(path.read_text(encoding="utf-8")))
        except Exception as e:  # a broken bundled file is a broken install
            raise PmError(
                f"bundled scenario {path.name} is invalid: {e}", hint="reinstall pm"
            ) from None
        out[sc.id] = sc
    return out


def get(scenario_id: str) -> Scenario:
    from pm_cli.errors import NotFoundError

    lib = library()
    if scenario_id not in lib:
        raise NotFoundError(
            f"no drill scenario {scenario_id!r}",
            hint="pm drill scenarios lists them: " + ", ".join(lib),
        )
    return lib[scenario_id]
