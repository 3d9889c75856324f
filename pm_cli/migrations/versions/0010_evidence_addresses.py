"""evidence by content address, and what the server holds of each photo

A step result named its photo by the absolute path of this laptop's store; it now names it by
content address, `<sha256>.<ext>`, the same on every machine (sync.md §4a). A file found
(inside the evidence root, or elsewhere on this laptop: copied in) is hashed as stored and
filed at `<root>/<sha256[:2]>/<sha256>.<ext>`; a missing one keeps its recorded sha256. The
change log's copy of each row is rewritten the same way, so no absolute path is pushed.
`evidence_copy` is local only: the photos the server is known to hold (or to lack).

The synced fields stay as they are (`evidence_path` holds the address, `evidence_sha256` the
hash), so the sync schema (Pm-Schema) does not change: an older laptop reads an address as a
plain name, and this pm reads an older laptop's absolute path as the address it stands for.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
# PRAGMA user_version after this revision; keep store.engine.SCHEMA_VERSION equal to the newest.
USER_VERSION = 10

# frozen here (a migration must not change when the store's code does): the layout of
# pm_cli.runs.evidence as of this revision
_ADDRESS = re.compile(r"^[0-9a-f]{64}(\.[a-z0-9]{1,8})?$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


def _root(conn: sa.Connection) -> Path | None:
    main = [r for r in conn.exec_driver_sql("PRAGMA database_list") if r[1] == "main"]
    if not main or not main[0][2]:
        return None  # an in-memory database: no store beside it
    raw = os.environ.get("PM_EVIDENCE")
    return Path(raw).expanduser() if raw else Path(main[0][2]).parent / "evidence"


def _suffix(name: str) -> str:
    s = PurePosixPath(name).suffix.lower()
    return s if _SUFFIX.match(s) else ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _file_in(src: Path, root: Path, sha: str, suffix: str, *, move: bool) -> None:
    dest = root / sha[:2] / (sha + suffix)
    if dest.exists():
        if move and src.resolve() != dest.resolve():
            src.unlink()  # the store holds these bytes already, under their own name
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    if move:
        os.replace(src, dest)
        return
    tmp = dest.with_name(f".incoming-{dest.name}.part")
    shutil.copyfile(src, tmp)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dest)


def _convert(
    recorded: str | None, sha: str | None, root: Path | None
) -> tuple[str | None, str | None]:
    """(address, sha256) for what a row recorded."""
    if recorded and _ADDRESS.match(recorded):
        return recorded, sha
    if not recorded:
        return None, sha
    name = PureWindowsPath(recorded).name if "\\" in recorded else PurePosixPath(recorded).name
    suffix = _suffix(name)
    path = Path(recorded)
    if root is not None and path.is_absolute() and path.is_file():
        sha = _sha256(path)  # the bytes as stored are the evidence
        _file_in(path, root, sha, suffix, move=_inside(path, root))
    if not sha or not _SHA.match(sha):
        return None, sha  # nothing to name the photo by
    return sha + suffix, sha


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def upgrade() -> None:
    op.create_table(
        "evidence_copy",
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    conn = op.get_bind()
    root = _root(conn)
    rows = conn.execute(
        sa.text(
            "SELECT id, evidence_path, evidence_sha256 FROM step_result "
            "WHERE evidence_path IS NOT NULL"
        )
    ).all()
    for rid, recorded, sha in rows:
        addr, new_sha = _convert(recorded, sha, root)
        if (addr, new_sha) == (recorded, sha):
            continue
        conn.execute(
            sa.text(
                "UPDATE step_result SET evidence_path = :a, evidence_sha256 = :s WHERE id = :id"
            ),
            {"a": addr, "s": new_sha, "id": rid},
        )
        for change_id, fields in conn.execute(
            sa.text(
                "SELECT change_id, fields FROM change WHERE entity = 'step_result' "
                "AND record_id = :id"
            ),
            {"id": rid},
        ).all():
            f = json.loads(fields) if isinstance(fields, str) else dict(fields or {})
            if "evidence_path" in f or "evidence_sha256" in f:
                f["evidence_path"], f["evidence_sha256"] = addr, new_sha
                conn.execute(
                    sa.text("UPDATE change SET fields = :f WHERE change_id = :c"),
                    {"f": _dump(f), "c": change_id},
                )
    op.execute(f"PRAGMA user_version = {USER_VERSION}")


def downgrade() -> None:
    """Back to absolute paths in this laptop's store."""
    conn = op.get_bind()
    root = _root(conn)
    if root is not None:
        for rid, addr in conn.execute(
            sa.text("SELECT id, evidence_path FROM step_result WHERE evidence_path IS NOT NULL")
        ).all():
            if _ADDRESS.match(addr):
                conn.execute(
                    sa.text("UPDATE step_result SET evidence_path = :p WHERE id = :id"),
                    {"p": str(root / addr[:2] / addr), "id": rid},
                )
    op.drop_table("evidence_copy")
    op.execute("PRAGMA user_version = 9")
