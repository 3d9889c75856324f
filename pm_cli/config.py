"""Where things are: the database path and the user config file (current site, me, server)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pm_cli.errors import PmError

CONFIG_KEYS = ("site", "me", "server", "token")


def _dirs():  # platformdirs is small, but only the commands that need a path load it
    import platformdirs

    return platformdirs.PlatformDirs("pm", appauthor=False)


def default_db_path() -> Path:
    return Path(_dirs().user_data_dir) / "pm.db"


def resolve_db_path(explicit: str | os.PathLike[str] | None) -> Path:
    """`--db PATH`, else `PM_DB`, else the platform's user data dir."""
    raw = explicit or os.environ.get("PM_DB")
    return Path(raw).expanduser() if raw else default_db_path()


def config_path() -> Path:
    raw = os.environ.get("PM_CONFIG")
    return Path(raw).expanduser() if raw else Path(_dirs().user_config_dir) / "config.toml"


def read_config() -> dict[str, str]:
    path = config_path()
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise PmError(
            f"cannot read the config file: {e}",
            where=str(path),
            hint="fix or delete the file; pm rewrites it on `pm site use` / `pm staff use`",
        ) from e
    return {k: str(v) for k, v in data.items() if k in CONFIG_KEYS and v is not None}


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_config(**values: str | None) -> Path:
    """Set (or, with None, remove) keys in the user config file, atomically."""
    path = config_path()
    data = read_config()
    for key, value in values.items():
        if key not in CONFIG_KEYS:
            raise ValueError(key)
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    body = "".join(f"{k} = {_toml_string(v)}\n" for k, v in sorted(data.items()))
    # mode 0600 from the start: the file may hold a sync token (pm sync login)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# pm user settings (pm site use / pm staff use / pm sync login)\n" + body)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def current_site_code(explicit: str | None) -> str | None:
    """`--site CODE`, else `PM_SITE`, else `pm site use`."""
    return explicit or os.environ.get("PM_SITE") or read_config().get("site") or None


def current_staff_code() -> str | None:
    """`PM_STAFF`, else `pm staff use`."""
    return os.environ.get("PM_STAFF") or read_config().get("me") or None
