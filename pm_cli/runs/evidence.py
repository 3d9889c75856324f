"""The evidence store: photos copied in and named by the sha256 of the bytes as written, so
nothing can change them.

A step result names its photo by **content address**, `<sha256>.<ext>` (sync.md §4a): the
same text on every laptop and on the server, never a path of this machine. On disk the store
fans out by the first two hex digits, `<root>/<sha256[:2]>/<sha256>.<ext>` (a folder of
100,000 photos stays quick to list on every file system); `path_of` is the one place that
maps an address to its file, so the layout is a local matter that no synced value holds."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath

from pm_cli.errors import PmError

MAX_BYTES = 20 * 1024 * 1024  # the server takes no bigger photo (pm_cli.server.evidence)
CHUNK = 1 << 20
ADDRESS = re.compile(r"^([0-9a-f]{64})(\.[a-z0-9]{1,8})?$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


def evidence_dir(db_path: Path) -> Path:
    """`PM_EVIDENCE`, else `evidence/` beside the database (the user data dir by default)."""
    raw = os.environ.get("PM_EVIDENCE")
    return Path(raw).expanduser() if raw else db_path.parent / "evidence"


def suffix_of(name: str) -> str:
    """The extension an address keeps: the file's, lower case, if it is short and plain
    (`.jpg`, `.heic`); else none (an address must be safe in a URL and on every disk)."""
    suffix = PurePosixPath(name).suffix.lower()
    return suffix if _SUFFIX.match(suffix) else ""


def address(sha256: str, suffix: str = "") -> str:
    return sha256 + suffix


def is_address(text: str | None) -> bool:
    return bool(text) and ADDRESS.match(text or "") is not None


def address_of(recorded: str | None, sha256: str | None) -> str | None:
    """The content address of a step result's photo from what it holds: an address as
    written now, or the absolute path an older pm wrote (on this machine or another, POSIX or
    Windows): its file name's extension with the recorded sha256. None without a valid
    sha256, and never anything but `<sha256>.<ext>` (pulled text is not trusted)."""
    if not sha256 or not SHA256.match(sha256):
        return None
    if recorded and is_address(recorded):
        hit = ADDRESS.match(recorded)
        assert hit is not None
        return address(sha256, hit[2] or "") if hit[1] == sha256 else None
    name = (
        PureWindowsPath(recorded).name
        if recorded and "\\" in recorded
        else PurePosixPath(recorded or "").name
    )
    return address(sha256, suffix_of(name))


def path_of(root: Path, addr: str) -> Path:
    """Where the file of a content address lives in the store (fanned out by two digits)."""
    if not is_address(addr):
        raise ValueError(f"not a content address: {addr!r}")
    return root / addr[:2] / addr


def local_file(root: Path, recorded: str | None, sha256: str | None) -> Path | None:
    """The photo's file in this laptop's store, if its bytes are here."""
    addr = address_of(recorded, sha256)
    if addr is None:
        return None
    p = path_of(root, addr)
    return p if p.is_file() else None


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
        raise PmError(
            f"the photo is larger than {MAX_BYTES // 1024 // 1024} MiB (what the sync "
            "server takes)",
            where=str(p),
            hint="send a smaller photo (resize it)",
        )
    return p


class TooLarge(Exception):
    pass


def write_stream(
    chunks: Iterable[bytes], store_dir: Path, suffix: str, *, max_bytes: int = MAX_BYTES
) -> tuple[str, str, int]:
    """Write bytes into the store: a temp file in the store's folder, hashed as written,
    fsynced, then renamed to its content address (atomic: a reader sees the whole photo or
    none). (address, sha256, size). An address already held is kept as it is (the same
    bytes by definition), unless its file is damaged, when the new copy replaces it."""
    import tempfile

    store_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", suffix=".part", dir=store_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(size)
                digest.update(chunk)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        sha = digest.hexdigest()
        addr = address(sha, suffix)
        dest = path_of(store_dir, addr)
        if dest.is_file() and sha256_of(dest) == sha:
            tmp.unlink()
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return addr, sha, size


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX; Windows has no directory handles to sync)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_chunks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as f:
        yield from iter(lambda: f.read(CHUNK), b"")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in read_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def store(path: Path, store_dir: Path) -> tuple[str, str]:
    """Copy a photo in; returns (its content address, sha256 of the bytes stored)."""
    src = check_photo(path)
    try:
        addr, sha, _size = write_stream(read_chunks(src), store_dir, suffix_of(src.name))
    except TooLarge:
        raise PmError(
            f"the photo grew past {MAX_BYTES // 1024 // 1024} MiB while it was copied",
            where=str(src),
        ) from None
    except OSError as e:
        raise PmError(f"cannot store the photo: {e.strerror}", where=str(src)) from None
    return addr, sha
