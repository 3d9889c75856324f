"""Administration (pm server user|token|site): users, grants, tokens (stored as SHA-256),
sites made on the server."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol.entities import ROLES
from pm_cli.protocol.merge import State
from pm_cli.protocol.shapes import SYNC_SCHEMA
from pm_cli.server import db
from pm_cli.server.auth import ServerClock, token_hash
from pm_cli.server.records import log_changes, save
from pm_cli.store.hlc import parse
from pm_cli.store.ids import new_id, now_text


def add_user(conn: sa.Connection, *, name: str, role: str, sites: list[str]) -> dict[str, Any]:
    from pm_cli.errors import ConflictError, UsageError

    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}", where="--role", hint="|".join(ROLES))
    name = name.strip()
    if not name:
        raise UsageError("a user needs a name", where="NAME")
    if conn.execute(
        sa.select(db.server_user.c.user_id).where(db.server_user.c.name == name)
    ).first():
        raise ConflictError(
            f"user {name} already exists", hint=f"pm server token issue {name} --device NAME"
        )
    user_id = new_id()
    conn.execute(
        db.server_user.insert().values(user_id=user_id, name=name, role=role, created_at=now_text())
    )
    codes = sorted({s.strip() for s in sites if s.strip()})
    if codes:
        conn.execute(db.user_grant.insert(), [{"user_id": user_id, "site_code": c} for c in codes])
    return {"user": name, "role": role, "sites": codes}


def _user(conn: sa.Connection, name: str) -> Any:
    from pm_cli.errors import NotFoundError

    row = conn.execute(sa.select(db.server_user).where(db.server_user.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no user {name}", hint="pm server user add NAME --sites … --role …")
    return row


def set_grants(
    conn: sa.Connection, *, name: str, add: list[str], remove: list[str], role: str | None = None
) -> dict[str, Any]:
    """Grant or withdraw site codes (and change the role); effective at the next request."""
    from pm_cli.errors import UsageError

    u = _user(conn, name)
    if role is not None:
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}", where="--role", hint="|".join(ROLES))
        conn.execute(
            db.server_user.update().where(db.server_user.c.user_id == u.user_id).values(role=role)
        )
    have = set(
        conn.execute(
            sa.select(db.user_grant.c.site_code).where(db.user_grant.c.user_id == u.user_id)
        ).scalars()
    )
    new = sorted({c.strip() for c in add if c.strip()} - have)
    if new:
        conn.execute(db.user_grant.insert(), [{"user_id": u.user_id, "site_code": c} for c in new])
    gone = [c.strip() for c in remove if c.strip()]
    if gone:
        conn.execute(
            db.user_grant.delete().where(
                db.user_grant.c.user_id == u.user_id, db.user_grant.c.site_code.in_(gone)
            )
        )
    return next(x for x in list_users(conn) if x["user"] == name)


def list_users(conn: sa.Connection) -> list[dict[str, Any]]:
    grants: dict[str, list[str]] = {}
    for uid, code in conn.execute(sa.select(db.user_grant.c.user_id, db.user_grant.c.site_code)):
        grants.setdefault(uid, []).append(code)
    # an admin granted no site reaches every site (authenticate): say so, not "none"
    return [
        {
            "user": r.name,
            "role": r.role,
            "sites": sorted(grants.get(r.user_id, []))
            or (["all sites"] if r.role == "admin" else []),
        }
        for r in conn.execute(sa.select(db.server_user).order_by(db.server_user.c.name))
    ]


def issue_token(conn: sa.Connection, *, user: str, device: str) -> dict[str, Any]:
    """A new token for a user's device: `pmt_` + 256 random bits, stored only as its hash."""
    u = _user(conn, user)
    tok = "pmt_" + secrets.token_urlsafe(32)
    token_id = new_id()
    conn.execute(
        db.token.insert().values(
            token_id=token_id,
            sha256=token_hash(tok),
            user_id=u.user_id,
            device_name=device,
            created_at=now_text(),
        )
    )
    return {"token_id": token_id, "user": user, "device": device, "token": tok}


def revoke_token(
    conn: sa.Connection, *, user: str, device: str | None = None, token_id: str | None = None
) -> int:
    u = _user(conn, user)
    stmt = db.token.update().where(db.token.c.user_id == u.user_id, db.token.c.revoked_at.is_(None))
    if device:
        stmt = stmt.where(db.token.c.device_name == device)
    if token_id:
        stmt = stmt.where(db.token.c.token_id == token_id)
    return conn.execute(stmt.values(revoked_at=now_text())).rowcount


def add_site(conn: sa.Connection, *, code: str, name: str | None = None) -> dict[str, Any]:
    from pm_cli.errors import ConflictError

    if conn.execute(sa.select(db.server_site).where(db.server_site.c.code == code)).first():
        raise ConflictError(f"site {code} already exists on the server")
    site_id = new_id()
    created = now_text()
    conn.execute(
        db.server_site.insert().values(site_id=site_id, code=code, name=name, created_at=created)
    )
    # the site record itself, as a change every granted laptop pulls
    clock = ServerClock()
    hlc = clock.now()
    fields = {"created_at": created, "code": code, "name": name or code}
    save(
        conn,
        {("site", site_id): State(fields, dict.fromkeys(fields, hlc))},
        {("site", site_id): site_id},
        (),
    )
    log_changes(
        conn,
        [
            {
                "change_id": new_id(),
                "site_id": site_id,
                "entity": "site",
                "record_id": site_id,
                "op": "upsert",
                "fields": fields,
                "base": {},
                "hlc": hlc,
                "device_id": parse(hlc).device,
                "schema": SYNC_SCHEMA,
                "token_id": None,
                "received_at": created,
                "status": "server",
            }
        ],
    )
    return {"site_id": site_id, "code": code, "name": name}
