"""Findings: a failed checklist step (or a drill finding) that needs an improvement item.

One entry point, `raise_finding`, so the PDCA feature can make it open the real item
(plan → do → check → act, owned by the grid's owner) without touching its callers.
Until then the finding is returned to the caller and stays visible through the step result.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session


@dataclass(frozen=True)
class Finding:
    site_id: str
    source: str  # step | drill | risk | complaint | audit | manual
    source_ref: str  # the step_result (or drill event …) id
    title: str
    severity: str  # minor | major | critical
    grid_id: str | None
    owner_id: str | None
    item_no: int | None = None  # the improvement item, once PDCA makes one


def raise_finding(
    session: Session,  # noqa: ARG001 (the PDCA item will be written in this transaction)
    *, site_id: str, source: str, source_ref: str, title: str, severity: str,
    grid_id: str | None, owner_id: str | None,
) -> Finding:
    return Finding(site_id=site_id, source=source, source_ref=source_ref, title=title,
                   severity=severity, grid_id=grid_id, owner_id=owner_id)
