"""What shell completion offers from the database: codes starting with what was typed.
Plain sqlite3, read-only: a Tab press must be quick and can never change or lock the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# table → the column people type (and the `deleted` flag every synced table has)
TYPED = {
    "grid": "code",
    "staff": "code",
    "checkpoint": "code",
    "route": "code",
    "risk": "code",
    "drill": "code",
    "site": "code",
    "playbook": "playbook_id",
}
SITE_WIDE = {"site", "playbook"}  # not kept per site (playbooks: the site's and the library)


def codes(db: Path, table: str, prefix: str, site: str | None, *, limit: int = 200) -> list[str]:
    """Live codes of `table` at site `site` (its code; the only site when None) that start
    with `prefix`, in order; [] when the file is missing, not a pm database or busy."""
    column = TYPED[table]
    if not db.is_file():
        return []
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = f"SELECT DISTINCT {column} FROM {table} WHERE deleted = 0 AND {column} LIKE ? ESCAPE '\\'"
    args: list[str | None] = [like]
    if table not in SITE_WIDE:
        sql += (
            " AND site_id = (SELECT id FROM site WHERE deleted = 0 AND "
            "(code = ? OR ? IS NULL) ORDER BY code LIMIT 1)"
        )
        args += [site, site]
    sql += f" ORDER BY {column} LIMIT {int(limit)}"
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=0.2)
        try:
            return [row[0] for row in con.execute(sql, args)]
        finally:
            con.close()
    except sqlite3.Error:
        return []


def run_ids(db: Path, prefix: str, site: str | None, *, limit: int = 50) -> list[str]:
    """The last 8 characters of the site's newest runs' ids (what `pm run list` shows)."""
    if not db.is_file():
        return []
    sql = (
        "SELECT substr(id, -8) FROM run WHERE deleted = 0 AND site_id = (SELECT id FROM "
        "site WHERE deleted = 0 AND (code = ? OR ? IS NULL) ORDER BY code LIMIT 1) "
        f"ORDER BY started_at DESC LIMIT {int(limit)}"
    )
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=0.2)
        try:
            return [r[0] for r in con.execute(sql, (site, site)) if r[0].startswith(prefix.lower())]
        finally:
            con.close()
    except sqlite3.Error:
        return []
