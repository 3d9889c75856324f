"""The rules of an improvement item that need no database: the site's SLA table, its phase,
cycles and SLA clocks derived from its append-only events, and the record every command
prints. Items and events are anything read by attribute (model rows or Core rows), so the
commands that only read (`pdca.read`) use them without building the models."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pm_cli.store.ids import utc_text

if TYPE_CHECKING:
    from pm_cli.sites.models import Site

PHASES = ("plan", "do", "check", "act", "closed")
RANK = {p: i for i, p in enumerate(PHASES)}
SOURCES = ("step", "drill", "risk", "complaint", "audit", "manual")
RESULTS = ("effective", "not-effective")
# hours to respond, hours to resolve (domain.md §6 defaults; per site with `pm pdca sla`)
DEFAULT_SLA: dict[str, tuple[float, float]] = {
    "critical": (1, 24),
    "major": (4, 72),
    "minor": (24, 7 * 24),
}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sla(site: Site) -> dict[str, tuple[float, float]]:
    """(hours to respond, hours to resolve) by severity: the defaults, with the site's own."""
    out = dict(DEFAULT_SLA)
    for sev, pair in (site.sla or {}).items():
        if sev in out and isinstance(pair, list) and len(pair) == 2:
            out[sev] = (float(pair[0]), float(pair[1]))
    return out


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)?\s*$", re.I)


