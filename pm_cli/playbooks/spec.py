"""The playbook format (DESIGN §7) as pydantic models: validation, defaults, JSON Schema."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SERVICES = (
    "cleaning",
    "security",
    "landscaping",
    "repairs",
    "equipment",
    "elevators",
    "fire",
    "water",
    "parking",
    "customer-service",
    "waste",
    "renovation",
)
Service = Literal[
    "cleaning",
    "security",
    "landscaping",
    "repairs",
    "equipment",
    "elevators",
    "fire",
    "water",
    "parking",
    "customer-service",
    "waste",
    "renovation",
]
Kind = Literal["check", "reading", "photo", "text"]
Severity = Literal["minor", "major", "critical"]
Evidence = Literal["none", "photo", "photo-on-fail"]

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    # allow_inf_nan: a range of {min: .nan} would accept (or refuse) every reading
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


class Range(_Strict):
    """Accepted values of a reading; one side may be left out."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self

    def contains(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self, unit: str | None = None) -> str:
        u = f" {unit}" if unit else ""
        if self.min is not None and self.max is not None:
            return f"{self.min:g}–{self.max:g}{u}"
        if self.min is not None:
            return f"≥ {self.min:g}{u}"
        return f"≤ {self.max:g}{u}"


class Step(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
    title: Short
    instruction: Text
    acceptance: Text
    kind: Kind = "check"
    unit: Short | None = None
    range: Range | None = None
    severity: Severity = "minor"
    evidence: Evidence = "none"
    minutes: Annotated[float, Field(gt=0, le=1440)] | None = None
    role: Short | None = None
    safety: Text | None = None
    ref: Short | None = None
    weight: Annotated[float, Field(gt=0, le=100)] = 1
    opens_item: bool | None = None
    required: bool = True

    @model_validator(mode="after")
    def _reading(self) -> Step:
        if self.kind == "reading":
            missing = [k for k in ("unit", "range") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a reading needs {' and '.join(missing)}")
        elif self.range is not None or self.unit is not None:
            raise ValueError(f"unit and range are for readings, not for a {self.kind} step")
        return self

    @property
    def opens(self) -> bool:
        """Does a failure open an improvement item? Major and critical do, unless told."""
        if self.opens_item is not None:
            return self.opens_item
        return self.severity in ("major", "critical")


class Playbook(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]*$", max_length=80)]
    version: Annotated[int, Field(ge=1)]
    title: Short
    service: Service
    schedule: Short | None = None
    estimated_minutes: Annotated[float, Field(gt=0, le=10080)] | None = None
    steps: Annotated[list[Step], Field(min_length=1, max_length=500)]

    @field_validator("schedule")
    @classmethod
    def _rrule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from pm_cli.recurrence import parse_rule

        parse_rule(value)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _unique_steps(self) -> Playbook:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return self

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def canonical(self) -> str:
        """The content as compact JSON with sorted keys: what sha256 and storage use."""
        return json.dumps(
            self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """As --json shows it: every key, a range always with both sides."""
        return self.model_dump(mode="json")


def json_schema() -> dict[str, Any]:
    schema = Playbook.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "pm playbook"
    return schema
