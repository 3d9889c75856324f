"""Findings: a failed checklist step, a drill finding or a critical risk that needs an
improvement item. One entry point, `raise_finding`, opens the PDCA item (routed to the grid's
owner, else the site manager), or adds an occurrence to the open item of the same failure."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session


@dataclass(frozen=True)
class Finding:
    site_id: str
    source: str  # step | drill | risk | complaint | audit | manual
    source_ref: str  # the step_result (or drill event, risk …) id
    title: str
    severity: str  # minor | major | critical
    grid_id: str | None
    owner_id: str | None
    item_no: int | None = None  # the improvement item it opened or added to
    new_item: bool = True  # False: an occurrence on an item already open
    item_label: str = ""  # `#17`, or `#~a1b2c3d4` until the server numbers it


def raise_finding(
    session: Session,
    *,
    site_id: str,
    source: str,
    source_ref: str,
    title: str,
    severity: str,
    grid_id: str | None,
    key: str | None = None,
    by_id: str | None = None,
) -> Finding:
    """`key` names the failure (e.g. step:GRID:PLAYBOOK:STEP): a repeat while its item is
    open is an occurrence, not a new item."""
    from pm_cli.pdca import service as pdca
    from pm_cli.sites.models import Site

    site = session.get(Site, site_id)
    assert site is not None
    opened = pdca.add_item(
        session,
        site=site,
        title=title[:200],
        severity=severity,
        grid_id=grid_id,
        source=source,
        source_ref=source_ref,
        by_id=by_id,
        dedup_key=key,
    )
    item = opened.item
    return Finding(
        site_id=site_id,
        source=source,
        source_ref=source_ref,
        title=item.title,
        severity=item.severity,
        grid_id=item.grid_id,
        owner_id=item.owner_id,
        item_no=item.no,
        new_item=opened.created,
        item_label=pdca.label(item),
    )