def parse_hours(text: str) -> float:
    """`90m`, `4h`, `7d`, `2.5` (hours) → hours."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (e.g. 30m, 4h, 7d)")
    n, unit = float(m[1]), (m[2] or "h").lower()
    hours = n / 60 if unit in ("m", "min") else n * 24 if unit == "d" else n
    if hours <= 0:
        raise ValueError("a duration must be more than zero")
    return hours


@dataclass
class Cycle:
    """One turn of plan → … → act: when it started and when it was answered and resolved."""

    no: int
    started_at: str | None = None  # None for cycle 1: the item's own found time
    responded_at: str | None = None  # when it left plan in this cycle
    checked_at: str | None = None  # when it reached check in this cycle


@dataclass
class State:
    phase: str = "plan"
    cycle: int = 1
    result: str | None = None  # the verification result that led into act
    responded_at: str | None = None  # when the current cycle left plan
    checked_at: str | None = None  # when the current cycle reached check
    occurrences: int = 1
    events: list[Any] = field(default_factory=list)
    cycles: list[Cycle] = field(default_factory=list)
    withdrawn: Any = None  # the event that withdrew the item, if one did

    @property
    def status(self) -> str:
        """open | closed | withdrawn (an item raised in error: out of every list)."""
        return "withdrawn" if self.withdrawn else "closed" if self.phase == "closed" else "open"


def state_of(events: list[Any]) -> State:
    """Phase = the target of the largest (cycle, rank) transition (sync.md §4). Each cycle
    starts at its earliest transition back to plan (two laptops may both send one) and is
    answered and resolved by its own moves; every fact is an append-only event, so any
    delivery order gives the same state."""
    st = State(events=events)
    best: tuple[int, int] = (1, 0)
    cycles: dict[int, Cycle] = {1: Cycle(1)}
    gone: set[str] = set()  # occurrences withdrawn
    for e in sorted(events, key=lambda e: e.hlc):
        if e.kind == "withdraw":
            target = (e.data or {}).get("occurrence")
            if target:
                gone.add(str(target))
            elif st.withdrawn is None:
                st.withdrawn = e
            continue
        if e.kind != "transition" or e.to_phase not in RANK:
            continue
        key = (e.cycle or 1, RANK[e.to_phase])
        c = cycles.setdefault(key[0], Cycle(key[0]))
        if e.to_phase == "plan" and c.started_at is None and key[0] > 1:
            c.started_at = e.created_at
        if e.from_phase == "plan" and c.responded_at is None:
            c.responded_at = e.created_at
        if e.to_phase == "check" and c.checked_at is None:
            c.checked_at = e.created_at
        if key >= best:
            best = key
            st.phase, st.cycle = e.to_phase, key[0]
            if e.to_phase == "act":
                st.result = (e.data or {}).get("result")
    st.occurrences += sum(1 for e in events if e.kind == "occurrence" and e.id not in gone)
    st.cycles = [cycles[k] for k in sorted(cycles) if k <= st.cycle]
    now_cycle = cycles.get(st.cycle, Cycle(st.cycle))
    st.responded_at, st.checked_at = now_cycle.responded_at, now_cycle.checked_at
    return st


def clocks(item: Any, cycle: Cycle) -> tuple[str, str]:
    """(respond by, resolve by) of a cycle: cycle 1's are stored on the item; a later cycle
    gets fresh clocks from its start, with cycle 1's durations (the item's severity)."""
    if cycle.started_at is None:
        return item.respond_by, item.resolve_by
    found, start = _parse(item.created_at), _parse(cycle.started_at)
    return (
        utc_text(start + (_parse(item.respond_by) - found)),
        utc_text(start + (_parse(item.resolve_by) - found)),
    )


def allowed_next(st: State) -> list[str]:
    if st.withdrawn is not None:
        return []
    if st.phase == "act":
        return ["closed"] if st.result == "effective" else ["plan"]
    if st.phase == "closed":
        return []
    return [PHASES[RANK[st.phase] + 1]]


def label(item: Any) -> str:
    """How people name an item: `#17`, or `#~a1b2c3d4` until the server numbers it."""
    return f"#{item.no}" if item.no is not None else f"#~{item.id[-8:]}"


def ref(item: Any) -> str:
    """What commands take to find it again (the number, else `~` and the id's tail)."""
    return str(item.no) if item.no is not None else f"~{item.id[-8:]}"


def current_clocks(item: Any, st: State) -> tuple[str, str]:
    """(respond by, resolve by) of the item's current cycle."""
    return clocks(item, st.cycles[-1] if st.cycles else Cycle(st.cycle))


def breaches(item: Any, st: State, now: datetime) -> list[str]:
    """Current SLA breaches of an open item, against its current cycle's clocks: response
    and/or resolution overdue."""
    if st.status != "open":
        return []
    respond_by, resolve_by = current_clocks(item, st)
    out = []
    if st.responded_at is None and now > _parse(respond_by):
        out.append("response")
    if st.checked_at is None and now > _parse(resolve_by):
        out.append("resolution")
    return out


def record(
    item: Any,
    st: State,
    codes: tuple[dict[str, str], dict[str, str]],
    now: datetime | None = None,
    *,
    history: bool = False,
) -> dict[str, Any]:
    grids, staff = codes
    t = _now(now)
    respond_by, resolve_by = current_clocks(item, st)
    w = st.withdrawn
    rec: dict[str, Any] = {
        "no": item.no,
        "ref": ref(item),
        "label": label(item),
        "title": item.title,
        "phase": "withdrawn" if w else st.phase,
        "cycle": st.cycle,
        "status": st.status,
        "withdrawn": {
            "at": w.created_at,
            "by": staff.get(w.by_id) if w.by_id else None,
            "reason": w.note,
            "phase": st.phase,
        }
        if w
        else None,
        "severity": item.severity,
        "source": item.source,
        "source_ref": item.source_ref,
        "grid": grids.get(item.grid_id) if item.grid_id else None,
        "owner": staff.get(item.owner_id) if item.owner_id else None,
        "found_at": item.created_at,
        "respond_by": respond_by,
        "resolve_by": resolve_by,
        "responded_at": st.responded_at,
        "checked_at": st.checked_at,
        "occurrences": st.occurrences,
        "overdue": breaches(item, st, t),
        "next": allowed_next(st),
        "description": item.description,
        "plan": item.plan,
        "containment": item.containment,
        "root_cause": item.root_cause,
        "corrective": item.corrective,
        "preventive": item.preventive,
        "id": item.id,
        "cycles": [
            dict(
                zip(
                    (
                        "cycle",
                        "started_at",
                        "respond_by",
                        "resolve_by",
                        "responded_at",
                        "checked_at",
                    ),
                    (
                        c.no,
                        c.started_at or item.created_at,
                        *clocks(item, c),
                        c.responded_at,
                        c.checked_at,
                    ),
                    strict=True,
                )
            )
            for c in st.cycles
        ],
    }
    if history:
        rec["history"] = [
            {
                "at": e.created_at,
                "kind": e.kind,
                "from": e.from_phase,
                "to": e.to_phase,
                "cycle": e.cycle,
                "by": staff.get(e.by_id) if e.by_id else None,
                "note": e.note,
                **({"data": e.data} if e.data else {}),
            }
            for e in st.events
        ]
    return rec


def closed_in_sql(pdca: sa.Table, event: sa.Table) -> Any:
    """SQL: the item is closed (`state_of`: its top (cycle, rank) transition goes to closed,
    the top rank, so only a transition of a later cycle, a reopening, outranks it)."""
    c, later = event.alias("c"), event.alias("later")
    reopened = sa.exists().where(
        later.c.pdca_id == c.c.pdca_id,
        later.c.kind == "transition",
        later.c.to_phase.in_(list(RANK)),
        sa.func.coalesce(later.c.cycle, 1) > sa.func.coalesce(c.c.cycle, 1),
    )
    return sa.exists().where(
        c.c.pdca_id == pdca.c.id, c.c.kind == "transition", c.c.to_phase == "closed", ~reopened
    )
