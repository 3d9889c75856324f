"""Push: the change log in batches, oldest first (sync.md §3.2). A batch too large is halved;
a clock ahead of the server's re-stamps once; the changes the server refuses are set aside as
`rejected` and their records put back as the server holds them; the rest are acked."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pm_cli.store import tables
from pm_cli.store.outbox import UNSENT
from pm_cli.sync.replica import Replica
from pm_cli.sync.transport import _error, _request, error_code

if TYPE_CHECKING:
    from pm_cli.sync.report import Report

BATCH = 500


def push(
    replica: Replica,
    http: Any,
    report: Report,
    progress: Callable[[str, int, int], None] | None,
    server_hlc: str = "",
) -> None:
    """Send every pending change, a batch at a time, and take in the answers."""
    t = tables.change
    restamped = False
    with replica.engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.count())
            .select_from(t)
            .where(sa.text(UNSENT), t.c.state.in_(("pending", "sent")))
        ).scalar_one()
    done, size, after = 0, BATCH, 0
    while True:
        with replica.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(t)
                    .where(
                        sa.text(UNSENT), t.c.state.in_(("pending", "sent")), t.c.local_no > after
                    )
                    .order_by(t.c.local_no)
                    .limit(size)
                )
                .mappings()
                .all()
            )
        if not rows:
            return
        batch = [
            {
                "change_id": r["change_id"],
                "site_id": r["site_id"],
                "entity": r["entity"],
                "record_id": r["record_id"],
                "op": r["op"],
                "fields": r["fields"],
                "base": r["base"],
                "hlc": r["hlc"],
            }
            for r in rows
        ]
        r = _request(partial(http.post, "/sync/push", json={"changes": batch}), "push")
        if r.status_code == 413 and size > 1:
            size = max(1, size // 2)
            continue
        if r.status_code == 413:  # one change over the server's limit: it can never go
            _roll_back(
                replica,
                [
                    {
                        "change_id": rows[0]["change_id"],
                        "code": 413,
                        "error": "too_large",
                        "where": [f"over the server's request size limit ({_error(r).message})"],
                    }
                ],
                rows,
                report,
            )
            size = BATCH
            continue
        if r.status_code == 422 and error_code(r) == "clock_ahead" and not restamped:
            # this laptop's clock ran ahead: stamp what no server holds by the server's time
            report.warnings.append(
                _error(r).message + "; re-stamped the pending changes by the server's clock"
            )
            replica.restamp(server_hlc)
            restamped = True
            continue
        if r.status_code in (403, 422) and _reject(replica, r, rows, report):
            continue  # the named changes are set aside; send the rest
        if r.status_code != 200:
            raise _error(r)
        _acked(replica, r.json(), rows, report)
        done += len(rows)
        after = rows[-1]["local_no"]
        if progress:
            progress("push", done, total)


def _acked(
    replica: Replica, body: dict[str, Any], rows: Sequence[sa.RowMapping], report: Report
) -> None:
    """Take in the server's answer to a batch: refused changes rolled back, the others acked
    (with their seq), the clock moved past the server's."""
    t = tables.change
    refused = [res for res in body["results"] if res["status"] == "rejected"]
    if refused:
        _roll_back(replica, refused, rows, report)
    acks = [
        {"v_id": res["change_id"], "v_seq": res.get("seq")}
        for res in body["results"]
        if res["status"] != "rejected"
    ]
    with replica.write() as conn:
        if acks:  # one statement for the batch
            conn.execute(
                t.update()
                .where(t.c.change_id == sa.bindparam("v_id"))
                .values(state="acked", seq=sa.bindparam("v_seq")),
                acks,
            )
        replica.recv(conn, body["server_hlc"])
    dupes = sum(res["status"] == "duplicate" for res in body["results"])
    report.duplicates += dupes
    report.pushed += len(acks) - dupes


