"""Every table: imports each feature's models so SQLModel.metadata is complete, and the one
map from a table's name to its model (never what a process happens to have imported)."""

from __future__ import annotations

from functools import cache

from sqlmodel import SQLModel

from pm_cli.checkpoints import models as checkpoints_models
from pm_cli.drills import models as drills_models
from pm_cli.grids import models as grids_models
from pm_cli.pdca import models as pdca_models
from pm_cli.playbooks import models as playbooks_models
from pm_cli.reports import models as reports_models
from pm_cli.risks import models as risks_models
from pm_cli.routes import models as routes_models
from pm_cli.runs import models as runs_models
from pm_cli.sites import models as sites_models
from pm_cli.staff import models as staff_models
from pm_cli.store import changes as store_changes
from pm_cli.surveys import models as surveys_models
from pm_cli.sync import models as sync_models

metadata = SQLModel.metadata
MODULES = (
    store_changes,
    sites_models,
    staff_models,
    grids_models,
    playbooks_models,
    runs_models,
    pdca_models,
    risks_models,
    drills_models,
    checkpoints_models,
    routes_models,
    surveys_models,
    reports_models,
    sync_models,
)


@cache
def models() -> dict[str, type[SQLModel]]:
    """Table name → SQLModel class, for every table of the schema."""
    out: dict[str, type[SQLModel]] = {}
    for module in MODULES:
        for obj in vars(module).values():
            table = getattr(obj, "__table__", None)
            if (
                isinstance(obj, type)
                and issubclass(obj, SQLModel)
                and table is not None
                and obj.__module__ == module.__name__
            ):
                out[table.name] = obj
    return out


def model_of(table: str) -> type[SQLModel] | None:
    """The model of a table of this schema, or None for a table this pm does not know."""
    return models().get(table)
