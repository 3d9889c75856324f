"""Who is asking (sync.md §6): the bearer token → user, device and grants, read fresh on
every request; the version headers; the server's clock; hello (device binding, number
blocks, the sites no longer granted)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol.shapes import (
    MIN_CLIENT_SCHEMA,
    PROTOCOL,
    SYNC_SCHEMA,
    ApiError,
)
from pm_cli.server import db
from pm_cli.store.hlc import Clock, new_device_id
from pm_cli.store.ids import now_text


def token_hash(tok: str) -> str:
    return hashlib.sha256(tok.encode()).hexdigest()


@dataclass
class Auth:
    token_id: str
    user_id: str
    user: str
    role: str
    device_id: str | None
    sites: dict[str, str] = field(default_factory=dict)  # granted site id → code
    codes: set[str] = field(default_factory=set)  # granted codes (some not on the server yet)


def authenticate(conn: sa.Connection, header: str | None) -> Auth:
    """The bearer token → user, device and grants, read fresh on every request."""
    hint = "pm sync login URL --token TOKEN (ask an admin: pm server token issue USER)"
    if not header or not header.startswith("Bearer "):
        raise ApiError(401, "unauthorized", "no bearer token", hint=hint)
    tok = header[7:].strip()
    if not tok.startswith("pmt_"):
        raise ApiError(401, "unauthorized", "malformed token", hint=hint)
    row = conn.execute(_token_query().where(db.token.c.sha256 == token_hash(tok))).first()
    if row is None:
        raise ApiError(401, "unauthorized", "unknown token", hint=hint)
    if row.revoked_at is not None:
        raise ApiError(401, "unauthorized", "this token was revoked", hint=hint)
    return _auth_of(conn, row)


def by_token_id(conn: sa.Connection, token_id: str) -> Auth | None:
    """Who a token (known by its id: a browser session's) is, None once it is revoked."""
    row = conn.execute(_token_query().where(db.token.c.token_id == token_id)).first()
    return None if row is None or row.revoked_at is not None else _auth_of(conn, row)


def _token_query() -> sa.Select[Any]:
    return sa.select(db.token, db.server_user.c.name, db.server_user.c.role).join(
        db.server_user, db.server_user.c.user_id == db.token.c.user_id
    )


def _auth_of(conn: sa.Connection, row: Any) -> Auth:
    codes = set(
        conn.execute(
            sa.select(db.user_grant.c.site_code).where(db.user_grant.c.user_id == row.user_id)
        ).scalars()
    )
    stmt = sa.select(db.server_site.c.site_id, db.server_site.c.code)
    if row.role != "admin" or codes:
        stmt = stmt.where(db.server_site.c.code.in_(codes))
    sites = dict(conn.execute(stmt).all())
    return Auth(
        row.token_id,
        row.user_id,
        row.name,
        row.role,
        row.device_id,
        sites,
        codes if codes or row.role != "admin" else {"*"},
    )


def check_versions(protocol: str | None, schema: str | None) -> None:
    if protocol is not None and protocol != str(PROTOCOL):
        raise ApiError(
            426,
            "upgrade_pm",
            f"this server speaks sync protocol {PROTOCOL}, not {protocol}",
            hint="upgrade pm (pip install -U pm-cli)",
        )
    try:
        n = int(schema or "")
    except ValueError:
        raise ApiError(
            426, "upgrade_pm", "no Pm-Schema header: this client is too old", hint="upgrade pm"
        ) from None
    if n < MIN_CLIENT_SCHEMA:
        raise ApiError(
            426,
            "upgrade_pm",
            f"this pm (schema {n}) is older than the server "
            f"accepts ({MIN_CLIENT_SCHEMA}): upgrade pm",
            hint="pip install -U pm-cli",
        )
    if n > SYNC_SCHEMA:
        raise ApiError(
            426,
            "upgrade_server",
            f"this pm (schema {n}) is newer than the server ({SYNC_SCHEMA}): upgrade the server",
            hint="pm server migrate after upgrading pm on the server",
        )


class ServerClock:
    """The server's stamps: a random device id per process (sync.md §8). One clock serves
    every thread of the pool FastAPI runs sync endpoints in, so each read-modify-write of it
    holds a lock: no two requests get the same stamp, none one below a stamp handed out."""

    def __init__(self) -> None:
        import threading

        self.clock = Clock(new_device_id())
        self._lock = threading.Lock()

    def now(self) -> str:
        with self._lock:
            return self.clock.now()

    def seen(self, stamp: str) -> None:
        with self._lock:
            self.clock.recv(stamp)


BLOCK, LOW_WATER = 50, 10  # numbers per block; a laptop below this many gets another


def take_numbers(conn: sa.Connection, site_id: str, *, at_least: int = 1, take: int = 0) -> int:
    """Move the site's next item number to at least `at_least`, then take `take` numbers;
    the first one taken (the row's lock is held to COMMIT)."""
    t = db.site_number
    row = conn.execute(
        sa.select(t.c.next_no).where(t.c.site_id == site_id).with_for_update()
    ).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(t.insert().values(site_id=site_id, next_no=max(1, at_least)))
        except sa.exc.IntegrityError:
            pass  # another request made it first
        row = conn.execute(
            sa.select(t.c.next_no).where(t.c.site_id == site_id).with_for_update()
        ).one()
    first = max(int(row.next_no), at_least)
    if first + take != row.next_no:
        conn.execute(t.update().where(t.c.site_id == site_id).values(next_no=first + take))
    return first


def hello(
    conn: sa.Connection,
    auth: Auth,
    clock: ServerClock,
    device_id: str,
    numbers_left: dict[str, int] | None = None,
    sites_held: list[str] | None = None,
) -> dict[str, Any]:
    if auth.device_id is None:
        twin = conn.execute(
            sa.select(db.token.c.token_id).where(
                db.token.c.device_id == device_id,
                db.token.c.token_id != auth.token_id,
                db.token.c.revoked_at.is_(None),
            )
        ).first()
        if twin is not None:
            raise ApiError(
                403,
                "device_in_use",
                "another token already speaks for this device id: a copied database?",
                hint="on a copy: pm sync reset-device, then log in again; on the "
                "same laptop: revoke its old token (pm server token revoke)",
            )
        conn.execute(
            db.token.update()
            .where(db.token.c.token_id == auth.token_id)
            .values(device_id=device_id)
        )
    elif auth.device_id != device_id:
        raise ApiError(
            403,
            "wrong_device",
            "this token belongs to another device",
            hint="a copied database? run pm sync reset-device, or ask for a token for this laptop",
        )
    conn.execute(
        db.token.update()
        .where(db.token.c.token_id == auth.token_id)
        .values(last_used_at=now_text())
    )
    blocks = []
    for site_id in sorted(auth.sites):
        if (numbers_left or {}).get(site_id, 0) >= LOW_WATER:
            continue
        first = take_numbers(conn, site_id, take=BLOCK)
        conn.execute(
            db.number_block.insert().values(
                site_id=site_id,
                first=first,
                last=first + BLOCK - 1,
                device_id=device_id,
                created_at=now_text(),
            )
        )
        blocks.append({"site_id": site_id, "first": first, "last": first + BLOCK - 1})
    seq = conn.execute(sa.select(db.sync_seq).where(db.sync_seq.c.id == 1)).one()
    # sites the laptop holds that are on the server but not granted (any more): it purges
    # them; only ids it already has are named, so nothing leaks
    held = sorted(set(sites_held or []) - set(auth.sites))
    revoked: list[str] = []
    for i in range(0, len(held), 500):
        revoked += (
            conn.execute(
                sa.select(db.server_site.c.site_id).where(
                    db.server_site.c.site_id.in_(held[i : i + 500])
                )
            )
            .scalars()
            .all()
        )
    return {
        "schema": SYNC_SCHEMA,
        "min_client_schema": MIN_CLIENT_SCHEMA,
        "not_granted": sorted(revoked),
        "number_blocks": blocks,
        "protocol": PROTOCOL,
        "server_epoch": seq.epoch,
        "server_hlc": clock.now(),
        "server_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "user": auth.user,
        "role": auth.role,
        "head": seq.last,
        "sites": [
            {"site_id": k, "code": v, "role": auth.role}
            for k, v in sorted(auth.sites.items(), key=lambda kv: kv[1])
        ],
        # what the user may bring or read, on the server yet or not ("*": every site)
        "granted": sorted(auth.codes),
    }
