"""Playbook versions are content-addressed: a row's id is the UUIDv5 of id@version#sha256 and
its sha256 is the hash of its canonical spec, so the id proves what the row holds. The same
version installed on every laptop is one row; other content under the same id@version is
another row (a `version_clash`); a row whose id or hash does not match its content is refused."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

NAMESPACE = uuid.UUID("6f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0")


def content_id(playbook_id: str, version: int, sha256: str) -> str:
    """A playbook version's row id, the same on every laptop and the server."""
    return str(uuid.uuid5(NAMESPACE, f"{playbook_id}@{version}#{sha256}"))


def problems(record_id: str | None, fields: dict[str, Any]) -> list[str]:
    """Why a playbook row is not what its id says ([] when it is). Assumes the field types
    were checked (texts are texts, the version a whole number)."""
    spec, sha = fields.get("spec"), fields.get("sha256")
    if isinstance(spec, str) and sha != hashlib.sha256(spec.encode("utf-8")).hexdigest():
        return [
            "fields.sha256: not the sha256 of the spec (a published version's content "
            "never changes: raise its version)"
        ]
    pid, version = fields.get("playbook_id"), fields.get("version")
    if (
        record_id is not None
        and isinstance(pid, str)
        and isinstance(sha, str)
        and (record_id != content_id(pid, version, sha))  # type: ignore[arg-type]
    ):
        return ["record_id: a playbook version's id is the content address of id@version#sha256"]
    return []
