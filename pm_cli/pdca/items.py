"""Improvement items as stored rows: finding one to change, reading its events, and opening
one: routed to the grid's owner (else the site manager), numbered from this laptop's number
blocks (else by the server at the next sync), with SLA clocks from its severity, and a repeat
of an open item's failure added to it as an occurrence (domain.md §6, sync.md §2). Moving an
item through its phases is `pdca.service`; listing and overdue items, `pdca.read`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from pm_cli import validate as v
from pm_cli.errors import NotFoundError, PmError
from pm_cli.grids.models import Grid
from pm_cli.pdca.models import Pdca, PdcaEvent
from pm_cli.pdca.rules import SOURCES, _now, sla, state_of
from pm_cli.sites.models import Site
from pm_cli.staff.models import Staff
from pm_cli.store import write
from pm_cli.store.ids import utc_text
from pm_cli.store.query import find_by_code, live

# ---- state derived from events ---------------------------------------------------------


def events_of(session: Session, item: Pdca) -> list[PdcaEvent]:
    return list(
        session.exec(select(PdcaEvent).where(PdcaEvent.pdca_id == item.id).order_by(PdcaEvent.hlc))
    )


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
    row = find_by_code(session, Staff, code, site_id=site.id, noun="staff member", where=site.code)
    if row is None:
        raise PmError(
            f"{code} is not staff of site {site.code}",
            where=where,
            hint="`pm staff list` shows who is there",
        )
    return row.id


def route_owner(session: Session, *, site: Site, grid_id: str | None) -> str | None:
    """The grid's owner, else the site manager (first manager by code), else nobody."""
    if grid_id:
        grid = session.get(Grid, grid_id)
        if grid is not None and grid.owner_id:
            owner = session.get(Staff, grid.owner_id)
            if owner is not None and not owner.deleted:
                return owner.id
    manager = session.exec(
        live(Staff, site.id).where(Staff.role == "manager").order_by(Staff.code)
    ).first()
    return manager.id if manager else None


def _taken(session: Session, site: Site, no: int) -> bool:
    return (
        session.exec(select(Pdca.id).where(Pdca.site_id == site.id, Pdca.no == no)).first()
        is not None
    )


def _next_no(session: Session, site: Site) -> int | None:
    """The lowest unused number of this laptop's blocks for the site; for a site that has
    never synced (this database is its only authority) max + 1; else None: the item is
    numbered by the server at the next sync (sync.md §2)."""
    from pm_cli.store.changes import NumberBlock

    block = session.exec(
        select(NumberBlock)
        .where(NumberBlock.site_id == site.id, NumberBlock.next_no <= NumberBlock.last)
        .order_by(col(NumberBlock.first))
    ).first()
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
    if (
        session.exec(select(NumberBlock.site_id).where(NumberBlock.site_id == site.id)).first()
        is not None
    ):
        return True
    return (
        session.exec(
            select(Change.change_id).where(  # ix_change_site_record (literal)
                text("entity = 'site'"), Change.record_id == site.id, Change.state == "acked"
            )
        ).first()
        is not None
    )


# ---- opening ---------------------------------------------------------------------------


@dataclass
class Opened:
    item: Pdca
    created: bool  # False: an occurrence was added to an open item


def add_item(
    session: Session,
    *,
    site: Site,
    title: str,
    severity: str,
    grid: str | None = None,
    grid_id: str | None = None,
    owner: str | None = None,
    source: str = "manual",
    source_ref: str | None = None,
    description: str | None = None,
    by_id: str | None = None,
    dedup_key: str | None = None,
    now: datetime | None = None,
    no: int | None = None,
) -> Opened:
    """Open an item (routed to the grid's owner, else the site manager); a repeat of an open
    item's failure (same dedup key) adds an occurrence to it instead."""
    sev = v.check(v.risk_level, severity, field="--severity")
    if source not in SOURCES:
        raise PmError(
            f"unknown source {source!r}",
            where="--source",
            hint="use " + "|".join(SOURCES) + " (KIND:REF)",
        )
    if grid:
        g = find_by_code(session, Grid, grid, site_id=site.id, noun="grid", where=site.code)
        if g is None:
            raise NotFoundError(f"no grid {grid} at {site.code}", where="--grid")
        grid_id = g.id
    if dedup_key:
        for other in session.exec(live(Pdca, site.id).where(Pdca.dedup_key == dedup_key)):
            if state_of(events_of(session, other)).status == "open":
                write.append(
                    session,
                    PdcaEvent,
                    site_id=site.id,
                    pdca_id=other.id,
                    kind="occurrence",
                    by_id=by_id,
                    note=v.optional_text(title),
                    data={"source_ref": source_ref},
                )
                return Opened(other, False)
    owner_id = (
        _staff_id(session, site, owner, "--owner")
        if owner
        else route_owner(session, site=site, grid_id=grid_id)
    )
    respond_h, resolve_h = sla(site)[sev]
    t = _now(now)
    item = write.create(
        session,
        Pdca,
        site_id=site.id,
        created_at=utc_text(t),
        no=no if no and not _taken(session, site, no) else _next_no(session, site),
        title=v.check(v.name, title, field="TITLE"),
        description=v.optional_text(description),
        source=source,
        source_ref=source_ref,
        dedup_key=dedup_key,
        grid_id=grid_id,
        owner_id=owner_id,
        severity=sev,
        respond_by=utc_text(t + timedelta(hours=respond_h)),
        resolve_by=utc_text(t + timedelta(hours=resolve_h)),
    )
    return Opened(item, True)
