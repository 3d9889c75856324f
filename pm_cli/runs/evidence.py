"""The evidence store: photos copied in, named by their sha256, so nothing can change them."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from pm_cli.errors import PmError

MAX_BYTES = 50 * 1024 * 1024


def evidence_dir(db_path: Path) -> Path:
    """`PM_EVIDENCE`, else `evidence/` beside the database (the user data dir by default)."""
    raw = os.environ.get("PM_EVIDENCE")
    return Path(raw).expanduser() if raw else db_path.parent / "evidence"


def check_photo(path: Path) -> Path:
    """The file, if it is one pm can keep; else a PmError saying what is wrong."""
    p = path.expanduser()
    if not p.exists():
        raise PmError("no such photo file", where=str(p))
    if not p.is_file():
        raise PmError("the photo path is not a file", where=str(p))
    size = p.stat().st_size
    if size == 0:
        raise PmError("the photo file is empty", where=str(p))
    if size > MAX_BYTES:
        raise PmError(f"the photo is larger than {MAX_BYTES // 1024 // 1024} MB", where=str(p))
    return p


def store(path: Path, store_dir: Path) -> tuple[str, str]:
    """Copy a photo in (atomically); returns (path in the store, sha256)."""
    src = check_photo(path)
    digest = hashlib.sha256()
    try:
        with src.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        dest = store_dir / sha[:2] / (sha + src.suffix.lower())
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.part")
            shutil.copyfile(src, tmp)
            tmp.replace(dest)
    except OSError as e:
        raise PmError(f"cannot store the photo: {e.strerror}", where=str(src)) from None
    return str(dest), sha
