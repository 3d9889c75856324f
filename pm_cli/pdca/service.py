"""PDCA improvement items: plan → do → check → act → closed, with SLA clocks, routing to
the grid's owner and de-duplication of repeated failures (domain.md §6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from pm_cli import validate as v
from pm_cli.errors import ConflictError, NotFoundError, PmError
from pm_cli.grids.models import Grid
from pm_cli.pdca.models import Pdca, PdcaEvent

# the rules that need no database live in pdca.rules; named here too, for the features
# that take them from the service
from pm_cli.pdca.rules import DEFAULT_SLA, PHASES, RESULTS, SOURCES, State, _now
from pm_cli.pdca.rules import allowed_next as allowed_next
from pm_cli.pdca.rules import breaches as breaches
from pm_cli.pdca.rules import current_clocks as current_clocks
from pm_cli.pdca.rules import label as label
from pm_cli.pdca.rules import record as record
from pm_cli.pdca.rules import ref as ref
from pm_cli.pdca.rules import state_of as state_of
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.ids import utc_text
from pm_cli.store.query import find_by_code, live

# ---- SLA -------------------------------------------------------------------------------


def sla(site: Site) -> dict[str, tuple[float, float]]:
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


def set_sla(session: Session, *, site: Site, severity: str, respond: str,
            resolve: str) -> dict[str, tuple[float, float]]:
    sev = v.check(v.risk_level, severity, field="--severity")
    r1 = v.check(parse_hours, respond, field="--respond")
    r2 = v.check(parse_hours, resolve, field="--resolve")
    if r2 < r1:
        raise PmError("resolve time is shorter than respond time", where="--resolve")
    table = {k: list(val) for k, val in sla(site).items()}
    table[sev] = [r1, r2]
    write.update(session, site, sla=table)
    return sla(site)


# ---- state derived from events ---------------------------------------------------------


def events_of(session: Session, item: Pdca) -> list[PdcaEvent]:
    return list(session.exec(select(PdcaEvent).where(PdcaEvent.pdca_id == item.id)
                             .order_by(PdcaEvent.hlc)))


# ---- finding items ---------------------------------------------------------------------


def get_item(session: Session, *, site: Site, no: str | int) -> Pdca:
    """The item to change, found as `pdca.read.get_item` finds it (its errors too)."""
    from pm_cli.pdca import read

    item = session.get(Pdca, read.get_item(session, site=site, no=no).id)
    assert item is not None  # found in this transaction a moment ago
    return item


def _staff_id(session: Session, site: Site, code: str | None, where: str) -> str | None:
    if not code:
        return None
    row = find_by_code(session, Staff, code, site_id=site.id, noun="staff member",
                       where=site.code)
    if row is None:
        raise PmError(f"{code} is not staff of site {site.code}", where=where,
                      hint="`pm staff list` shows who is there")
    return row.id


def route_owner(session: Session, *, site: Site, grid_id: str | None) -> str | None:
    """The grid's owner, else the site manager (first manager by code), else nobody."""
    if grid_id:
        grid = session.get(Grid, grid_id)
        if grid is not None and grid.owner_id:
            owner = session.get(Staff, grid.owner_id)
            if owner is not None and not owner.deleted:
                return owner.id
    manager = session.exec(live(Staff, site.id).where(Staff.role == "manager")
                           .order_by(Staff.code)).first()
    return manager.id if manager else None


def _taken(session: Session, site: Site, no: int) -> bool:
    return session.exec(select(Pdca.id).where(Pdca.site_id == site.id, Pdca.no == no)).first() \
        is not None


def _next_no(session: Session, site: Site) -> int | None:
    """The lowest unused number of this laptop's blocks for the site; for a site that has
    never synced (this database is its only authority) max + 1; else None: the item is
    numbered by the server at the next sync (sync.md §2)."""
    from pm_cli.store.changes import NumberBlock

    block = session.exec(select(NumberBlock).where(
        NumberBlock.site_id == site.id, NumberBlock.next_no <= NumberBlock.last)
        .order_by(col(NumberBlock.first))).first()
    if block is not None:
        n = block.next_no
        block.next_no += 1
        session.add(block)
        return n
    if _site_synced(session, site):
        return None
    top = session.exec(select(func.max(Pdca.no)).where(Pdca.site_id == site.id)).one()
    return (top or 0) + 1


