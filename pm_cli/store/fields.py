"""What a synced record's fields may hold, read from its model: one definition for the laptop
(checked at entry, in `store.write`) and the server (checked on every pushed change).

From the model: each field's type (strict: a string is a string, a list stays a list, no
NaN), its enum (a `Literal` annotation), whether a new record must carry it (no default).
By convention, the caps on text (docs/sync: "Limits"): names and titles 200 characters,
codes 64, other text 20,000, a JSON value 200,000 once encoded, a document column (playbook
YAML) 2,000,000; whole numbers fit a 32-bit INTEGER (what the server's PostgreSQL column holds);
names, codes and titles hold no control, bidi-override or zero-width character
(`validate.unsafe`, the same rule the laptop's entry checks use); fields named `*_at`, `at`,
`respond_by` and `resolve_by` hold an ISO date
and time, `schedule` and `review` an RRULE, `tz` an IANA zone, `window_*` an `HH:MM`, `day`
a date YYYY-MM-DD."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from pm_cli.store.engine import json_text
from pm_cli.validate import plain_error, unsafe

NAME_MAX = 200
CODE_MAX = 64
TEXT_MAX = 20_000
JSON_MAX = 200_000
DOC_MAX = 2_000_000
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL INTEGER; SQLite holds more

BOOKKEEPING = frozenset({"id", "site_id", "field_hlc", "updated_hlc", "hlc"})
_NAMES = frozenset({"name", "title"})
_PLAIN = frozenset({"code", "name", "title"})  # no invisible or terminal-control characters
_WHEN = frozenset({"at", "respond_by", "resolve_by"})
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _when(value: str) -> str | None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return "not an ISO date and time (e.g. 2026-12-02T08:00:00.000Z)"
    return None


def _rrule(value: str) -> str | None:
    from pm_cli.recurrence import parse_rule

    try:
        parse_rule(value)
    except ValueError as e:
        return str(e)
    return None


def _zone(value: str) -> str | None:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):
        return f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)"
    return None


def _hhmm(value: str) -> str | None:
    return None if _HHMM.match(value) else "not a time of day HH:MM"


def _day(value: str) -> str | None:
    from datetime import date

    try:
        if len(value) == 10:
            date.fromisoformat(value)
            return None
    except ValueError:
        pass
    return "not a date YYYY-MM-DD"


@dataclass(frozen=True)
class Fields:
    """The field rules of one synced table."""

    entity: str
    model: type[SQLModel]  # a strict pydantic model of the fields, every one optional
    names: frozenset[str]  # what a change may set
    required: frozenset[str]  # what a new record must carry
    caps: dict[str, int]  # text fields: most characters
    json: frozenset[str]
    formats: dict[str, Callable[[str], str | None]]
    ints: frozenset[str] = frozenset()  # INTEGER columns: INT_MIN..INT_MAX

    def problems(self, values: Mapping[str, Any], *, create: bool = False) -> list[tuple[str, str]]:
        """(field, why) for each value this table cannot hold; [] when all are fine."""
        from pydantic import ValidationError

        out: list[tuple[str, str]] = []
        unknown = sorted(set(values) - self.names)
        for name in unknown:
            out.append((name, f"unknown field {name} of {self.entity}"))
        known = {k: v for k, v in values.items() if k in self.names}
        try:
            self.model.model_validate(known)
        except ValidationError as e:
            for err in e.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"])
                out.append((loc, plain_error(err)))
        bad = {p[0].split(".")[0] for p in out}
        for name, value in known.items():
            if name in bad or value is None:
                continue
            if name in self.json:
                size = len(json_text(value))
                if size > JSON_MAX:
                    out.append(
                        (name, f"at most {JSON_MAX:,} characters once encoded (this one {size:,})")
                    )
                continue
            if isinstance(value, str):
                cap = self.caps.get(name)
                if cap is not None and len(value) > cap:
                    out.append((name, f"at most {cap:,} characters (this one {len(value):,})"))
                    continue
                if name in _PLAIN:
                    why = unsafe(value)
                    if why:
                        out.append((name, why))
                        continue
                check = self.formats.get(name)
                why = check(value) if check else None
                if why:
                    out.append((name, why))
            elif isinstance(value, float) and not math.isfinite(value):
                out.append((name, "not a finite number"))
            elif (
                isinstance(value, int)
                and not isinstance(value, bool)
                and name in self.ints
                and not INT_MIN <= value <= INT_MAX
            ):
                out.append((name, f"a whole number from {INT_MIN:,} to {INT_MAX:,}"))
        if create:
            for name in sorted(self.required - set(values)):
                out.append((name, f"a new {self.entity} needs {name}"))
        return out


@cache
def fields_of(model: type[SQLModel]) -> Fields:
    from pydantic import ConfigDict, create_model

    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    entity = table.name
    spec: dict[str, Any] = {}
    caps: dict[str, int] = {}
    formats: dict[str, Callable[[str], str | None]] = {}
    required: set[str] = set()
    json_cols: set[str] = set()
    ints: set[str] = set()
    for name, info in model.model_fields.items():
        if name in BOOKKEEPING:
            continue
        spec[name] = (info.annotation, None)
        if info.is_required():
            required.add(name)
        col = table.c.get(name)
        if (
            col is not None
            and isinstance(col.type, sa.Integer)
            and not isinstance(col.type, sa.BigInteger)
        ):
            ints.add(name)
            continue
        if col is not None and isinstance(col.type, sa.JSON):
            json_cols.add(name)
            continue
        if col is not None and isinstance(col.type, sa.Text):
            caps[name] = DOC_MAX
        elif name == "code":
            caps[name] = CODE_MAX
        elif name in _NAMES or name.endswith("_id"):
            caps[name] = NAME_MAX
        else:
            caps[name] = TEXT_MAX
        if name.endswith("_at") or name in _WHEN:
            formats[name] = _when
        elif name in ("schedule", "review"):
            formats[name] = _rrule
        elif name == "tz":
            formats[name] = _zone
        elif name.startswith("window_"):
            formats[name] = _hhmm
        elif name == "day":
            formats[name] = _day
    checker = create_model(
        f"{model.__name__}Fields",
        __config__=ConfigDict(strict=True, extra="ignore", allow_inf_nan=False),
        **spec,
    )
    return Fields(
        entity,
        checker,
        frozenset(spec),
        frozenset(required),
        caps,
        frozenset(json_cols),
        formats,
        frozenset(ints),
    )


def describe(problems: list[tuple[str, str]]) -> str:
    """One line for people: `name: at most 200 characters (this one 250); …`."""
    return "; ".join(f"{name}: {why}" for name, why in problems)
