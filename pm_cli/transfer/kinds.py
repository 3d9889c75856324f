"""The kinds of record `pm import` and `pm export` handle, each by its Importer (its columns:
English keys, Chinese header aliases; how its files are planned, applied and exported)."""

from __future__ import annotations

from pm_cli.errors import UsageError
from pm_cli.transfer.checkpoints import CheckpointsImporter
from pm_cli.transfer.grids import GridsImporter
from pm_cli.transfer.importer import Importer
from pm_cli.transfer.plain import SitesImporter, StaffImporter
from pm_cli.transfer.registers import ItemsImporter, RisksImporter
from pm_cli.transfer.surveys import SurveysImporter

IMPORTERS: dict[str, Importer] = {
    i.kind: i
    for i in (
        SitesImporter(),
        StaffImporter(),
        GridsImporter(),
        RisksImporter(),
        CheckpointsImporter(),
        ItemsImporter(),
        SurveysImporter(),
    )
}

# Import order when a file references another kind: sites, then staff, then grids.
ORDER = ("sites", "staff", "grids", "checkpoints", "risks", "items", "survey")


def importer(kind: str) -> Importer:
    """The importer of `kind`; a usage error naming the kinds when there is none."""
    found = IMPORTERS.get(kind)
    if found is None:
        raise UsageError(f"unknown kind {kind!r}", hint="use " + ", ".join(IMPORTERS))
    return found


def keys(kind: str) -> list[str]:
    """The columns a file of this kind has (what import reads; export writes these)."""
    return importer(kind).keys()