def _site_synced(session: Session, site: Site) -> bool:
    """Has the server seen this site? It was made on another device (its creation stamp
    names that device), the server has handed out number blocks for it, or its creation
    here was pushed and acknowledged."""
    from sqlalchemy import text

    from pm_cli.store.changes import Change, NumberBlock, SyncState

    state = session.get(SyncState, 1)
    made = (site.field_hlc or {}).get("created_at") or site.updated_hlc
    if state is not None and made and not made.endswith("-" + state.device_id):
        return True
    # the server hands number blocks only for sites it holds; they are kept once used up,
    # so this holds after the acked creation change is pruned (90 days on)
    if session.exec(select(NumberBlock.site_id).where(NumberBlock.site_id == site.id)
                    ).first() is not None:
        return True
    return session.exec(select(Change.change_id).where(  # ix_change_site_record (literal)
        text("entity = 'site'"), Change.record_id == site.id,
        Change.state == "acked")).first() is not None


# ---- writing ---------------------------------------------------------------------------


@dataclass
class Opened:
    item: Pdca
    created: bool  # False: an occurrence was added to an open item


def add_item(
    session: Session, *, site: Site, title: str, severity: str, grid: str | None = None,
    grid_id: str | None = None, owner: str | None = None, source: str = "manual",
    source_ref: str | None = None, description: str | None = None, by_id: str | None = None,
    dedup_key: str | None = None, now: datetime | None = None, no: int | None = None,
) -> Opened:
    """Open an item (routed to the grid's owner, else the site manager); a repeat of an open
    item's failure (same dedup key) adds an occurrence to it instead."""
    sev = v.check(v.risk_level, severity, field="--severity")
    if source not in SOURCES:
        raise PmError(f"unknown source {source!r}", where="--source",
                      hint="use " + "|".join(SOURCES) + " (KIND:REF)")
    if grid:
        g = find_by_code(session, Grid, grid, site_id=site.id, noun="grid", where=site.code)
        if g is None:
            raise NotFoundError(f"no grid {grid} at {site.code}", where="--grid")
        grid_id = g.id
    if dedup_key:
        for other in session.exec(live(Pdca, site.id).where(Pdca.dedup_key == dedup_key)):
            if state_of(events_of(session, other)).status == "open":
                write.append(session, PdcaEvent, site_id=site.id, pdca_id=other.id,
                             kind="occurrence", by_id=by_id, note=v.optional_text(title),
                             data={"source_ref": source_ref})
                return Opened(other, False)
    owner_id = _staff_id(session, site, owner, "--owner") if owner else \
        route_owner(session, site=site, grid_id=grid_id)
    respond_h, resolve_h = sla(site)[sev]
    t = _now(now)
    item = write.create(
        session, Pdca, site_id=site.id, created_at=utc_text(t),
        no=no if no and not _taken(session, site, no) else _next_no(session, site),
        title=v.check(v.name, title, field="TITLE"), description=v.optional_text(description),
        source=source, source_ref=source_ref, dedup_key=dedup_key, grid_id=grid_id,
        owner_id=owner_id, severity=sev,
        respond_by=utc_text(t + timedelta(hours=respond_h)),
        resolve_by=utc_text(t + timedelta(hours=resolve_h)),
    )
    return Opened(item, True)


