"""Playbooks: the company-wide checklists. Each id@version is stored once and never changed,
so a run pinned to it reads exactly what its inspector followed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

if TYPE_CHECKING:
    from pm_cli.playbooks import loader

from pm_cli.errors import ConflictError, InputError, NotFoundError, Problem
from pm_cli.playbooks.models import PlaybookRow
from pm_cli.playbooks.read import Pinned as Pinned  # its home is playbooks.read
from pm_cli.playbooks.read import _rows as _rows
from pm_cli.playbooks.read import get as get
from pm_cli.playbooks.read import get_pinned as get_pinned
from pm_cli.playbooks.read import pinned_from as pinned_from
from pm_cli.playbooks.read import pinned_many as pinned_many
from pm_cli.playbooks.spec import Playbook
from pm_cli.protocol.content import content_id
from pm_cli.store import write


def schema_path() -> Path:
    """The JSON Schema file shipped beside this module (playbooks point editors at it)."""
    return Path(__file__).resolve().parent / "schema.json"


def bundled_dir() -> Path:
    """The library shipped with pm: inside the wheel, or `playbooks/` of a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "bundled_playbooks", package.parent / "playbooks"):
        if candidate.is_dir():
            return candidate
    raise NotFoundError(
        "the bundled playbooks are missing from this install",
        hint="reinstall pm (pip install --force-reinstall pm-cli)",
    )


def load_files(paths: list[Path]) -> list[loader.Loaded]:
    """Parse and validate every file; any problem in any file raises with all of them."""
    from pm_cli.playbooks import loader  # YAML: only commands that read files load it

    files = loader.expand(paths)
    if not files:
        raise InputError(
            [Problem(" ".join(map(str, paths)) or ".", "no playbook files there")],
            source="the paths given",
        )
    loaded, problems = [], []
    for path in files:
        item, found = loader.load(path)
        problems += found
        if item:
            loaded.append(item)
    seen: dict[tuple[str, int], str] = {}
    for item in loaded:
        key = (item.playbook.id, item.playbook.version)
        if key in seen and seen[key] != item.playbook.sha256():
            problems.append(
                Problem(
                    f"{item.path}:1:1",
                    f"{key[0]} version {key[1]} is also in another file given, with other content",
                )
            )
        seen.setdefault(key, item.playbook.sha256())
    if problems:
        source = files[0] if len(files) == 1 else f"{len(files)} files"
        raise InputError(problems, source=str(source))
    return loaded


def _row(session: Session, playbook_id: str, version: int) -> PlaybookRow | None:
    return session.exec(
        select(PlaybookRow)
        .where(
            PlaybookRow.playbook_id == playbook_id,
            PlaybookRow.version == version,
            PlaybookRow.deleted == False,  # noqa: E712
        )
        .order_by(PlaybookRow.hlc)
    ).first()


def version_clash(session: Session, item: loader.Loaded) -> Problem | None:
    """The problem if this id@version is installed with other content."""
    p = item.playbook
    row = _row(session, p.id, p.version)
    if row is None or row.sha256 == p.sha256():
        return None
    old = Playbook.model_validate_json(row.spec)
    changes = step_diff(old, p)
    what = (
        "its step list changed" if changes["added"] or changes["removed"] else "its content changed"
    )
    return Problem(
        f"{item.path}:1:1",
        f"{p.id} version {p.version} is installed with other content ({what}): "
        f"bump version to {latest_version(session, p.id) + 1}",
    )


def latest_version(session: Session, playbook_id: str) -> int:
    versions = session.exec(
        select(PlaybookRow.version).where(PlaybookRow.playbook_id == playbook_id)
    ).all()
    return max(versions, default=0)


@dataclass
class Installed:
    id: str
    version: int
    status: str  # installed | unchanged
    file: str


