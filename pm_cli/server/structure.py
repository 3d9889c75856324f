"""What per-field merging can break, found after the merge (sync.md §2, §4): duplicate codes
and numbers, grid cycles and orphans, phase races, playbook version clashes. The data
stays; a conflict says so."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pm_cli.protocol import merge as m
from pm_cli.server import db
from pm_cli.server.auth import ServerClock
from pm_cli.server.records import (
    CHUNK,
    conflict_change,
    load,
    record_state,
    table,
)


def code_of(entity: str, state: m.State) -> str | None:
    """What must be unique among a site's live records: its code, an item's number, a
    playbook's id@version (company-wide)."""
    f = state.fields
    if entity == "playbook":
        return f"{f.get('playbook_id')}@{f.get('version')}" if f.get("playbook_id") else None
    value = f.get("no" if entity == "pdca" else "code")
    return None if value is None else str(value)


def version_clashes(
    conn: sa.Connection,
    changes: list[dict[str, Any]],
    states: dict[tuple[str, str], m.State | None],
    records: dict[tuple[str, str], Any],
    clock: ServerClock,
    received: str,
) -> list[dict[str, Any]]:
    """A playbook id@version stored with other content than one already here (two laptops
    published the same version number): both rows stay (runs pin the sha256), and a
    `version_clash` conflict asks for a new version (sync.md §4)."""
    t = table("playbook").c
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for ch in changes:
        key = ("playbook", ch["record_id"])
        if ch["entity"] != "playbook" or key in records or ch["record_id"] in seen:
            continue
        seen.add(ch["record_id"])
        state = states.get(key)
        label = code_of("playbook", state) if state is not None else None
        if label is None or state is None:
            continue
        sha = state.fields.get("sha256")
        others = dict(
            conn.execute(
                sa.select(t.id, t.sha256).where(
                    t.site_id == "",
                    t.playbook_id == state.fields.get("playbook_id"),
                    t.version == state.fields.get("version"),
                )
            ).all()
        )
        others.update(
            {
                k[1]: st.fields.get("sha256")
                for k, st in states.items()
                if k[0] == "playbook"
                and st is not None
                and k[1] in seen
                and code_of("playbook", st) == label
            }
        )
        for other, their in sorted(others.items()):
            if other != ch["record_id"] and their != sha:
                out.append(
                    conflict_change(
                        ch,
                        m.Conflict(
                            "version_clash",
                            "sha256",
                            their,
                            {
                                "rule": "version_clash",
                                "playbook": label,
                                "other": other,
                                "sha256": sha,
                            },
                            None,
                            ch["hlc"],
                            loser_is_change=True,
                        ),
                        clock,
                        received,
                    )
                )
                break
    return out