def advance(
    session: Session, *, site: Site, no: str | int, to: str, plan: str | None = None,
    note: str | None = None, result: str | None = None, playbook: str | None = None,
    by_id: str | None = None, now: datetime | None = None,
) -> State:
    """Move an item along plan → do → check → act → closed (or act → plan when the fix was
    not effective, raising the cycle). Each move needs what the phase is about."""
    item = get_item(session, site=site, no=no)
    st = state_of(events_of(session, item))
    target = to.strip().lower()
    if target not in PHASES:
        raise PmError(f"unknown phase {to!r}", where="--to", hint="plan|do|check|act|closed")
    _refuse_withdrawn(item, st)
    allowed = allowed_next(st)
    if target not in allowed:
        if st.phase == "closed":
            raise ConflictError(f"{label(item)} is closed", hint=f"pm pdca reopen {ref(item)}")
        raise ConflictError(
            f"{label(item)} cannot move from {st.phase} to {target}",
            hint=f"from {st.phase} the next phase is {' or '.join(allowed)}")
    data: dict[str, Any] = {}
    cycle = st.cycle
    if target == "do":
        if plan:
            write.update(session, item, plan=v.optional_text(plan))
        if not item.owner_id:
            raise PmError(f"{label(item)} has no owner", hint=f"pm pdca assign {ref(item)} STAFF")
        if not item.plan:
            raise PmError(f"{label(item)} needs a plan before do", where="--plan",
                          hint="the containment and repair plan: --plan TEXT")
    elif target == "check":
        if not (note or "").strip():
            raise PmError("say what was done: a completion note", where="--note")
    elif target == "act":
        if result is None or result.strip().lower() not in RESULTS:
            raise PmError("give the verification result", where="--result",
                          hint="--result effective|not-effective")
        data["result"] = result.strip().lower()
    elif target == "closed":
        if not (note or "").strip():
            raise PmError("say how it was standardised", where="--note",
                          hint="e.g. the playbook step changed, training given")
        missing = [k for k in ("root_cause", "preventive") if not getattr(item, k)]
        if missing:
            needs = " and ".join(m.replace("_", " ") for m in missing)
            raise PmError(f"{label(item)} needs {needs} before closing",
                          hint=f"pm pdca edit {ref(item)} --root-cause TEXT --preventive TEXT")
        if playbook:
            from pm_cli.playbooks.service import get

            pinned = get(session, playbook)
            data["playbook"] = f"{pinned.playbook.id}@{pinned.version}"
    elif target == "plan":  # act → plan: the fix was not effective
        cycle += 1
    write.append(session, PdcaEvent, site_id=site.id, pdca_id=item.id, kind="transition",
                 from_phase=st.phase, to_phase=target, cycle=cycle, by_id=by_id,
                 note=v.optional_text(note), data=data,
                 created_at=utc_text(now) if now else None)
    return state_of(events_of(session, item))


def _refuse_withdrawn(item: Pdca, st: State) -> None:
    if st.withdrawn is not None:
        raise ConflictError(f"{label(item)} was withdrawn ({st.withdrawn.note or 'no reason'})",
                            hint="a withdrawn item stays in history; open a new one: "
                            "pm pdca add TITLE --severity …")


def reopen(session: Session, *, site: Site, no: str | int, note: str | None = None,
           by_id: str | None = None, now: datetime | None = None) -> State:
    item = get_item(session, site=site, no=no)
    st = state_of(events_of(session, item))
    _refuse_withdrawn(item, st)
    if st.phase != "closed":
        raise ConflictError(f"{label(item)} is open (in {st.phase}); only a closed item reopens")
    write.append(session, PdcaEvent, site_id=site.id, pdca_id=item.id, kind="transition",
                 from_phase="closed", to_phase="plan", cycle=st.cycle + 1, by_id=by_id,
                 note=v.optional_text(note), data={"reopen": True},
                 created_at=utc_text(now) if now else None)
    return state_of(events_of(session, item))


def assign(session: Session, *, site: Site, no: str | int, staff: str,
           by_id: str | None = None) -> Pdca:
    item = get_item(session, site=site, no=no)
    new = _staff_id(session, site, staff, "STAFF")
    old = session.get(Staff, item.owner_id) if item.owner_id else None
    if write.update(session, item, owner_id=new):
        write.append(session, PdcaEvent, site_id=site.id, pdca_id=item.id, kind="assign",
                     by_id=by_id, note=f"owner {old.code if old else '—'} → {staff}")
    return item


def comment(session: Session, *, site: Site, no: str | int, text: str,
            by_id: str | None = None) -> PdcaEvent:
    item = get_item(session, site=site, no=no)
    body = v.optional_text(text)
    if not body:
        raise PmError("a comment needs some text", where="TEXT")
    return write.append(session, PdcaEvent, site_id=site.id, pdca_id=item.id, kind="comment",
                        by_id=by_id, note=body)


def acted_on(st: State) -> list[str]:
    """What people did to an item beyond raising it: moves, comments, owners, edits, and
    further occurrences (other failures it stands for). [] = nobody has touched it."""
    kinds = {"transition": "moved", "comment": "commented", "assign": "reassigned",
             "edit": "edited", "occurrence": "raised again"}
    done = [kinds[e.kind] for e in st.events if e.kind in kinds
            and not (e.kind == "occurrence" and st.occurrences <= 1)]
    return sorted(set(done), key=done.index)


def cancel(session: Session, *, site: Site, no: str | int, reason: str,
           by_id: str | None = None) -> State:
    """Withdraw an item raised in error: status withdrawn, kept in history, out of every
    list of open and overdue items. A withdraw is an append-only event, so it holds
    whatever else two laptops did to the item meanwhile."""
    item = get_item(session, site=site, no=no)
    why = v.optional_text(reason)
    if not why:
        raise PmError("say why the item is withdrawn", where="--reason")
    return _withdraw(session, site, item, why, by_id)


