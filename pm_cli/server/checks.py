"""What the server checks of each pushed change before it merges it (sync.md §3.2 step 4):
who may write it (role, grant, site, company-wide rows, conflict rows), whether its values fit
(`protocol.rules`), whether the records it names are of its site, whether its item number
was handed to its device. A refused change is answered by itself; the rest of the batch
goes on. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol import bundled, rules
from pm_cli.protocol.entities import may_write
from pm_cli.server import db

CHUNK = 500
# what a laptop may set on a conflict row (the server writes the rest): its resolution
CONFLICT_SETTLE = frozenset({"resolved_hlc", "resolution"})


@dataclass
class Refusal:
    """One change the server will not store: 403 (not yours to write) or 422 (not valid)."""

    index: int
    status: int
    where: list[str]

    @property
    def error(self) -> str:
        return "forbidden" if self.status == 403 else "invalid_change"


@dataclass
class Batch:
    """The stored facts a batch's checks need, read once per batch: the sites on the
    server, the records its changes name, the number blocks of this device."""

    conn: sa.Connection
    auth: Any  # server.auth.Auth
    records: dict[tuple[str, str], Any]  # the records the batch changes, as stored
    bound: dict[str, str] = field(default_factory=dict)  # site id → code on the server
    named: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    blocks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    founders: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        conn: sa.Connection,
        auth: Any,
        changes: list[dict[str, Any]],
        records: dict[tuple[str, str], Any],
    ) -> Batch:
        b = cls(conn, auth, records)
        b.bound = dict(
            conn.execute(sa.select(db.server_site.c.site_id, db.server_site.c.code)).all()
        )
        wanted: dict[str, set[str]] = {}
        for ch in changes:
            if ch["entity"] not in rules.registry() or not isinstance(ch["fields"], dict):
                continue
            for _where, ent, rid in rules.references(ch):
                wanted.setdefault(ent, set()).add(rid)
        for ent, ids in wanted.items():
            t = db.records[ent].c
            todo = sorted(ids)
            for i in range(0, len(todo), CHUNK):
                for rid, site_id, deleted in conn.execute(
                    sa.select(t.id, t.site_id, t.deleted).where(
                        db.among(conn, t.id, todo[i : i + CHUNK])
                    )
                ):
                    b.named[(ent, rid)] = (site_id, bool(deleted))
        if any(ch["entity"] == "pdca" and "no" in ch["fields"] for ch in changes):
            nb = db.number_block.c
            for site_id, first, last in conn.execute(
                sa.select(nb.site_id, nb.first, nb.last).where(nb.device_id == auth.device_id)
            ):
                b.blocks.setdefault(site_id, []).append((int(first), int(last)))
        return b

    # ---- authority ------------------------------------------------------------------------

    def authority(self, ch: dict[str, Any], new_sites: dict[str, str]) -> list[str]:
        """Why this token may not make this change ([] when it may). `new_sites`: sites the
        batch creates (id → code as the batch leaves it)."""
        auth, ent, site_id = self.auth, ch["entity"], ch["site_id"]
        stored = self.records.get((ent, ch["record_id"]))
        if stored is not None and stored.site_id != site_id:
            return [
                "site_id: the record belongs to another site (moving a record is a "
                "delete and a new record)"
            ]
        if ent == "playbook":
            if site_id:
                return ["site_id: playbooks are company-wide (site_id '')"]
            if not may_write(auth.role, ent) and not _bundled(ch["record_id"]):
                return [
                    f"entity: a {auth.role} may not write playbook versions (a manager "
                    "or an admin publishes them)"
                ]
            return []
        if ent == "conflict":
            if stored is None:
                return ["entity: only the server records conflicts"]
            extra = sorted(set(ch["fields"]) - CONFLICT_SETTLE)
            if extra or ch["op"] != "upsert":
                allowed = ", ".join(sorted(CONFLICT_SETTLE))
                return [
                    f"fields: a laptop only settles a conflict ({allowed}), not "
                    f"{', '.join(extra) or ch['op']}"
                ]
            if not site_id:  # a playbook's: settled by those who publish playbooks
                return (
                    []
                    if may_write(auth.role, "playbook")
                    else [f"entity: a {auth.role} may not settle a playbook conflict"]
                )
        elif not site_id:
            return [f"site_id: a {ent} belongs to a site"]
        elif not may_write(auth.role, ent):
            return [
                f"entity: a {auth.role} may not write {ent} (the site's set-up: a "
                "manager or an admin does)"
            ]
        if ent == "site" and ch["record_id"] != site_id:
            return ["site_id: a site's site_id is its own id"]
        if site_id in self.bound:
            if site_id not in auth.sites:
                return [f"site_id: site {self.bound[site_id]} is not granted to {auth.user}"]
            return []
        code = new_sites.get(site_id) if ent == "site" else None
        if code is None:
            return [f"site_id: site {site_id} is not on the server (push the site first)"]
        if code not in auth.codes and "*" not in auth.codes:
            return [f"site_id: site {code} is not granted to {auth.user}"]
        return []

    # ---- references and numbers ------------------------------------------------------------

    def references(self, ch: dict[str, Any], batch_sites: dict[tuple[str, str], str]) -> list[str]:
        """The records a change names must be of its site: on the server, or made earlier
        in this batch (`batch_sites`: (entity, id) → site of what the batch accepted)."""
        out = []
        for where, ent, rid in rules.references(ch):
            site = batch_sites.get((ent, rid))
            if site is None and (ent, rid) in self.named:
                site = self.named[(ent, rid)][0]
            if site is None:
                out.append(f"{where}: no {ent} {rid} on the server (push it first)")
            elif site != ch["site_id"]:
                out.append(f"{where}: {ent} {rid} belongs to another site")
        return out

    def number(self, ch: dict[str, Any], new_sites: dict[str, str]) -> list[str]:
        """An item number must come from a block handed to this device for the site; the
        device that brought the site to the server may also keep the numbers it gave before
        its first block (a database that never synced numbers its items itself)."""
        no = ch["fields"].get("no") if ch["entity"] == "pdca" else None
        if no is None or not isinstance(no, int) or isinstance(no, bool):
            return []
        blocks = self.blocks.get(ch["site_id"], [])
        if any(first <= no <= last for first, last in blocks):
            return []
        founder = (
            self.auth.device_id if ch["site_id"] in new_sites else self._founder(ch["site_id"])
        )
        if founder == self.auth.device_id and no < min((f for f, _ in blocks), default=no + 1):
            return []
        held = ", ".join(f"{f}–{last}" for f, last in sorted(blocks)) or "none yet"
        return [
            f"fields.no: #{no} is not among the numbers handed to this laptop for the site ({held})"
        ]

    def _founder(self, site_id: str) -> str | None:
        """The device whose push brought the site to the server (None: made on the server)."""
        if site_id not in self.founders:
            c = db.sync_change.c
            self.founders[site_id] = self.conn.execute(
                sa.select(c.device_id)
                .where(
                    c.site_id == site_id,
                    c.entity == "site",
                    c.record_id == site_id,
                    c.token_id.is_not(None),
                )
                .order_by(c.seq)
                .limit(1)
            ).scalar()
        return self.founders[site_id]


def _bundled(record_id: str) -> bool:
    """A playbook version of the library shipped with pm (its id is the content address of
    that content, checked by `protocol.rules`): any role may push it, since `pm init`
    installs it everywhere."""
    return record_id in bundled.IDS
