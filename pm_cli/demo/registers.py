"""The demo's registers (site, staff, grids, risks, checkpoints): files in `data/` that
`build_demo` loads the way `pm import` loads a user's spreadsheet, so every `pm demo` goes
through the import path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

DATA = Path(__file__).resolve().parent / "data"

# kind (as `pm import --kind` names it) → its file in DATA
FILES = {
    "sites": "sites.csv",
    "staff": "staff.csv",
    "grids": "grids.yaml",
    "checkpoints": "checkpoints.csv",
    "risks": "risks.csv",
}


def load(session: Session, kind: str, *, site: Site | None = None) -> int:
    """Import the demo's file of this kind into `site` (None for sites) in the caller's
    transaction, as `pm import FILE --kind KIND` does; how many records it created."""
    from pm_cli.transfer import service as transfer

    table = transfer.read(DATA / FILES[kind], kind=kind)
    return transfer.import_table(session, table, kind=kind, site=site).created