def install(session: Session, items: list[loader.Loaded]) -> list[Installed]:
    """Store each new id@version; the same content again is a no-op; other content refused."""
    stored: dict[tuple[str, int], set[str]] = {}
    for pid, ver, sha in session.exec(
        select(PlaybookRow.playbook_id, PlaybookRow.version, PlaybookRow.sha256)
    ).all():
        stored.setdefault((pid, ver), set()).add(sha)
    clashing = [
        item
        for item in items
        if (key := (item.playbook.id, item.playbook.version)) in stored
        and item.playbook.sha256() not in stored[key]
    ]
    problems = [p for p in (version_clash(session, item) for item in clashing) if p]
    if problems:
        raise InputError(
            problems,
            source=items[0].path if len(items) == 1 else f"{len(items)} files",
            hint="a published version never changes: raise `version:` and import",
        )
    out = []
    for item in items:
        p = item.playbook
        if (p.id, p.version) in stored:
            out.append(Installed(p.id, p.version, "unchanged", item.path))
            continue
        write.append(
            session,
            PlaybookRow,
            site_id=None,
            id=content_id(p.id, p.version, p.sha256()),
            playbook_id=p.id,
            version=p.version,
            sha256=p.sha256(),
            title=p.title,
            service=p.service,
            schedule=p.schedule,
            yaml=item.text,
            spec=p.canonical(),
        )
        out.append(Installed(p.id, p.version, "installed", item.path))
    return out


def install_bundled(session: Session) -> list[Installed]:
    """What `pm init` runs: the library shipped with this pm, new versions only."""
    return install(session, _bundled())


@cache
def _bundled() -> list[loader.Loaded]:
    return load_files([bundled_dir()])  # the same files for the life of the process


def bundled_ids() -> frozenset[str]:
    """The row ids (content addresses) of the library shipped with this pm."""
    return frozenset(
        content_id(i.playbook.id, i.playbook.version, i.playbook.sha256()) for i in _bundled()
    )


def list_playbooks(
    session: Session, *, service: str | None = None, all_versions: bool = False
) -> list[dict[str, Any]]:
    latest: dict[str, PlaybookRow] = {}
    rows = []
    for row in _rows(session):
        if service and row.service != service:
            continue
        rows.append(row)
        latest[row.playbook_id] = row
    chosen = rows if all_versions else list(latest.values())
    return [
        {
            "id": r.playbook_id,
            "version": r.version,
            "service": r.service,
            "title": r.title,
            "steps": len(json.loads(r.spec)["steps"]),
            "schedule": r.schedule,
            "sha256": r.sha256,
        }
        for r in chosen
    ]


def step_diff(old: Playbook, new: Playbook) -> dict[str, Any]:
    """Steps added, removed, and changed field by field (from → to)."""
    before = {s.id: s.model_dump(mode="json") for s in old.steps}
    after = {s.id: s.model_dump(mode="json") for s in new.steps}
    changed = {}
    for sid in before.keys() & after.keys():
        fields = {
            k: {"from": before[sid][k], "to": after[sid][k]}
            for k in after[sid]
            if before[sid][k] != after[sid][k]
        }
        if fields:
            changed[sid] = fields
    head = {
        k: {"from": getattr(old, k), "to": getattr(new, k)}
        for k in ("title", "service", "schedule", "estimated_minutes")
        if getattr(old, k) != getattr(new, k)
    }
    order_changed = [s for s in before if s in after] != [s for s in after if s in before]
    return {
        "from": f"{old.id}@{old.version}",
        "to": f"{new.id}@{new.version}",
        "playbook": head,
        "added": [s for s in after if s not in before],
        "removed": [s for s in before if s not in after],
        "changed": {k: changed[k] for k in after if k in changed},
        "reordered": order_changed,
    }


def diff(
    session: Session,
    playbook_id: str,
    *,
    old: int | None = None,
    new: int | None = None,
    path: Path | None = None,
) -> dict[str, Any]:
    """Two installed versions (default: the two newest), or a file against its installed
    version (or the newest installed)."""
    if path is not None:
        item = load_files([path])[0]
        rows = _rows(session, item.playbook.id)
        if not rows:
            raise NotFoundError(
                f"{item.playbook.id} is not installed; nothing to compare",
                hint=f"pm playbook import {path}",
            )
        base = next((r for r in rows if r.version == item.playbook.version), rows[-1])
        return step_diff(pinned_from(base).playbook, item.playbook)
    rows = _rows(session, playbook_id)
    if not rows:
        raise NotFoundError(f"no playbook {playbook_id}")
    if new is None:
        new = rows[-1].version
    if old is None:
        older = [r.version for r in rows if r.version < new]
        if not older:
            raise ConflictError(f"{playbook_id} has only version {new}; nothing to compare")
        old = older[-1]
    return step_diff(
        get(session, playbook_id, old).playbook, get(session, playbook_id, new).playbook
    )
