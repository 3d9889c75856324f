"""the generic store's records into the typed tables: each record checked with the laptops'
field rules on the way; one that does not fit (a name that is an object, a 5 MB text, an
entity or field this pm does not know) goes to `record_quarantine` with its reasons, and
every logged change that breaks the rules is marked `withheld`, never served again

One way: to go back, restore the backup taken before `pm server migrate`.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHUNK = 2000
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _problems(entity: str, record_id: str, op_: str, fields: Any) -> list[str]:
    from pm_cli.protocol import rules

    try:
        return rules.problems(
            {"entity": entity, "record_id": record_id, "op": op_, "fields": fields}, create=False
        )
    except Exception as e:  # a row no rule was written for is not kept either
        return [f"{type(e).__name__}: {e}"]


def upgrade() -> None:
    from pm_cli.protocol import rows
    from pm_cli.protocol.entities import registry
    from pm_cli.protocol.merge import State

    bind = op.get_bind()
    md = sa.MetaData()
    old = sa.table(
        "sync_record",
        sa.column("entity"),
        sa.column("record_id"),
        sa.column("site_id"),
        sa.column("fields", JSON),
        sa.column("field_hlc", JSON),
    )
    quarantine = sa.Table("record_quarantine", md, autoload_with=bind)
    reg = registry()
    tables = {
        name: sa.Table(name, md, autoload_with=bind)
        for name in reg
        if sa.inspect(bind).has_table(name)
    }
    moved_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    last: tuple[str, str] = ("", "")
    while True:
        page = bind.execute(
            sa.select(old.c.entity, old.c.record_id, old.c.site_id, old.c.fields, old.c.field_hlc)
            .where(
                sa.tuple_(old.c.entity, old.c.record_id)
                > sa.tuple_(sa.literal(last[0]), sa.literal(last[1]))
            )
            .order_by(old.c.entity, old.c.record_id)
            .limit(CHUNK)
        ).all()
        if not page:
            break
        last = (page[-1].entity, page[-1].record_id)
        typed: dict[str, list[dict[str, Any]]] = {}
        refused: list[dict[str, Any]] = []
        for r in page:
            ent = reg.get(r.entity)
            fields = r.fields if isinstance(r.fields, dict) else {}
            stamps = r.field_hlc if isinstance(r.field_hlc, dict) else {}
            if ent is None or r.entity not in tables:
                why = [f"entity: unknown entity {r.entity!r}"]
            else:
                why = _problems(
                    r.entity, r.record_id, "append" if ent.kind == "append" else "upsert", r.fields
                )
                if not why and not all(isinstance(v, str) for v in stamps.values()):
                    why = ["field_hlc: stamps are text"]
            if why:
                refused.append(
                    {
                        "entity": r.entity,
                        "record_id": r.record_id,
                        "site_id": r.site_id,
                        "fields": r.fields,
                        "field_hlc": r.field_hlc,
                        "reasons": why,
                        "moved_at": moved_at,
                    }
                )
                continue
            assert ent is not None
            typed.setdefault(r.entity, []).append(
                rows.row_of(
                    ent, tables[r.entity], r.record_id, r.site_id or "", State(fields, stamps)
                )
            )
        for name, batch in typed.items():
            bind.execute(tables[name].insert(), batch)
        if refused:
            bind.execute(quarantine.insert(), refused)
    _withhold(bind, md)
    op.drop_table("sync_record")


def _withhold(bind: sa.Connection, md: sa.MetaData) -> None:
    """Mark `withheld` every logged change a laptop must not apply: of a quarantined
    record, or one that breaks the field rules by itself (pull skips them)."""
    from pm_cli.protocol.entities import registry

    log = sa.table(
        "sync_change",
        sa.column("seq"),
        sa.column("entity"),
        sa.column("record_id"),
        sa.column("op"),
        sa.column("fields", JSON),
        sa.column("status"),
    )
    quarantine = md.tables["record_quarantine"]
    held = set(bind.execute(sa.select(quarantine.c.entity, quarantine.c.record_id)).all())
    reg = registry()
    after = -1
    while True:
        page = bind.execute(
            sa.select(
                log.c.seq, log.c.entity, log.c.record_id, log.c.op, log.c.fields, log.c.status
            )
            .where(log.c.seq > after)
            .order_by(log.c.seq)
            .limit(CHUNK)
        ).all()
        if not page:
            break
        after = page[-1].seq
        bad = [
            r.seq
            for r in page
            if (r.entity, r.record_id) in held
            or r.entity not in reg
            or _problems(r.entity, r.record_id, r.op, r.fields)
        ]
        if bad:
            bind.execute(log.update().where(log.c.seq.in_(bad)).values(status="withheld"))


def downgrade() -> None:
    raise NotImplementedError(
        "the typed tables do not go back into the generic store: "
        "restore the backup taken before pm server migrate"
    )