def duplicate_codes(
    conn: sa.Connection,
    changes: list[dict[str, Any]],
    states: dict[tuple[str, str], m.State | None],
    site_of: dict[tuple[str, str], str],
    clock: ServerClock,
    received: str,
) -> list[dict[str, Any]]:
    """A create or code edit whose code another live record of the site already has: both
    stay, a `duplicate_code` conflict names both (sync.md §2). One indexed query per entity
    and site for the whole batch."""
    todo: list[tuple[dict[str, Any], tuple[str, str], str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for ch in changes:
        key = (ch["entity"], ch["record_id"])
        name = "no" if ch["entity"] == "pdca" else "code"
        code = ch["fields"].get(name)
        state = states.get(key)
        if (
            code is None
            or ch["entity"] == "site"
            or key in seen
            or state is None
            or state.fields.get(name) != code
            or state.deleted
        ):
            continue
        seen.add(key)
        todo.append((ch, key, name, code))
    if not todo:
        return []
    holders: dict[tuple[str, str, str], set[str]] = {}  # (entity, site, code) → record ids
    for (ent, rid), st in states.items():  # the batch's own view wins for what it touched
        code = code_of(ent, st) if st is not None and not st.deleted else None
        if code is not None:
            holders.setdefault((ent, site_of.get((ent, rid), ""), code), set()).add(rid)
    wanted: dict[tuple[str, str], set[str]] = {}
    for _ch, key, _name, code in todo:
        wanted.setdefault((key[0], site_of[key]), set()).add(str(code))
    for (ent, site), codes in wanted.items():
        t = table(ent).c
        col = t.no if ent == "pdca" else t.code
        keys: list[Any] = sorted(int(c) for c in codes) if ent == "pdca" else sorted(codes)
        for i in range(0, len(keys), CHUNK):
            for rid, code in conn.execute(
                sa.select(t.id, col).where(
                    t.site_id == site,
                    db.among(conn, col, keys[i : i + CHUNK]),
                    t.deleted.is_(False),
                )
            ):
                if (ent, rid) not in states:
                    holders.setdefault((ent, site, str(code)), set()).add(rid)
    out: list[dict[str, Any]] = []
    for ch, key, name, code in todo:
        for other in sorted(holders.get((key[0], site_of[key], str(code)), set()) - {key[1]}):
            out.append(
                conflict_change(
                    ch,
                    m.Conflict(
                        f"duplicate_{name}",
                        name,
                        code,
                        {"other": other},
                        None,
                        None,
                        loser_is_change=True,
                    ),
                    clock,
                    received,
                )
            )
    return out


def structure_checks(
    conn: sa.Connection,
    changes: list[dict[str, Any]],
    states: dict[tuple[str, str], m.State | None],
    clock: ServerClock,
    received: str,
) -> list[dict[str, Any]]:
    """What per-field merging can break, checked after it (sync.md §4): a grid cycle from two
    moves, a grid under a deleted parent, two transitions of an item out of one phase. The
    data stays as merged (readers cope); an `invariant` or `phase_race` conflict says so.

    Pushes that move or delete grids or move items take their sites' row locks first, so a
    concurrent push doing the same waits and then sees this one's result."""
    # only a move under a parent, a delete or a restore can break a grid invariant (a grid
    # made or moved at the top level cannot)
    moves = [
        ch
        for ch in changes
        if ch["entity"] == "grid"
        and (
            ch["fields"].get("parent_id")
            or ch["fields"].get("deleted")
            or ch["op"] in ("delete", "restore")
        )
    ]
    steps = [
        ch
        for ch in changes
        if ch["entity"] == "pdca_event" and ch["fields"].get("kind") == "transition"
    ]
    if not moves and not steps:
        return []
    sites = sorted({ch["site_id"] for ch in moves + steps})
    conn.execute(
        sa.select(db.server_site.c.site_id)
        .where(db.server_site.c.site_id.in_(sites))
        .order_by(db.server_site.c.site_id)
        .with_for_update()
    ).all()
    return _grid_invariants(conn, moves, states, clock, received) + _phase_races(
        conn, steps, states, clock, received
    )


def _prefetch_ancestors(
    conn: sa.Connection, moves: list[dict[str, Any]], states: dict[tuple[str, str], m.State | None]
) -> None:
    """Load the moved grids' ancestors a level at a time, one query per level (and 500
    ids), so the walks below read memory: a bulk push of grids stays one query per level."""
    frontier = {
        st.fields.get("parent_id")
        for ch in moves
        for st in [states.get(("grid", ch["record_id"]))]
        if st is not None
    }
    for _level in range(64):
        todo = sorted(g for g in frontier if g and ("grid", g) not in states)
        if not todo:
            return
        frontier = set()
        found = load(conn, "grid", todo)
        for gid in todo:
            got = found.get(gid)
            states[("grid", gid)] = None if got is None else got.state
            if got is not None:
                frontier.add(got.state.fields.get("parent_id"))


def _grid_invariants(
    conn: sa.Connection,
    moves: list[dict[str, Any]],
    states: dict[tuple[str, str], m.State | None],
    clock: ServerClock,
    received: str,
) -> list[dict[str, Any]]:
    _prefetch_ancestors(conn, moves, states)
    out: list[dict[str, Any]] = []
    reported: set[frozenset[str]] = set()
    done: set[str] = set()
    rooted: set[str] = set()
    for ch in moves:
        gid = ch["record_id"]
        if gid in done:
            continue
        done.add(gid)
        state = states.get(("grid", gid))
        if state is None:
            continue
        if state.deleted:  # live children of a grid deleted now are orphans
            g = table("grid").c
            kids = set(
                conn.execute(
                    sa.select(g.id).where(g.site_id == ch["site_id"], g.parent_id == gid)
                ).scalars()
            )
            kids |= {
                k[1]
                for k, st in states.items()
                if k[0] == "grid" and st is not None and st.fields.get("parent_id") == gid
            }
            for kid in sorted(kids):
                kst = record_state(conn, states, ("grid", kid))
                if kst is not None and not kst.deleted and kst.fields.get("parent_id") == gid:
                    out.append(
                        conflict_change(
                            ch,
                            m.Conflict(
                                "invariant",
                                "parent_id",
                                gid,
                                {"rule": "parent_deleted", "parent": gid},
                                None,
                                ch["hlc"],
                                loser_is_change=True,
                            ),
                            clock,
                            received,
                            about=("grid", kid),
                        )
                    )
            continue
        parent = state.fields.get("parent_id")
        if not parent:
            continue
        pst = record_state(conn, states, ("grid", parent))
        if pst is None or pst.deleted:
            rule = "parent_missing" if pst is None else "parent_deleted"
            out.append(
                conflict_change(
                    ch,
                    m.Conflict(
                        "invariant",
                        "parent_id",
                        parent,
                        {"rule": rule, "parent": parent},
                        None,
                        ch["hlc"],
                        loser_is_change=True,
                    ),
                    clock,
                    received,
                )
            )
            continue
        chain, node = [gid], parent
        while node and node not in chain and node not in rooted and len(chain) <= 10_000:
            chain.append(node)
            nst = record_state(conn, states, ("grid", node))
            node = None if nst is None else nst.fields.get("parent_id")
        if not node or node in rooted:
            rooted.update(chain)  # leads to a root: later walks stop here
        elif node == gid and frozenset(chain) not in reported:
            reported.add(frozenset(chain))
            out.append(
                conflict_change(
                    ch,
                    m.Conflict(
                        "invariant",
                        "parent_id",
                        parent,
                        {"rule": "cycle", "grids": chain},
                        None,
                        ch["hlc"],
                        loser_is_change=True,
                    ),
                    clock,
                    received,
                )
            )
    return out


def _phase_races(
    conn: sa.Connection,
    steps: list[dict[str, Any]],
    states: dict[tuple[str, str], m.State | None],
    clock: ServerClock,
    received: str,
) -> list[dict[str, Any]]:
    """Two transitions of one item from the same phase and cycle to different phases (one
    lead closes it, another sends it back to plan): both events stay; the phase is the one
    that ranks higher; a `phase_race` conflict asks somebody to look."""
    out: list[dict[str, Any]] = []
    step_of = {ch["record_id"]: ch for ch in steps}
    by_item: dict[tuple[str, str], set[str]] = {}
    for ch in steps:
        by_item.setdefault((ch["site_id"], ch["fields"].get("pdca_id") or ""), set()).add(
            ch["record_id"]
        )
    e = table("pdca_event").c
    reported: set[frozenset[str]] = set()
    for (site, item), mine in by_item.items():
        events: dict[str, dict[str, Any]] = {}
        for row in conn.execute(
            sa.select(e.id, e.kind, e.from_phase, e.to_phase, e.cycle).where(
                e.site_id == site, e.pdca_id == item
            )
        ).mappings():
            events[row["id"]] = dict(row)
        for (ent, rid), st in states.items():
            if ent == "pdca_event" and st is not None and st.fields.get("pdca_id") == item:
                events[rid] = st.fields
        moves = {rid: f for rid, f in events.items() if f.get("kind") == "transition"}
        for rid in sorted(mine):
            f = moves.get(rid)
            if f is None or not f.get("from_phase"):  # an item's first event: no rival
                continue
            rivals = sorted(
                o
                for o, g in moves.items()
                if o != rid
                and g.get("from_phase") == f.get("from_phase")
                and _from_cycle(g) == _from_cycle(f)
                and g.get("to_phase") != f.get("to_phase")
            )
            for other in rivals:
                pair = frozenset((rid, other))
                if pair in reported:
                    continue
                reported.add(pair)
                ch = step_of[rid]
                out.append(
                    conflict_change(
                        ch,
                        m.Conflict(
                            "phase_race",
                            "phase",
                            moves[other].get("to_phase"),
                            {
                                "rule": "phase_race",
                                "from": f.get("from_phase"),
                                "to": [f.get("to_phase"), moves[other].get("to_phase")],
                                "events": [rid, other],
                            },
                            None,
                            ch["hlc"],
                            loser_is_change=True,
                        ),
                        clock,
                        received,
                        about=("pdca", item),
                    )
                )
    return out


def _from_cycle(event: dict[str, Any]) -> int:
    """The cycle a transition leaves (a move back to plan starts the next cycle)."""
    cycle = int(event.get("cycle") or 1)
    return cycle - 1 if event.get("to_phase") == "plan" and event.get("from_phase") else cycle