def _reject(replica: Replica, r: Any, rows: Sequence[sa.RowMapping], report: Report) -> bool:
    """Mark the changes a 403/422 names as rejected and roll their records back to the
    server's copy (sync.md §3.2); False if it names none."""
    try:
        body = r.json()
    except ValueError:
        return False
    if body.get("error") in ("clock_ahead", "wrong_device"):
        return False
    items: dict[int, dict[str, Any]] = {}
    for item in body.get("rejected") or []:
        if isinstance(item, dict) and isinstance(item.get("index"), int):
            items[item["index"]] = item
    for w in body.get("where") or []:
        hit = re.match(r"^changes\[(\d+)\]", w)
        if hit and int(hit[1]) < len(rows) and int(hit[1]) not in items:
            items[int(hit[1])] = {"index": int(hit[1]), "where": [w], "code": r.status_code}
    items = {
        i: {**it, "change_id": rows[i]["change_id"]} for i, it in items.items() if i < len(rows)
    }
    if not items:
        return False
    _roll_back(replica, list(items.values()), rows, report)
    return True


_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|#\d+")


def refusals(rejected: list[dict[str, Any]]) -> list[tuple[tuple[str, str], int]]:
    """Refused changes summarised: (entity, reason with record ids and numbers left out) →
    how many, most first."""
    from collections import Counter

    counts = Counter((r["entity"], _ID.sub("…", r["reason"])) for r in rejected)
    return counts.most_common()


def _roll_back(
    replica: Replica, refused: list[dict[str, Any]], rows: Sequence[sa.RowMapping], report: Report
) -> None:
    """Mark refused changes `rejected` (with why), and put their records back as the server
    holds them, so this laptop does not keep what nobody else will ever see: a field this
    change set takes the server's value and stamp (unless a later edit or pull holds it now);
    a record the server never accepted is hidden (a row) or removed (an append-only row)."""
    from pm_cli.protocol.entities import registry

    t = tables.change
    by_id = {row["change_id"]: row for row in rows}
    reg = registry()
    with replica.write() as conn:
        for item in refused:
            row = by_id.get(item["change_id"])
            if row is None:
                continue
            where = [re.sub(r"^changes\[\d+\]\.?", "", w) for w in item.get("where") or []]
            why = "; ".join(w for w in where if w) or item.get("error") or "refused"
            conn.execute(
                t.update()
                .where(t.c.change_id == row["change_id"])
                .values(state="rejected", reason=why)
            )
            report.rejected.append(
                {
                    "change_id": row["change_id"],
                    "entity": row["entity"],
                    "record_id": row["record_id"],
                    "reason": why,
                    "code": item.get("code"),
                }
            )
            ent = reg.get(row["entity"])
            if ent is None or "record" not in item:
                continue  # the server did not say what it holds (a site not granted)
            _restore_record(conn, ent, row, item["record"])


def _restore_record(
    conn: sa.Connection, ent: Any, change: sa.RowMapping, record: dict[str, Any] | None
) -> None:
    et = ent.table
    rid = change["record_id"]
    if ent.kind == "append":
        if record is None:  # never stored on the server: nobody else will see it
            conn.execute(et.delete().where(et.c.id == rid))
        return
    local = conn.execute(sa.select(et).where(et.c.id == rid)).mappings().first()
    if local is None:
        return
    stamps = dict(local["field_hlc"] or {})
    values: dict[str, Any] = {}
    for name in change["fields"]:
        if stamps.get(name) != change["hlc"] or name not in et.c:
            continue  # a later edit here, or a pulled value, holds this field now
        if record is None:
            values["deleted"] = True  # a record the server never accepted: hidden here
            continue
        if name in (record.get("field_hlc") or {}):
            values[name] = record["fields"].get(name)
            stamps[name] = record["field_hlc"][name]
        else:
            stamps.pop(name, None)
    if values or stamps != dict(local["field_hlc"] or {}):
        conn.execute(
            et.update()
            .where(et.c.id == rid)
            .values(**values, field_hlc=stamps, updated_hlc=max(stamps.values(), default=""))
        )
