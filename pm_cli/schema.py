"""Every table: imports each feature's models so SQLModel.metadata is complete."""

from sqlmodel import SQLModel

from pm_cli.checkpoints import models as checkpoints_models
from pm_cli.drills import models as drills_models
from pm_cli.grids import models as grids_models
from pm_cli.pdca import models as pdca_models
from pm_cli.playbooks import models as playbooks_models
from pm_cli.risks import models as risks_models
from pm_cli.routes import models as routes_models
from pm_cli.runs import models as runs_models
from pm_cli.sites import models as sites_models
from pm_cli.staff import models as staff_models
from pm_cli.store import changes as store_changes
from pm_cli.sync import models as sync_models

metadata = SQLModel.metadata
MODULES = (store_changes, sites_models, staff_models, grids_models, playbooks_models,
           runs_models, pdca_models, risks_models, drills_models, checkpoints_models,
           routes_models, sync_models)
