"""What sync adds to the features below it, registered when the root app builds their
commands: `pm run show RUN --photos` downloads through the server this laptop is logged in to."""

from __future__ import annotations

from pathlib import Path

from pm_cli.runs import photo_source


def fetch_run_photos(db_path: Path, run_id: str) -> photo_source.Fetched:
    """The run's photos this laptop lacks, from the server in the config (offline: said)."""
    from pm_cli import config
    from pm_cli.sync import photos

    cfg = config.read_config()
    return photos.fetch(db_path, url=cfg.get("server"), token=cfg.get("token"), run_id=run_id)


photo_source.register(fetch_run_photos)
