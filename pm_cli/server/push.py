"""Push (sync.md §3.2): one batch, one transaction; each change checked by itself
(`checks`), merged (`protocol.merge`), logged with its seq; refused ones answered alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol import merge as m
from pm_cli.protocol import rules
from pm_cli.protocol.entities import registry
from pm_cli.protocol.shapes import (
    MAX_AHEAD,
    MAX_BATCH,
    SYNC_SCHEMA,
    ApiError,
)
from pm_cli.server import checks, db
from pm_cli.server.auth import Auth, ServerClock, take_numbers
from pm_cli.server.records import (
    change_row,
    conflict_change,
    lock_records,
    log_changes,
    record_state,
    save,
)
from pm_cli.server.structure import duplicate_codes, structure_checks, version_clashes
from pm_cli.store.hlc import parse
from pm_cli.store.ids import new_id, now_text


def _check_stamps(changes: list[dict[str, Any]], auth: Auth, now: datetime) -> dict[int, str]:
    """Whole-batch refusals about the laptop, not a change: a stamp more than 24 h ahead
    (422 clock_ahead: the laptop re-stamps and sends again), a stamp of another device (403).
    Per change: a stamp that does not parse (index → where)."""
    bad: dict[int, str] = {}
    ahead: list[tuple[int, float]] = []
    for i, ch in enumerate(changes):
        try:
            st = parse(ch["hlc"])
            for v in (ch.get("base") or {}).values():
                parse(v)
        except ValueError as e:
            bad[i] = f"changes[{i}].hlc: {e}"
            continue
        lead = st.wall - now.timestamp() * 1000
        if lead > MAX_AHEAD.total_seconds() * 1000:
            ahead.append((i, lead / 3_600_000))
    if ahead:
        i, hours = ahead[0]
        raise ApiError(
            422,
            "clock_ahead",
            f"this laptop's clock is {hours:.0f} h ahead: fix it and run pm sync again",
            where=[f"changes[{j}].hlc" for j, _ in ahead],
            hint="set the date and time (automatic time), then pm sync",
        )
    wrong = [
        f"changes[{i}].hlc"
        for i, ch in enumerate(changes)
        if i not in bad and auth.device_id and parse(ch["hlc"]).device != auth.device_id
    ]
    if wrong:
        raise ApiError(403, "wrong_device", "changes stamped by another device", where=wrong)
    return bad


def _new_sites(
    auth: Auth, changes: list[dict[str, Any]], at: list[int], bound: dict[str, str]
) -> dict[str, str]:
    """Sites this batch brings to the server (id → code as the batch leaves them); 409 when
    the server already has another site of that code (nothing applied). `at`: the changes
    to look at, by their position in the request."""
    final: dict[str, str] = {}
    for ch in (changes[i] for i in at):
        if (
            ch["entity"] == "site"
            and isinstance(ch["fields"], dict)
            and isinstance(ch["fields"].get("code"), str)
            and ch["record_id"] == ch["site_id"]
            and ch["site_id"] not in bound
        ):
            final[ch["record_id"]] = ch["fields"]["code"]
    codes = {v: k for k, v in bound.items()}
    for i in at:
        ch = changes[i]
        code = final.get(ch["record_id"]) if ch["entity"] == "site" else None
        if (
            code is not None
            and code in codes
            and codes[code] != ch["record_id"]
            and (code in auth.codes or "*" in auth.codes)
        ):
            raise ApiError(
                409,
                "site_exists",
                f"the server already has a site {code} (another record)",
                where=[f"changes[{i}]"],
                hint=f"rename the local site (pm site edit {code} --code NEW) and "
                "pm sync again; or take the server's copy into a new database "
                "(pm --db NEW.db init, then pm sync login and pm sync there)",
            )
    return final


def push(
    engine: sa.Engine, auth: Auth, clock: ServerClock, changes: list[dict[str, Any]], schema: int
) -> dict[str, Any]:
    """One batch, one transaction. Each change is checked by itself (checks.Batch): a refused
    one is answered `rejected` with its reasons and the server's copy of its record, never
    stored; the rest apply. When every new change of the batch is refused the answer is the
    error itself (403 or 422, each `changes[i]` named)."""
    now = datetime.now(UTC)
    if len(changes) > MAX_BATCH:
        raise ApiError(
            413,
            "too_large",
            f"{len(changes)} changes in one batch; at most {MAX_BATCH}",
            hint="send smaller batches",
        )
    refused: dict[int, checks.Refusal] = {
        i: checks.Refusal(i, 422, [w]) for i, w in _check_stamps(changes, auth, now).items()
    }
    reg = registry()
    with engine.connect().execution_options(pm_write=True) as conn, conn.begin():
        tok = conn.execute(
            sa.select(db.token.c.device_id, db.token.c.revoked_at)
            .where(db.token.c.token_id == auth.token_id)
            .with_for_update()
        ).one()
        if tok.revoked_at is not None:
            raise ApiError(401, "unauthorized", "this token was revoked")
        if tok.device_id is None:
            raise ApiError(403, "no_hello", "say hello first (POST /sync/hello)")
        ids = [c["change_id"] for c in changes]
        seen = dict(
            conn.execute(
                sa.select(db.sync_change.c.change_id, db.sync_change.c.seq).where(
                    db.among(conn, db.sync_change.c.change_id, ids)
                )
            ).all()
        )
        fresh_at = [i for i, c in enumerate(changes) if c["change_id"] not in seen]
        records = lock_records(
            conn, {(changes[i]["entity"], changes[i]["record_id"]) for i in fresh_at}
        )
        batch = checks.Batch.load(conn, auth, [changes[i] for i in fresh_at], records)
        new_sites = _new_sites(auth, changes, fresh_at, batch.bound)
        states: dict[tuple[str, str], m.State | None] = {k: r.state for k, r in records.items()}
        site_of = {k: r.site_id for k, r in records.items()}
        results: dict[str, dict[str, Any]] = {}
        logged: list[dict[str, Any]] = []
        fresh: list[dict[str, Any]] = []
        binds: list[dict[str, Any]] = []
        received = now_text()
        stamps = [changes[i]["hlc"] for i in fresh_at if i not in refused]
        if stamps:  # the server's stamps from here on follow every stamp of the batch
            clock.seen(max(stamps))
        for i in fresh_at:
            ch = changes[i]
            if ch["change_id"] in results:  # the same change twice in one batch
                continue
            key = (ch["entity"], ch["record_id"])
            why = refused[i].where if i in refused else []
            status = 422
            if not why and ch["entity"] not in reg:
                why = [f"changes[{i}].entity: unknown entity {ch['entity']!r}"]
            if not why:
                why = [f"changes[{i}].{w}" for w in batch.authority(ch, new_sites)]
                status = 403
            if not why:
                status = 422
                create = states.get(key) is None
                why = [f"changes[{i}].{w}" for w in rules.problems(ch, create=create)]
                if not why and ch["entity"] != "conflict":
                    why = [
                        f"changes[{i}].{w}"
                        for w in batch.references(ch, site_of) + batch.number(ch, new_sites)
                    ]
            if why:
                refused[i] = checks.Refusal(i, status, why)
                results[ch["change_id"]] = {"change_id": ch["change_id"], "status": "rejected"}
                continue
            if (
                ch["entity"] == "site"
                and ch["site_id"] in new_sites
                and not any(b["site_id"] == ch["site_id"] for b in binds)
            ):
                binds.append(
                    {
                        "site_id": ch["site_id"],
                        "code": new_sites[ch["site_id"]],
                        "name": ch["fields"].get("name"),
                        "created_at": received,
                    }
                )
                batch.bound[ch["site_id"]] = new_sites[ch["site_id"]]
                auth.sites[ch["site_id"]] = new_sites[ch["site_id"]]
            fresh.append(ch)
            merged = m.merge(reg[ch["entity"]].kind, states.get(key), ch)
            states[key] = merged.state
            site_of[key] = ch["site_id"]
            results[ch["change_id"]] = {"change_id": ch["change_id"], "status": merged.outcome}
            if merged.outcome == "superseded" and reg[ch["entity"]].kind == "append":
                continue  # the same row again (a playbook every laptop installs): nothing new
            logged.append(
                {**change_row(ch, received, auth.token_id, schema), "status": merged.outcome}
            )
            if ch["entity"] == "conflict":
                continue  # two people settling one conflict: no conflict about the conflict
            for conflict in merged.conflicts:
                logged.append(conflict_change(ch, conflict, clock, received))
        if refused and not fresh and not any(c["change_id"] in seen for c in changes):
            status = 403 if all(r.status == 403 for r in refused.values()) else 422
            where = [w for i in sorted(refused) for w in refused[i].where]
            raise ApiError(
                status,
                "forbidden" if status == 403 else "invalid_change",
                f"{len(refused)} change(s) refused; nothing applied",
                where=where,
                hint=_refusal_hint(refused.values()),
                extra={"rejected": _rejected(conn, auth, changes, refused, states)},
            )
        if binds:
            conn.execute(db.server_site.insert(), binds)
        logged += _item_numbers(conn, fresh, states, clock, received)
        logged += duplicate_codes(conn, fresh, states, site_of, clock, received)
        logged += structure_checks(conn, fresh, states, clock, received)
        logged += version_clashes(conn, fresh, states, records, clock, received)
        conflict_rows = [
            row for row in logged if row["entity"] == "conflict" and row["status"] == "server"
        ]
        for row in conflict_rows:  # conflicts are records: served in snapshots too
            key = ("conflict", row["record_id"])
            states[key] = m.merge("mutable", None, row).state
            site_of[key] = row["site_id"]
        save(conn, states, site_of, records)
        conn.execute(
            db.token.update()
            .where(db.token.c.token_id == auth.token_id)
            .values(last_used_at=received)
        )
        if logged:  # the counter last, its row lock held to COMMIT
            log_changes(conn, logged)
            for row in logged:
                if row["change_id"] in results:
                    results[row["change_id"]]["seq"] = row["seq"]
        rejected = {x["change_id"]: x for x in _rejected(conn, auth, changes, refused, states)}
    out = []
    for c in changes:
        if c["change_id"] in seen:
            out.append(
                {"change_id": c["change_id"], "status": "duplicate", "seq": seen[c["change_id"]]}
            )
        elif c["change_id"] in rejected:
            out.append({**rejected[c["change_id"]], "status": "rejected"})
        else:
            out.append(results[c["change_id"]])
    return {"results": out, "server_hlc": clock.now()}


def _refusal_hint(refusals: Any) -> str:
    codes = {r.status for r in refusals}
    if codes == {403}:
        return "ask an admin for the grant or role (pm server user grant), or undo the change"
    return "these changes stay on this laptop as rejected: pm sync status lists them"


def _rejected(
    conn: sa.Connection,
    auth: Auth,
    changes: list[dict[str, Any]],
    refused: dict[int, checks.Refusal],
    states: dict[tuple[str, str], m.State | None],
) -> list[dict[str, Any]]:
    """Each refused change with its reasons and the server's copy of its record (`record`:
    null when the server holds none), so the laptop can roll back; the copy only for a
    record of a site the user may read."""
    out = []
    for i in sorted(refused):
        ch, ref = changes[i], refused[i]
        item: dict[str, Any] = {
            "change_id": ch["change_id"],
            "index": i,
            "code": ref.status,
            "error": ref.error,
            "where": ref.where,
        }
        key = (ch["entity"], ch["record_id"])
        readable = ch["site_id"] in auth.sites or (not ch["site_id"] and ch["entity"] == "playbook")
        if readable:
            state = states.get(key) if key in states else record_state(conn, states, key)
            item["record"] = (
                None if state is None else {"fields": state.fields, "field_hlc": state.stamps}
            )
        out.append(item)
    return out


def _item_numbers(
    conn: sa.Connection,
    changes: list[dict[str, Any]],
    states: dict[tuple[str, str], m.State | None],
    clock: ServerClock,
    received: str,
) -> list[dict[str, Any]]:
    """Keep each site's next number above every item number pushed (a database that never
    synced numbered its items 1, 2, 3 itself), and number an item made without one (a laptop
    out of numbers offline) with a server change every laptop pulls."""
    out: list[dict[str, Any]] = []
    for ch in changes:
        if ch["entity"] != "pdca" or "no" not in ch["fields"]:
            continue
        no = ch["fields"]["no"]
        key = (ch["entity"], ch["record_id"])
        state = states.get(key)
        if isinstance(no, int) and not isinstance(no, bool):
            take_numbers(conn, ch["site_id"], at_least=no + 1)
        elif no is None and state is not None and state.fields.get("no") is None:
            n = take_numbers(conn, ch["site_id"], take=1)
            hlc = clock.now()
            fix = {
                "change_id": new_id(),
                "site_id": ch["site_id"],
                "entity": "pdca",
                "record_id": ch["record_id"],
                "op": "upsert",
                "fields": {"no": n},
                "base": {k: v for k, v in state.stamps.items() if k == "no"},
                "hlc": hlc,
            }
            states[key] = m.merge("mutable", state, fix).state
            out.append({**change_row(fix, received, None, SYNC_SCHEMA), "status": "server"})
    return out