def _withdraw(session: Session, site: Site, item: Pdca, reason: str,
              by_id: str | None) -> State:
    st = state_of(events_of(session, item))
    if st.withdrawn is not None:
        raise ConflictError(f"{label(item)} is already withdrawn")
    if st.phase == "closed":
        raise ConflictError(f"{label(item)} is closed; a closed item stays as it is",
                            hint="reopen it first if it was closed in error: "
                            f"pm pdca reopen {ref(item)}")
    write.append(session, PdcaEvent, site_id=site.id, pdca_id=item.id, kind="withdraw",
                 by_id=by_id, note=reason)
    return state_of(events_of(session, item))


@dataclass
class Withdrawal:
    """What became of the item an answer raised when the answer was corrected."""

    label: str
    ref: str
    withdrawn: bool  # True: withdrawn (or its occurrence); False: it stays open
    occurrence: bool = False  # the answer had added an occurrence, not opened the item
    why_kept: str = ""  # what people did to it, when it stays

    @property
    def message(self) -> str:
        if self.occurrence:
            return f"withdrew the occurrence it had added to item {self.label}"
        if self.withdrawn:
            return f"withdrew improvement item {self.label} (nobody had acted on it yet)"
        return (f"improvement item {self.label} stays open (already {self.why_kept}); if it "
                f"was raised in error: pm pdca cancel {self.ref} --reason TEXT")


def withdraw_raised(session: Session, *, site: Site, source_ref: str, reason: str,
                    by_id: str | None = None) -> Withdrawal | None:
    """Take back what one source (a step result) raised: the occurrence it added, or the
    item it opened when nobody has acted on the item yet. None: it raised nothing open."""
    occ = session.exec(select(PdcaEvent).where(
        PdcaEvent.kind == "occurrence", PdcaEvent.site_id == site.id)
        .where(func.json_extract(PdcaEvent.data, "$.source_ref") == source_ref)).first()
    if occ is not None:
        item = session.get(Pdca, occ.pdca_id)
        if item is None:
            return None
        st = state_of(events_of(session, item))
        if st.status != "open" or any((e.data or {}).get("occurrence") == occ.id
                                      for e in st.events if e.kind == "withdraw"):
            return None
        write.append(session, PdcaEvent, site_id=site.id, pdca_id=item.id, kind="withdraw",
                     by_id=by_id, note=reason, data={"occurrence": occ.id})
        return Withdrawal(label(item), ref(item), True, occurrence=True)
    item = session.exec(live(Pdca, site.id).where(Pdca.source_ref == source_ref)).first()
    if item is None:
        return None
    st = state_of(events_of(session, item))
    if st.status != "open":
        return None
    done = acted_on(st)
    if done:
        return Withdrawal(label(item), ref(item), False, why_kept=", ".join(done))
    _withdraw(session, site, item, reason, by_id)
    return Withdrawal(label(item), ref(item), True)


EDITABLE = ("title", "description", "plan", "containment", "root_cause", "corrective",
            "preventive")


def edit(session: Session, *, site: Site, no: str | int, by_id: str | None = None,
         **values: str | None) -> Pdca:
    item = get_item(session, site=site, no=no)
    changes = {k: (v.check(v.name, val, field="--title") if k == "title"
                   else v.optional_text(val))
               for k, val in values.items() if k in EDITABLE and val is not None}
    if write.update(session, item, **changes):
        write.append(session, PdcaEvent, site_id=site.id, pdca_id=item.id, kind="edit",
                     by_id=by_id, note="edited " + ", ".join(sorted(changes)))
    return item


# ---- reading ---------------------------------------------------------------------------



def show(session: Session, *, site: Site, no: str | int) -> dict[str, Any]:
    from pm_cli.pdca import read

    return read.show(session, site=site, no=no)


def closed_in_sql() -> Any:
    """SQL: the item is closed (see `rules.closed_in_sql`)."""
    from pm_cli.pdca import rules

    return rules.closed_in_sql(Pdca.__table__, PdcaEvent.__table__)


def list_items(
    session: Session, *, site: Site, phase: str | None = None, severity: str | None = None,
    grid: str | None = None, owner: str | None = None, include_closed: bool = False,
    overdue_only: bool = False, now: datetime | None = None,
) -> list[dict[str, Any]]:
    from pm_cli.pdca import read

    return read.list_items(session, site=site, phase=phase, severity=severity, grid=grid,
                           owner=owner, include_closed=include_closed,
                           overdue_only=overdue_only, now=now)
