"""The demo site `pm demo` builds: 翠湖花园 (CH), a site in everyday use.

`build_demo` loads the registers (site, staff, grids, risks, checkpoints) from the files in
`data/` through the import path `pm import` uses, and has each feature's builder add what a
register does not hold (a week of runs, PDCA histories, a year of drills, route walks)
through that feature's services, so every row is stamped and logged like a user's. New demo
data goes the same way: a register as a file in data/ (registers.FILES), anything else in
its feature's builder module here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pm_cli.errors import ConflictError

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.sites.models import Site

SITE_CODE = "CH"  # the site in data/sites.csv


@dataclass(frozen=True)
class Demo:
    """What `build_demo` made: the site, and how many records of each kind."""

    site: Site
    staff: int
    grids: int
    runs: int  # checklist runs over the last week
    risks: int
    items: int  # improvement items opened by hand (runs, risks and drills open more)
    drill_runs: int  # over the last year
    checkpoints: int
    routes: int


def build_demo(session: Session, *, store_dir: Path) -> Demo:
    """Build the whole demo site in the caller's transaction; `store_dir` takes the runs'
    evidence. The order is part of the demo: it numbers the items as `pm demo` always has."""
    from pm_cli.demo import drills, pdca, risks, routes, runs
    from pm_cli.demo.registers import load
    from pm_cli.sites import service as sites
    from pm_cli.sites.models import Site
    from pm_cli.store.query import find_by_code

    if find_by_code(session, Site, SITE_CODE, site_id=None, noun="site", where="sites"):
        raise ConflictError(f"site {SITE_CODE} already exists", hint="pm demo --force rebuilds it")
    load(session, "sites")
    site = sites.get_site(session, SITE_CODE)
    staff = load(session, "staff", site=site)
    grids = load(session, "grids", site=site)
    session.flush()
    made_runs = runs.build_runs(session, site, store_dir=store_dir)
    made_risks = risks.build_risks(session, site)
    items = pdca.build_items(session, site)
    drill_runs = drills.build_drills(session, site)
    checkpoints, made_routes = routes.build_routes(session, site, store_dir=store_dir)
    return Demo(
        site=site,
        staff=staff,
        grids=grids,
        runs=made_runs,
        risks=made_risks,
        items=items,
        drill_runs=drill_runs,
        checkpoints=checkpoints,
        routes=made_routes,
    )


def prepare(path: Path, *, force: bool) -> None:
    """Make `path` ready for the demo: a pm database without site CH.

    An existing CH is refused unless `force`; then the file is replaced, but only when CH is
    all it holds (a file with real sites in it is never deleted for a demo).
    """
    from pm_cli.db.service import init_db
    from pm_cli.playbooks.service import install_bundled
    from pm_cli.sites import service as sites
    from pm_cli.store.engine import make_engine, session_scope

    if path.exists():
        # refuses a file that is not a pm database; brings an older one up to date
        init_db(path, setup=install_bundled)
        engine = make_engine(path)
        try:
            with session_scope(engine, path, write=False) as s:
                codes = [x.code for x in sites.list_sites(s)]
        finally:
            engine.dispose()
        if SITE_CODE in codes:
            if not force:
                raise ConflictError(
                    f"site {SITE_CODE} already exists",
                    where=str(path),
                    hint=f"pm demo --force rebuilds it (replaces {path}); "
                    "or pass --db with a new file",
                )
            others = [c for c in codes if c != SITE_CODE]
            if others:
                raise ConflictError(
                    f"--force would replace the whole file, and it also holds site(s) "
                    f"{', '.join(others)}",
                    where=str(path),
                    hint="build the demo in its own file: pm demo --db demo.db",
                )
            for p in (path, *(path.with_name(path.name + x) for x in ("-wal", "-shm"))):
                p.unlink(missing_ok=True)
    init_db(path, setup=install_bundled)
