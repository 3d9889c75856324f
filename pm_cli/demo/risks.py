"""The demo's risk register: the starter library, then the site's own risks (data/risks.csv)
loaded as `pm import --kind risks` loads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site


def build_risks(session: Session, site: Site) -> int:
    """The 62-risk starter library and the site's risks on their grids; a critical one opens
    its improvement item, as `pm risk add` does (an import leaves items to their own file).
    How many risks the register holds."""
    from sqlmodel import col

    from pm_cli.demo.registers import load
    from pm_cli.risks import service as risks
    from pm_cli.risks.models import Risk
    from pm_cli.store.query import live

    counts = risks.import_library(session, site=site)
    had = {r.code for r in session.exec(live(Risk, site.id))}
    added = load(session, "risks", site=site)
    for risk in session.exec(live(Risk, site.id).order_by(col(Risk.code))):
        if risk.code not in had:
            # the rule `pm risk add` applies
            risks.open_item_if_critical(session, site, risk, None)
    return counts["added"] + added
