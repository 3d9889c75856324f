"""PDCA improvement items moved along plan → do → check → act → closed (or act → plan when
the fix was not effective), reopened, reassigned, commented, edited, and withdrawn when raised
in error (domain.md §6); the site's SLA table set. Opening an item (routing, numbering,
de-duplication) is `pdca.items`; listing and overdue items, `pdca.read`; the rules that need
no database, `pdca.rules`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, func, select

from pm_cli import validate as v
from pm_cli.errors import ConflictError, PmError
from pm_cli.pdca.items import _staff_id

# their home is pdca.items; named here too, for the features, tests and bench that open
# items and then move them
from pm_cli.pdca.items import add_item as add_item
from pm_cli.pdca.items import events_of as events_of
from pm_cli.pdca.items import get_item as get_item
from pm_cli.pdca.models import Pdca, PdcaEvent

# the rules that need no database live in pdca.rules; named here too, for the features
# that take them from the service
from pm_cli.pdca.rules import PHASES, RESULTS, State
from pm_cli.pdca.rules import allowed_next as allowed_next
from pm_cli.pdca.rules import breaches as breaches
from pm_cli.pdca.rules import current_clocks as current_clocks
from pm_cli.pdca.rules import label as label
from pm_cli.pdca.rules import parse_hours as parse_hours
from pm_cli.pdca.rules import record as record
from pm_cli.pdca.rules import ref as ref
from pm_cli.pdca.rules import sla as sla
from pm_cli.pdca.rules import state_of as state_of
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.ids import utc_text
from pm_cli.store.query import live

# ---- SLA -------------------------------------------------------------------------------


def set_sla(
    session: Session, *, site: Site, severity: str, respond: str, resolve: str
) -> dict[str, tuple[float, float]]:
    sev = v.check(v.risk_level, severity, field="--severity")
    r1 = v.check(parse_hours, respond, field="--respond")
    r2 = v.check(parse_hours, resolve, field="--resolve")
    if r2 < r1:
        raise PmError("resolve time is shorter than respond time", where="--resolve")
    table = {k: list(val) for k, val in sla(site).items()}
    table[sev] = [r1, r2]
    write.update(session, site, sla=table)
    return sla(site)


# ---- moving through the phases ---------------------------------------------------------


def advance(
    session: Session,
    *,
    site: Site,
    no: str | int,
    to: str,
    plan: str | None = None,
    note: str | None = None,
    result: str | None = None,
    playbook: str | None = None,
    by_id: str | None = None,
    now: datetime | None = None,
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
            hint=f"from {st.phase} the next phase is {' or '.join(allowed)}",
        )
    data: dict[str, Any] = {}
    cycle = st.cycle
    if target == "do":
        if plan:
            write.update(session, item, plan=v.optional_text(plan))
        if not item.owner_id:
            raise PmError(f"{label(item)} has no owner", hint=f"pm pdca assign {ref(item)} STAFF")
        if not item.plan:
            raise PmError(
                f"{label(item)} needs a plan before do",
                where="--plan",
                hint="the containment and repair plan: --plan TEXT",
            )
    elif target == "check":
        if not (note or "").strip():
            raise PmError("say what was done: a completion note", where="--note")
    elif target == "act":
        if result is None or result.strip().lower() not in RESULTS:
            raise PmError(
                "give the verification result",
                where="--result",
                hint="--result effective|not-effective",
            )
        data["result"] = result.strip().lower()
    elif target == "closed":
        if not (note or "").strip():
            raise PmError(
                "say how it was standardised",
                where="--note",
                hint="e.g. the playbook step changed, training given",
            )
        missing = [k for k in ("root_cause", "preventive") if not getattr(item, k)]
        if missing:
            needs = " and ".join(m.replace("_", " ") for m in missing)
            raise PmError(
                f"{label(item)} needs {needs} before closing",
                hint=f"pm pdca edit {ref(item)} --root-cause TEXT --preventive TEXT",
            )
        if playbook:
            from pm_cli.playbooks.service import get

            pinned = get(session, playbook)
            data["playbook"] = f"{pinned.playbook.id}@{pinned.version}"
    elif target == "plan":  # act → plan: the fix was not effective
        cycle += 1
    write.append(
        session,
        PdcaEvent,
        site_id=site.id,
        pdca_id=item.id,
        kind="transition",
        from_phase=st.phase,
        to_phase=target,
        cycle=cycle,
        by_id=by_id,
        note=v.optional_text(note),
        data=data,
        created_at=utc_text(now) if now else None,
    )
    return state_of(events_of(session, item))


def _refuse_withdrawn(item: Pdca, st: State) -> None:
    if st.withdrawn is not None:
        raise ConflictError(
            f"{label(item)} was withdrawn ({st.withdrawn.note or 'no reason'})",
            hint="a withdrawn item stays in history; open a new one: "
            "pm pdca add TITLE --severity …",
        )


def reopen(
    session: Session,
    *,
    site: Site,
    no: str | int,
    note: str | None = None,
    by_id: str | None = None,
    now: datetime | None = None,
) -> State:
    item = get_item(session, site=site, no=no)
    st = state_of(events_of(session, item))
    _refuse_withdrawn(item, st)
    if st.phase != "closed":
        raise ConflictError(f"{label(item)} is open (in {st.phase}); only a closed item reopens")
    write.append(
        session,
        PdcaEvent,
        site_id=site.id,
        pdca_id=item.id,
        kind="transition",
        from_phase="closed",
        to_phase="plan",
        cycle=st.cycle + 1,
        by_id=by_id,
        note=v.optional_text(note),
        data={"reopen": True},
        created_at=utc_text(now) if now else None,
    )
    return state_of(events_of(session, item))


def assign(
    session: Session, *, site: Site, no: str | int, staff: str, by_id: str | None = None
) -> Pdca:
    item = get_item(session, site=site, no=no)
    new = _staff_id(session, site, staff, "STAFF")
    old = session.get(Staff, item.owner_id) if item.owner_id else None
    if write.update(session, item, owner_id=new):
        write.append(
            session,
            PdcaEvent,
            site_id=site.id,
            pdca_id=item.id,
            kind="assign",
            by_id=by_id,
            note=f"owner {old.code if old else '—'} → {staff}",
        )
    return item


def comment(
    session: Session, *, site: Site, no: str | int, text: str, by_id: str | None = None
) -> PdcaEvent:
    item = get_item(session, site=site, no=no)
    body = v.optional_text(text)
    if not body:
        raise PmError("a comment needs some text", where="TEXT")
    return write.append(
        session, PdcaEvent, site_id=site.id, pdca_id=item.id, kind="comment", by_id=by_id, note=body
    )


def acted_on(st: State) -> list[str]:
    """What people did to an item beyond raising it: moves, comments, owners, edits, and
    further occurrences (other failures it stands for). [] = nobody has touched it."""
    kinds = {
        "transition": "moved",
        "comment": "commented",
        "assign": "reassigned",
        "edit": "edited",
        "occurrence": "raised again",
    }
    done = [
        kinds[e.kind]
        for e in st.events
        if e.kind in kinds and not (e.kind == "occurrence" and st.occurrences <= 1)
    ]
    return sorted(set(done), key=done.index)


def cancel(
    session: Session, *, site: Site, no: str | int, reason: str, by_id: str | None = None
) -> State:
    """Withdraw an item raised in error: status withdrawn, kept in history, out of every
    list of open and overdue items. A withdraw is an append-only event, so it holds
    whatever else two laptops did to the item meanwhile."""
    item = get_item(session, site=site, no=no)
    why = v.optional_text(reason)
    if not why:
        raise PmError("say why the item is withdrawn", where="--reason")
    return _withdraw(session, site, item, why, by_id)


def _withdraw(session: Session, site: Site, item: Pdca, reason: str, by_id: str | None) -> State:
    st = state_of(events_of(session, item))
    if st.withdrawn is not None:
        raise ConflictError(f"{label(item)} is already withdrawn")
    if st.phase == "closed":
        raise ConflictError(
            f"{label(item)} is closed; a closed item stays as it is",
            hint=f"reopen it first if it was closed in error: pm pdca reopen {ref(item)}",
        )
    write.append(
        session,
        PdcaEvent,
        site_id=site.id,
        pdca_id=item.id,
        kind="withdraw",
        by_id=by_id,
        note=reason,
    )
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
        return (
            f"improvement item {self.label} stays open (already {self.why_kept}); if it "
            f"was raised in error: pm pdca cancel {self.ref} --reason TEXT"
        )


def withdraw_raised(
    session: Session, *, site: Site, source_ref: str, reason: str, by_id: str | None = None
) -> Withdrawal | None:
    """Take back what one source (a step result) raised: the occurrence it added, or the
    item it opened when nobody has acted on the item yet. None: it raised nothing open."""
    occ = session.exec(
        select(PdcaEvent)
        .where(PdcaEvent.kind == "occurrence", PdcaEvent.site_id == site.id)
        .where(func.json_extract(PdcaEvent.data, "$.source_ref") == source_ref)
    ).first()
    if occ is not None:
        item = session.get(Pdca, occ.pdca_id)
        if item is None:
            return None
        st = state_of(events_of(session, item))
        if st.status != "open" or any(
            (e.data or {}).get("occurrence") == occ.id for e in st.events if e.kind == "withdraw"
        ):
            return None
        write.append(
            session,
            PdcaEvent,
            site_id=site.id,
            pdca_id=item.id,
            kind="withdraw",
            by_id=by_id,
            note=reason,
            data={"occurrence": occ.id},
        )
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


EDITABLE = ("title", "description", "plan", "containment", "root_cause", "corrective", "preventive")


def edit(
    session: Session, *, site: Site, no: str | int, by_id: str | None = None, **values: str | None
) -> Pdca:
    item = get_item(session, site=site, no=no)
    changes = {
        k: (v.check(v.name, val, field="--title") if k == "title" else v.optional_text(val))
        for k, val in values.items()
        if k in EDITABLE and val is not None
    }
    if write.update(session, item, **changes):
        write.append(
            session,
            PdcaEvent,
            site_id=site.id,
            pdca_id=item.id,
            kind="edit",
            by_id=by_id,
            note="edited " + ", ".join(sorted(changes)),
        )
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
    session: Session,
    *,
    site: Site,
    phase: str | None = None,
    severity: str | None = None,
    grid: str | None = None,
    owner: str | None = None,
    include_closed: bool = False,
    overdue_only: bool = False,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    from pm_cli.pdca import read

    return read.list_items(
        session,
        site=site,
        phase=phase,
        severity=severity,
        grid=grid,
        owner=owner,
        include_closed=include_closed,
        overdue_only=overdue_only,
        now=now,
    )
