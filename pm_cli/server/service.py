"""The sync server's rules (sync.md §3, §6), over SQLAlchemy Core connections: users, grants
and tokens; hello; push (idempotent, all or nothing, a gap-free sequence in commit order);
pull (only granted sites). No FastAPI here: `pm_cli.server.app` maps these to HTTP."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol import merge as m
from pm_cli.protocol import rules
from pm_cli.protocol.entities import ROLES, may_write, registry
from pm_cli.server import checks, db
from pm_cli.store.engine import SYNC_SCHEMA
from pm_cli.store.hlc import Clock, new_device_id, parse
from pm_cli.store.ids import new_id, now_text

PROTOCOL = 1
MIN_CLIENT_SCHEMA = 8  # the first schema that speaks this protocol
MAX_BATCH = 500
MAX_BYTES = 4 * 1024 * 1024
MAX_AHEAD = timedelta(hours=24)
PULL_DEFAULT, PULL_MAX = 1000, 10_000


class ApiError(Exception):
    """An answer other than 200: status, machine code, message, where, hint (sync.md §6)."""

    def __init__(self, status: int, error: str, message: str, *, where: list[str] | None = None,
                 hint: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.where, self.hint, self.extra = where or [], hint, extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, "where": self.where,
                "hint": self.hint, **self.extra}


# ---- administration (pm server user|token|site) ----------------------------------------


def _hash(tok: str) -> str:
    return hashlib.sha256(tok.encode()).hexdigest()


def add_user(conn: sa.Connection, *, name: str, role: str, sites: list[str]) -> dict[str, Any]:
    from pm_cli.errors import ConflictError, UsageError

    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}", where="--role", hint="|".join(ROLES))
    name = name.strip()
    if not name:
        raise UsageError("a user needs a name", where="NAME")
    if conn.execute(sa.select(db.server_user.c.user_id).where(
            db.server_user.c.name == name)).first():
        raise ConflictError(f"user {name} already exists",
                            hint=f"pm server token issue {name} --device NAME")
    user_id = new_id()
    conn.execute(db.server_user.insert().values(user_id=user_id, name=name, role=role,
                                                created_at=now_text()))
    codes = sorted({s.strip() for s in sites if s.strip()})
    if codes:
        conn.execute(db.user_grant.insert(), [{"user_id": user_id, "site_code": c}
                                              for c in codes])
    return {"user": name, "role": role, "sites": codes}


def _user(conn: sa.Connection, name: str) -> Any:
    from pm_cli.errors import NotFoundError

    row = conn.execute(sa.select(db.server_user).where(db.server_user.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no user {name}", hint="pm server user add NAME --sites … --role …")
    return row


def set_grants(conn: sa.Connection, *, name: str, add: list[str], remove: list[str],
               role: str | None = None) -> dict[str, Any]:
    """Grant or withdraw site codes (and change the role); effective at the next request."""
    from pm_cli.errors import UsageError

    u = _user(conn, name)
    if role is not None:
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}", where="--role", hint="|".join(ROLES))
        conn.execute(db.server_user.update().where(db.server_user.c.user_id == u.user_id)
                     .values(role=role))
    have = set(conn.execute(sa.select(db.user_grant.c.site_code).where(
        db.user_grant.c.user_id == u.user_id)).scalars())
    new = sorted({c.strip() for c in add if c.strip()} - have)
    if new:
        conn.execute(db.user_grant.insert(), [{"user_id": u.user_id, "site_code": c}
                                              for c in new])
    gone = [c.strip() for c in remove if c.strip()]
    if gone:
        conn.execute(db.user_grant.delete().where(db.user_grant.c.user_id == u.user_id,
                                                  db.user_grant.c.site_code.in_(gone)))
    return next(x for x in list_users(conn) if x["user"] == name)


def list_users(conn: sa.Connection) -> list[dict[str, Any]]:
    grants: dict[str, list[str]] = {}
    for uid, code in conn.execute(sa.select(db.user_grant.c.user_id, db.user_grant.c.site_code)):
        grants.setdefault(uid, []).append(code)
    # an admin granted no site reaches every site (authenticate): say so, not "none"
    return [{"user": r.name, "role": r.role,
             "sites": sorted(grants.get(r.user_id, [])) or (["all sites"]
                                                            if r.role == "admin" else [])}
            for r in conn.execute(sa.select(db.server_user).order_by(db.server_user.c.name))]


def issue_token(conn: sa.Connection, *, user: str, device: str) -> dict[str, Any]:
    """A new token for a user's device: `pmt_` + 256 random bits, stored only as its hash."""
    u = _user(conn, user)
    tok = "pmt_" + secrets.token_urlsafe(32)
    token_id = new_id()
    conn.execute(db.token.insert().values(token_id=token_id, sha256=_hash(tok), user_id=u.user_id,
                                          device_name=device, created_at=now_text()))
    return {"token_id": token_id, "user": user, "device": device, "token": tok}


def revoke_token(conn: sa.Connection, *, user: str, device: str | None = None,
                 token_id: str | None = None) -> int:
    u = _user(conn, user)
    stmt = db.token.update().where(db.token.c.user_id == u.user_id,
                                   db.token.c.revoked_at.is_(None))
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
    conn.execute(db.server_site.insert().values(site_id=site_id, code=code, name=name,
                                                created_at=created))
    # the site record itself, as a change every granted laptop pulls
    clock = ServerClock()
    hlc = clock.now()
    fields = {"created_at": created, "code": code, "name": name or code}
    conn.execute(db.sync_record.insert().values(
        entity="site", record_id=site_id, site_id=site_id, fields=fields,
        field_hlc=dict.fromkeys(fields, hlc), updated_hlc=hlc, code=code))
    _log(conn, [{"change_id": new_id(), "site_id": site_id, "entity": "site",
                 "record_id": site_id, "op": "upsert", "fields": fields, "base": {},
                 "hlc": hlc, "device_id": parse(hlc).device, "schema": SYNC_SCHEMA,
                 "token_id": None, "received_at": created, "status": "server"}])
    return {"site_id": site_id, "code": code, "name": name}


def _log(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Number the rows with the counter (its lock held to COMMIT) and insert them; the last
    seq. Called last in a transaction: seq order is commit order."""
    last = conn.execute(db.sync_seq.update().where(db.sync_seq.c.id == 1)
                        .values(last=db.sync_seq.c.last + len(rows))
                        .returning(db.sync_seq.c.last)).scalar_one()
    first = last - len(rows) + 1
    for n, row in enumerate(rows):
        row["seq"] = first + n
    conn.execute(db.sync_change.insert(), rows)
    return int(last)


# ---- requests ---------------------------------------------------------------------------


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
    row = conn.execute(sa.select(db.token, db.server_user.c.name, db.server_user.c.role)
                       .join(db.server_user, db.server_user.c.user_id == db.token.c.user_id)
                       .where(db.token.c.sha256 == _hash(tok))).first()
    if row is None:
        raise ApiError(401, "unauthorized", "unknown token", hint=hint)
    if row.revoked_at is not None:
        raise ApiError(401, "unauthorized", "this token was revoked", hint=hint)
    codes = set(conn.execute(sa.select(db.user_grant.c.site_code).where(
        db.user_grant.c.user_id == row.user_id)).scalars())
    stmt = sa.select(db.server_site.c.site_id, db.server_site.c.code)
    if row.role != "admin" or codes:
        stmt = stmt.where(db.server_site.c.code.in_(codes))
    sites = dict(conn.execute(stmt).all())
    return Auth(row.token_id, row.user_id, row.name, row.role, row.device_id, sites,
                codes if codes or row.role != "admin" else {"*"})


def check_versions(protocol: str | None, schema: str | None) -> None:
    if protocol is not None and protocol != str(PROTOCOL):
        raise ApiError(426, "upgrade_pm", f"this server speaks sync protocol {PROTOCOL}, not "
                       f"{protocol}", hint="upgrade pm (pip install -U pm-cli)")
    try:
        n = int(schema or "")
    except ValueError:
        raise ApiError(426, "upgrade_pm", "no Pm-Schema header: this client is too old",
                       hint="upgrade pm") from None
    if n < MIN_CLIENT_SCHEMA:
        raise ApiError(426, "upgrade_pm", f"this pm (schema {n}) is older than the server "
                       f"accepts ({MIN_CLIENT_SCHEMA}): upgrade pm", hint="pip install -U pm-cli")
    if n > SYNC_SCHEMA:
        raise ApiError(426, "upgrade_server", f"this pm (schema {n}) is newer than the server "
                       f"({SYNC_SCHEMA}): upgrade the server", hint="pm server migrate after "
                       "upgrading pm on the server")


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


def _numbers(conn: sa.Connection, site_id: str, *, at_least: int = 1, take: int = 0) -> int:
    """Move the site's next item number to at least `at_least`, then take `take` numbers;
    the first one taken (the row's lock is held to COMMIT)."""
    t = db.site_number
    row = conn.execute(sa.select(t.c.next_no).where(t.c.site_id == site_id)
                       .with_for_update()).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(t.insert().values(site_id=site_id, next_no=max(1, at_least)))
        except sa.exc.IntegrityError:
            pass  # another request made it first
        row = conn.execute(sa.select(t.c.next_no).where(t.c.site_id == site_id)
                           .with_for_update()).one()
    first = max(int(row.next_no), at_least)
    if first + take != row.next_no:
        conn.execute(t.update().where(t.c.site_id == site_id).values(next_no=first + take))
    return first


def hello(conn: sa.Connection, auth: Auth, clock: ServerClock, device_id: str,
          numbers_left: dict[str, int] | None = None,
          sites_held: list[str] | None = None) -> dict[str, Any]:
    if auth.device_id is None:
        twin = conn.execute(sa.select(db.token.c.token_id).where(
            db.token.c.device_id == device_id, db.token.c.token_id != auth.token_id,
            db.token.c.revoked_at.is_(None))).first()
        if twin is not None:
            raise ApiError(403, "device_in_use", "another token already speaks for this "
                           "device id: a copied database?",
                           hint="on a copy: pm sync reset-device, then log in again; on the "
                           "same laptop: revoke its old token (pm server token revoke)")
        conn.execute(db.token.update().where(db.token.c.token_id == auth.token_id)
                     .values(device_id=device_id))
    elif auth.device_id != device_id:
        raise ApiError(403, "wrong_device", "this token belongs to another device",
                       hint="a copied database? run pm sync reset-device, or ask for a token "
                       "for this laptop")
    conn.execute(db.token.update().where(db.token.c.token_id == auth.token_id)
                 .values(last_used_at=now_text()))
    blocks = []
    for site_id in sorted(auth.sites):
        if (numbers_left or {}).get(site_id, 0) >= LOW_WATER:
            continue
        first = _numbers(conn, site_id, take=BLOCK)
        conn.execute(db.number_block.insert().values(
            site_id=site_id, first=first, last=first + BLOCK - 1, device_id=device_id,
            created_at=now_text()))
        blocks.append({"site_id": site_id, "first": first, "last": first + BLOCK - 1})
    seq = conn.execute(sa.select(db.sync_seq).where(db.sync_seq.c.id == 1)).one()
    # sites the laptop holds that are on the server but not granted (any more): it purges
    # them; only ids it already has are named, so nothing leaks
    held = sorted(set(sites_held or []) - set(auth.sites))
    revoked: list[str] = []
    for i in range(0, len(held), 500):
        revoked += conn.execute(sa.select(db.server_site.c.site_id).where(
            db.server_site.c.site_id.in_(held[i:i + 500]))).scalars().all()
    return {"schema": SYNC_SCHEMA, "min_client_schema": MIN_CLIENT_SCHEMA,
            "not_granted": sorted(revoked),
            "number_blocks": blocks,
            "protocol": PROTOCOL, "server_epoch": seq.epoch, "server_hlc": clock.now(),
            "server_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "user": auth.user, "role": auth.role, "head": seq.last,
            "sites": [{"site_id": k, "code": v, "role": auth.role}
                      for k, v in sorted(auth.sites.items(), key=lambda kv: kv[1])],
            # what the user may bring or read, on the server yet or not ("*": every site)
            "granted": sorted(auth.codes)}


# ---- push -------------------------------------------------------------------------------


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
        raise ApiError(422, "clock_ahead", f"this laptop's clock is {hours:.0f} h ahead: fix it "
                       "and run pm sync again", where=[f"changes[{j}].hlc" for j, _ in ahead],
                       hint="set the date and time (automatic time), then pm sync")
    wrong = [f"changes[{i}].hlc" for i, ch in enumerate(changes)
             if i not in bad and auth.device_id and parse(ch["hlc"]).device != auth.device_id]
    if wrong:
        raise ApiError(403, "wrong_device", "changes stamped by another device", where=wrong)
    return bad


def _new_sites(auth: Auth, changes: list[dict[str, Any]],
               bound: dict[str, str]) -> dict[str, str]:
    """Sites this batch brings to the server (id → code as the batch leaves them); 409 when
    the server already has another site of that code (nothing applied)."""
    final: dict[str, str] = {}
    for ch in changes:
        if (ch["entity"] == "site" and isinstance(ch["fields"], dict)
                and isinstance(ch["fields"].get("code"), str)
                and ch["record_id"] == ch["site_id"] and ch["site_id"] not in bound):
            final[ch["record_id"]] = ch["fields"]["code"]
    codes = {v: k for k, v in bound.items()}
    for i, ch in enumerate(changes):
        code = final.get(ch["record_id"]) if ch["entity"] == "site" else None
        if code is not None and code in codes and codes[code] != ch["record_id"] and (
                code in auth.codes or "*" in auth.codes):
            raise ApiError(409, "site_exists", f"the server already has a site {code} (another "
                           "record)", where=[f"changes[{i}]"],
                           hint=f"rename the local site (pm site edit {code} --code NEW) and "
                           "pm sync again; or take the server's copy into a new database "
                           "(pm --db NEW.db init, then pm sync login and pm sync there)")
    return final


def push(engine: sa.Engine, auth: Auth, clock: ServerClock, changes: list[dict[str, Any]],
         schema: int) -> dict[str, Any]:
    """One batch, one transaction. Each change is checked by itself (checks.Batch): a refused
    one is answered `rejected` with its reasons and the server's copy of its record, never
    stored; the rest apply. When every new change of the batch is refused the answer is the
    error itself (403 or 422, each `changes[i]` named)."""
    now = datetime.now(UTC)
    if len(changes) > MAX_BATCH:
        raise ApiError(413, "too_large", f"{len(changes)} changes in one batch; at most "
                       f"{MAX_BATCH}", hint="send smaller batches")
    refused: dict[int, checks.Refusal] = {
        i: checks.Refusal(i, 422, [w]) for i, w in _check_stamps(changes, auth, now).items()}
    reg = registry()
    with engine.connect().execution_options(pm_write=True) as conn, conn.begin():
        tok = conn.execute(sa.select(db.token.c.device_id, db.token.c.revoked_at)
                           .where(db.token.c.token_id == auth.token_id)
                           .with_for_update()).one()
        if tok.revoked_at is not None:
            raise ApiError(401, "unauthorized", "this token was revoked")
        if tok.device_id is None:
            raise ApiError(403, "no_hello", "say hello first (POST /sync/hello)")
        ids = [c["change_id"] for c in changes]
        seen = dict(conn.execute(sa.select(db.sync_change.c.change_id, db.sync_change.c.seq)
                                 .where(db.sync_change.c.change_id.in_(ids))).all())
        fresh_at = [i for i, c in enumerate(changes) if c["change_id"] not in seen]
        records = _lock_records(conn, {(changes[i]["entity"], changes[i]["record_id"])
                                       for i in fresh_at})
        batch = checks.Batch.load(conn, auth, [changes[i] for i in fresh_at], records)
        new_sites = _new_sites(auth, [changes[i] for i in fresh_at], batch.bound)
        states: dict[tuple[str, str], m.State | None] = {
            k: _state_of(r) for k, r in records.items()}
        site_of = {k: r.site_id for k, r in records.items()}
        results: dict[str, dict[str, Any]] = {}
        logged: list[dict[str, Any]] = []
        fresh: list[dict[str, Any]] = []
        binds: list[dict[str, Any]] = []
        received = now_text()
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
                    why = [f"changes[{i}].{w}" for w in
                           batch.references(ch, site_of) + batch.number(ch, new_sites)]
            if why:
                refused[i] = checks.Refusal(i, status, why)
                results[ch["change_id"]] = {"change_id": ch["change_id"], "status": "rejected"}
                continue
            if ch["entity"] == "site" and ch["site_id"] in new_sites and not any(
                    b["site_id"] == ch["site_id"] for b in binds):
                binds.append({"site_id": ch["site_id"], "code": new_sites[ch["site_id"]],
                              "name": ch["fields"].get("name"), "created_at": received})
                batch.bound[ch["site_id"]] = new_sites[ch["site_id"]]
                auth.sites[ch["site_id"]] = new_sites[ch["site_id"]]
            fresh.append(ch)
            clock.seen(ch["hlc"])
            merged = m.merge(reg[ch["entity"]].kind, states.get(key), ch)
            states[key] = merged.state
            site_of[key] = ch["site_id"]
            results[ch["change_id"]] = {"change_id": ch["change_id"], "status": merged.outcome}
            if merged.outcome == "superseded" and reg[ch["entity"]].kind == "append":
                continue  # the same row again (a playbook every laptop installs): nothing new
            logged.append({**_change_row(ch, received, auth.token_id, schema),
                           "status": merged.outcome})
            if ch["entity"] == "conflict":
                continue  # two people settling one conflict: no conflict about the conflict
            for conflict in merged.conflicts:
                logged.append(_conflict_change(ch, conflict, clock, received))
        if refused and not fresh and not any(c["change_id"] in seen for c in changes):
            status = 403 if all(r.status == 403 for r in refused.values()) else 422
            where = [w for i in sorted(refused) for w in refused[i].where]
            raise ApiError(status, "forbidden" if status == 403 else "invalid_change",
                           f"{len(refused)} change(s) refused; nothing applied", where=where,
                           hint=_refusal_hint(refused.values()),
                           extra={"rejected": _rejected(conn, auth, changes, refused,
                                                        states)})
        if binds:
            conn.execute(db.server_site.insert(), binds)
        logged += _item_numbers(conn, fresh, states, clock, received)
        logged += _duplicate_codes(conn, fresh, states, site_of, clock, received)
        logged += _structure_checks(conn, fresh, states, clock, received)
        logged += _version_clashes(conn, fresh, states, records, clock, received)
        conflict_rows = [row for row in logged if row["entity"] == "conflict"
                         and row["status"] == "server"]
        for row in conflict_rows:  # conflicts are records: served in snapshots too
            key = ("conflict", row["record_id"])
            states[key] = m.merge("mutable", None, row).state
            site_of[key] = row["site_id"]
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[dict[str, Any]] = []
        for key, state in states.items():
            if state is None or key not in site_of:
                continue
            values = {"e": key[0], "r": key[1], "fields": state.fields,
                      "field_hlc": state.stamps, "updated_hlc": state.updated_hlc,
                      "site_id": site_of[key], "code": _code_of(key[0], state)}
            (changed_rows if key in records else new_rows).append(values)
        if new_rows:
            conn.execute(db.sync_record.insert().values(
                entity=sa.bindparam("e"), record_id=sa.bindparam("r")), new_rows)
        if changed_rows:
            r = db.sync_record.c
            conn.execute(db.sync_record.update().where(
                r.entity == sa.bindparam("e"), r.record_id == sa.bindparam("r")).values(
                fields=sa.bindparam("fields"), field_hlc=sa.bindparam("field_hlc"),
                updated_hlc=sa.bindparam("updated_hlc"), code=sa.bindparam("code")),
                [{k: v for k, v in row.items() if k != "site_id"} for row in changed_rows])
        conn.execute(db.token.update().where(db.token.c.token_id == auth.token_id)
                     .values(last_used_at=received))
        if logged:  # the counter last, its row lock held to COMMIT
            _log(conn, logged)
            for row in logged:
                if row["change_id"] in results:
                    results[row["change_id"]]["seq"] = row["seq"]
        rejected = {x["change_id"]: x for x in _rejected(conn, auth, changes, refused, states)}
    out = []
    for c in changes:
        if c["change_id"] in seen:
            out.append({"change_id": c["change_id"], "status": "duplicate",
                        "seq": seen[c["change_id"]]})
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


def _rejected(conn: sa.Connection, auth: Auth, changes: list[dict[str, Any]],
              refused: dict[int, checks.Refusal],
              states: dict[tuple[str, str], m.State | None]) -> list[dict[str, Any]]:
    """Each refused change with its reasons and the server's copy of its record (`record`:
    null when the server holds none), so the laptop can roll back; the copy only for a
    record of a site the user may read."""
    out = []
    for i in sorted(refused):
        ch, ref = changes[i], refused[i]
        item: dict[str, Any] = {"change_id": ch["change_id"], "index": i,
                                "code": ref.status, "error": ref.error, "where": ref.where}
        key = (ch["entity"], ch["record_id"])
        readable = ch["site_id"] in auth.sites or (not ch["site_id"]
                                                   and ch["entity"] == "playbook")
        if readable:
            state = states.get(key) if key in states else _record_state(conn, states, key)
            item["record"] = None if state is None else {"fields": state.fields,
                                                         "field_hlc": state.stamps}
        out.append(item)
    return out


def _item_numbers(conn: sa.Connection, changes: list[dict[str, Any]],
                  states: dict[tuple[str, str], m.State | None], clock: ServerClock,
                  received: str) -> list[dict[str, Any]]:
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
            _numbers(conn, ch["site_id"], at_least=no + 1)
        elif no is None and state is not None and state.fields.get("no") is None:
            n = _numbers(conn, ch["site_id"], take=1)
            hlc = clock.now()
            fix = {"change_id": new_id(), "site_id": ch["site_id"], "entity": "pdca",
                   "record_id": ch["record_id"], "op": "upsert", "fields": {"no": n},
                   "base": {k: v for k, v in state.stamps.items() if k == "no"}, "hlc": hlc}
            states[key] = m.merge("mutable", state, fix).state
            out.append({**_change_row(fix, received, None, SYNC_SCHEMA), "status": "server"})
    return out


def _code_of(entity: str, state: m.State) -> str | None:
    """The indexed lookup key of a record: its code, an item's number, an event's item, a
    playbook's id@version."""
    if entity == "playbook":
        f = state.fields
        return f"{f.get('playbook_id')}@{f.get('version')}" if f.get("playbook_id") else None
    name = {"pdca": "no", "pdca_event": "pdca_id"}.get(entity, "code")
    value = state.fields.get(name)
    return None if value is None else str(value)


def _version_clashes(conn: sa.Connection, changes: list[dict[str, Any]],
                     states: dict[tuple[str, str], m.State | None],
                     records: dict[tuple[str, str], Any], clock: ServerClock,
                     received: str) -> list[dict[str, Any]]:
    """A playbook id@version stored with other content than one already here (two laptops
    published the same version number): both rows stay (runs pin the sha256), and a
    `version_clash` conflict asks for a new version (sync.md §4)."""
    r = db.sync_record.c
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for ch in changes:
        key = ("playbook", ch["record_id"])
        if ch["entity"] != "playbook" or key in records or ch["record_id"] in seen:
            continue
        seen.add(ch["record_id"])
        state = states.get(key)
        label = _code_of("playbook", state) if state is not None else None
        if label is None or state is None:
            continue
        sha = state.fields.get("sha256")
        others = {row.record_id: row.fields.get("sha256") for row in conn.execute(
            sa.select(r.record_id, r.fields).where(
                r.entity == "playbook", r.site_id == "", r.code == label))}
        others.update({k[1]: st.fields.get("sha256") for k, st in states.items()
                       if k[0] == "playbook" and st is not None and k[1] in seen
                       and _code_of("playbook", st) == label})
        for other, their in sorted(others.items()):
            if other != ch["record_id"] and their != sha:
                out.append(_conflict_change(ch, m.Conflict(
                    "version_clash", "sha256", their,
                    {"rule": "version_clash", "playbook": label, "other": other,
                     "sha256": sha}, None, ch["hlc"], loser_is_change=True), clock, received))
                break
    return out


def _duplicate_codes(conn: sa.Connection, changes: list[dict[str, Any]],
                     states: dict[tuple[str, str], m.State | None],
                     site_of: dict[tuple[str, str], str], clock: ServerClock,
                     received: str) -> list[dict[str, Any]]:
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
        if (code is None or ch["entity"] == "site" or key in seen or state is None
                or state.fields.get(name) != code or state.deleted):
            continue
        seen.add(key)
        todo.append((ch, key, name, code))
    if not todo:
        return []
    holders: dict[tuple[str, str, str], set[str]] = {}  # (entity, site, code) → record ids
    for (ent, rid), st in states.items():  # the batch's own view wins for what it touched
        code = _code_of(ent, st) if st is not None and not st.deleted else None
        if code is not None:
            holders.setdefault((ent, site_of.get((ent, rid), ""), code), set()).add(rid)
    wanted: dict[tuple[str, str], set[str]] = {}
    for _ch, key, _name, code in todo:
        wanted.setdefault((key[0], site_of[key]), set()).add(str(code))
    r = db.sync_record.c
    for (ent, site), codes in wanted.items():
        codes_l = sorted(codes)
        for i in range(0, len(codes_l), 500):
            for row in conn.execute(sa.select(r.record_id, r.code, r.fields).where(
                    r.entity == ent, r.site_id == site, r.code.in_(codes_l[i:i + 500]))):
                if (ent, row.record_id) in states or row.fields.get("deleted"):
                    continue
                holders.setdefault((ent, site, row.code), set()).add(row.record_id)
    out: list[dict[str, Any]] = []
    for ch, key, name, code in todo:
        for other in sorted(holders.get((key[0], site_of[key], str(code)), set()) - {key[1]}):
            out.append(_conflict_change(ch, m.Conflict(
                f"duplicate_{name}", name, code, {"other": other}, None, None,
                loser_is_change=True), clock, received))
    return out


def _lock_records(conn: sa.Connection, keys: set[tuple[str, str]]
                  ) -> dict[tuple[str, str], Any]:
    """The stored records a batch touches, locked FOR UPDATE in (entity, id) order, so two
    pushes touching the same records cannot deadlock."""
    by_entity: dict[str, list[str]] = {}
    for ent, rid in sorted(keys):
        by_entity.setdefault(ent, []).append(rid)
    out: dict[tuple[str, str], Any] = {}
    r = db.sync_record.c
    for ent, ids in by_entity.items():
        for i in range(0, len(ids), 500):
            for row in conn.execute(sa.select(db.sync_record).where(
                    r.entity == ent, r.record_id.in_(ids[i:i + 500]))
                    .order_by(r.record_id).with_for_update()):
                out[(ent, row.record_id)] = row
    return out


def _change_row(ch: dict[str, Any], received: str, token_id: str | None,
                schema: int) -> dict[str, Any]:
    return {"change_id": ch["change_id"], "site_id": ch["site_id"], "entity": ch["entity"],
            "record_id": ch["record_id"], "op": ch["op"], "fields": ch["fields"],
            "base": ch.get("base") or {}, "hlc": ch["hlc"],
            "device_id": parse(ch["hlc"]).device, "schema": schema, "token_id": token_id,
            "received_at": received}


def _structure_checks(conn: sa.Connection, changes: list[dict[str, Any]],
                      states: dict[tuple[str, str], m.State | None], clock: ServerClock,
                      received: str) -> list[dict[str, Any]]:
    """What per-field merging can break, checked after it (sync.md §4): a grid cycle from two
    moves, a grid under a deleted parent, two transitions of an item out of one phase. The
    data stays as merged (readers cope); an `invariant` or `phase_race` conflict says so.

    Pushes that move or delete grids or move items take their sites' row locks first, so a
    concurrent push doing the same waits and then sees this one's result."""
    # only a move under a parent, a delete or a restore can break a grid invariant (a grid
    # made or moved at the top level cannot)
    moves = [ch for ch in changes if ch["entity"] == "grid"
             and (ch["fields"].get("parent_id") or ch["fields"].get("deleted")
                  or ch["op"] in ("delete", "restore"))]
    steps = [ch for ch in changes if ch["entity"] == "pdca_event"
             and ch["fields"].get("kind") == "transition"]
    if not moves and not steps:
        return []
    sites = sorted({ch["site_id"] for ch in moves + steps})
    conn.execute(sa.select(db.server_site.c.site_id).where(db.server_site.c.site_id.in_(sites))
                 .order_by(db.server_site.c.site_id).with_for_update()).all()
    return (_grid_invariants(conn, moves, states, clock, received)
            + _phase_races(conn, steps, states, clock, received))


def _state_of(row: Any) -> m.State:
    """A stored record as the merge sees it."""
    return m.State(dict(row.fields), dict(row.field_hlc))


def _record_state(conn: sa.Connection, states: dict[tuple[str, str], m.State | None],
                  key: tuple[str, str]) -> m.State | None:
    """A record as this batch leaves it: the batch's merge, else the stored row."""
    if key in states:
        return states[key]
    r = db.sync_record.c
    row = conn.execute(sa.select(r.fields, r.field_hlc).where(
        r.entity == key[0], r.record_id == key[1])).one_or_none()
    states[key] = None if row is None else _state_of(row)
    return states[key]


def _prefetch_ancestors(conn: sa.Connection, moves: list[dict[str, Any]],
                        states: dict[tuple[str, str], m.State | None]) -> None:
    """Load the moved grids' ancestors a level at a time, one query per level (and 500
    ids), so the walks below read memory: a bulk push of grids stays one query per level."""
    r = db.sync_record.c
    frontier = {st.fields.get("parent_id") for ch in moves
                for st in [states.get(("grid", ch["record_id"]))] if st is not None}
    for _level in range(64):
        todo = sorted(g for g in frontier if g and ("grid", g) not in states)
        if not todo:
            return
        frontier = set()
        for i in range(0, len(todo), 500):
            found = {row.record_id: row for row in conn.execute(
                sa.select(r.record_id, r.fields, r.field_hlc).where(
                    r.entity == "grid", r.record_id.in_(todo[i:i + 500])))}
            for gid in todo[i:i + 500]:
                row = found.get(gid)
                states[("grid", gid)] = None if row is None else _state_of(row)
                if row is not None:
                    frontier.add(row.fields.get("parent_id"))


def _grid_invariants(conn: sa.Connection, moves: list[dict[str, Any]],
                     states: dict[tuple[str, str], m.State | None], clock: ServerClock,
                     received: str) -> list[dict[str, Any]]:
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
            r = db.sync_record.c
            kids = {row.record_id for row in conn.execute(sa.select(r.record_id).where(
                r.entity == "grid", r.site_id == ch["site_id"],
                r.fields["parent_id"].as_string() == gid))}
            kids |= {k[1] for k, st in states.items() if k[0] == "grid" and st is not None
                     and st.fields.get("parent_id") == gid}
            for kid in sorted(kids):
                kst = _record_state(conn, states, ("grid", kid))
                if kst is not None and not kst.deleted and kst.fields.get("parent_id") == gid:
                    out.append(_conflict_change(ch, m.Conflict(
                        "invariant", "parent_id", gid,
                        {"rule": "parent_deleted", "parent": gid}, None, ch["hlc"],
                        loser_is_change=True), clock, received, about=("grid", kid)))
            continue
        parent = state.fields.get("parent_id")
        if not parent:
            continue
        pst = _record_state(conn, states, ("grid", parent))
        if pst is None or pst.deleted:
            rule = "parent_missing" if pst is None else "parent_deleted"
            out.append(_conflict_change(ch, m.Conflict(
                "invariant", "parent_id", parent, {"rule": rule, "parent": parent},
                None, ch["hlc"], loser_is_change=True), clock, received))
            continue
        chain, node = [gid], parent
        while node and node not in chain and node not in rooted and len(chain) <= 10_000:
            chain.append(node)
            nst = _record_state(conn, states, ("grid", node))
            node = None if nst is None else nst.fields.get("parent_id")
        if not node or node in rooted:
            rooted.update(chain)  # leads to a root: later walks stop here
        elif node == gid and frozenset(chain) not in reported:
            reported.add(frozenset(chain))
            out.append(_conflict_change(ch, m.Conflict(
                "invariant", "parent_id", parent, {"rule": "cycle", "grids": chain},
                None, ch["hlc"], loser_is_change=True), clock, received))
    return out


def _phase_races(conn: sa.Connection, steps: list[dict[str, Any]],
                 states: dict[tuple[str, str], m.State | None], clock: ServerClock,
                 received: str) -> list[dict[str, Any]]:
    """Two transitions of one item from the same phase and cycle to different phases (one
    lead closes it, another sends it back to plan): both events stay; the phase is the one
    that ranks higher; a `phase_race` conflict asks somebody to look."""
    out: list[dict[str, Any]] = []
    step_of = {ch["record_id"]: ch for ch in steps}
    by_item: dict[tuple[str, str], set[str]] = {}
    for ch in steps:
        by_item.setdefault((ch["site_id"], ch["fields"].get("pdca_id") or ""), set()).add(
            ch["record_id"])
    r = db.sync_record.c
    reported: set[frozenset[str]] = set()
    for (site, item), mine in by_item.items():
        events: dict[str, dict[str, Any]] = {}
        for row in conn.execute(sa.select(r.record_id, r.fields).where(
                r.entity == "pdca_event", r.site_id == site, r.code == item)):
            events[row.record_id] = row.fields
        for (ent, rid), st in states.items():
            if ent == "pdca_event" and st is not None and st.fields.get("pdca_id") == item:
                events[rid] = st.fields
        moves = {rid: f for rid, f in events.items() if f.get("kind") == "transition"}
        for rid in sorted(mine):
            f = moves.get(rid)
            if f is None or not f.get("from_phase"):  # an item's first event: no rival
                continue
            rivals = sorted(o for o, g in moves.items() if o != rid
                            and g.get("from_phase") == f.get("from_phase")
                            and _from_cycle(g) == _from_cycle(f)
                            and g.get("to_phase") != f.get("to_phase"))
            for other in rivals:
                pair = frozenset((rid, other))
                if pair in reported:
                    continue
                reported.add(pair)
                ch = step_of[rid]
                out.append(_conflict_change(ch, m.Conflict(
                    "phase_race", "phase", moves[other].get("to_phase"),
                    {"rule": "phase_race", "from": f.get("from_phase"),
                     "to": [f.get("to_phase"), moves[other].get("to_phase")],
                     "events": [rid, other]}, None, ch["hlc"], loser_is_change=True),
                    clock, received, about=("pdca", item)))
    return out


def _from_cycle(event: dict[str, Any]) -> int:
    """The cycle a transition leaves (a move back to plan starts the next cycle)."""
    cycle = int(event.get("cycle") or 1)
    return cycle - 1 if event.get("to_phase") == "plan" and event.get("from_phase") else cycle


def _conflict_change(ch: dict[str, Any], c: m.Conflict, clock: ServerClock,
                     received: str, about: tuple[str, str] | None = None) -> dict[str, Any]:
    """A conflict the server found, as a change every laptop of the site pulls; about the
    change's own record unless `about` names another (entity, id): a child the change
    orphaned, the item of a transition."""
    hlc = clock.now()
    entity, record_id = about or (ch["entity"], ch["record_id"])
    fields = {"created_at": received, "entity": entity, "record_id": record_id,
              "field": c.field, "kind": c.kind, "winner_value": c.winner_value,
              "loser_value": c.loser_value, "winner_hlc": c.winner_hlc,
              "loser_hlc": c.loser_hlc,
              "winner_change": None if c.loser_is_change else ch["change_id"],
              "loser_change": ch["change_id"] if c.loser_is_change else None}
    return {"change_id": new_id(), "site_id": ch["site_id"], "entity": "conflict",
            "record_id": new_id(), "op": "upsert", "fields": fields, "base": {}, "hlc": hlc,
            "device_id": parse(hlc).device, "schema": SYNC_SCHEMA, "token_id": None,
            "received_at": received, "status": "server"}


# ---- pull -------------------------------------------------------------------------------


@contextmanager
def _read_snapshot(engine: sa.Engine) -> Iterator[tuple[sa.Connection, Any]]:
    """A read-only transaction that sees one snapshot (REPEATABLE READ on PostgreSQL; a
    SQLite read transaction is one), and the sequence row as of it."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    try:
        with conn.begin():
            yield conn, conn.execute(sa.select(db.sync_seq).where(db.sync_seq.c.id == 1)).one()
    finally:
        conn.close()


def pull(engine: sa.Engine, auth: Auth, clock: ServerClock, cursor: int,
         limit: int) -> Iterator[dict[str, Any]]:
    """A page of changes after `cursor` for the granted sites (and company-wide playbooks),
    from one snapshot: header, changes, end line with the next cursor."""
    if cursor < 0:
        raise ApiError(422, "invalid_cursor", "the cursor is a seq ≥ 0", where=["cursor"])
    limit = max(1, min(limit or PULL_DEFAULT, PULL_MAX))
    sites = [*auth.sites, ""]
    with _read_snapshot(engine) as (conn, seq):
        if cursor and cursor < seq.min_retained:
            raise ApiError(410, "resync_required", "the server no longer holds changes "
                           "this far back", hint="pm sync again: it takes a snapshot")
        yield {"type": "page", "server_epoch": seq.epoch, "server_hlc": clock.now(),
               "cursor": cursor}
        c = db.sync_change.c
        stmt = (sa.select(c.seq, c.change_id, c.site_id, c.entity, c.record_id, c.op,
                          c.fields, c.base, c.hlc)
                .where(c.seq > cursor, c.site_id.in_(sites)).order_by(c.seq).limit(limit))
        if not may_write(auth.role, "playbook"):  # company-wide conflicts: not a lead's
            stmt = stmt.where(sa.or_(c.site_id != "", c.entity != "conflict"))
        n, last = 0, cursor
        for row in conn.execution_options(yield_per=500).execute(stmt):
            n, last = n + 1, row.seq
            yield {"type": "change", **row._asdict()}
        has_more = n == limit
        yield {"type": "end", "next_cursor": last if has_more else max(last, seq.last),
               "has_more": has_more}


# ---- snapshot (first sync) ---------------------------------------------------------------

SNAPSHOT_PAGE = 5000


def snapshot(engine: sa.Engine, auth: Auth, clock: ServerClock, *, after: str | None,
             sites: list[str] | None, limit: int = SNAPSHOT_PAGE) -> Iterator[dict[str, Any]]:
    """One keyset page of current records of the granted sites (and company-wide playbooks),
    with their field stamps, from one snapshot whose sequence head is the cursor to pull
    from afterwards (sync.md §3.4)."""
    granted = [*auth.sites, ""]
    if sites:
        codes = {v: k for k, v in auth.sites.items()}
        unknown = [s for s in sites if s not in codes]
        if unknown:
            raise ApiError(403, "forbidden", f"site(s) {', '.join(unknown)} not granted to "
                           f"{auth.user}", where=["site"])
        granted = [codes[s] for s in sites] + [""]
    key = None
    if after:
        parts = after.split(":")
        if len(parts) != 3:
            raise ApiError(422, "invalid_after", "after is SITE_ID:ENTITY:RECORD_ID",
                           where=["after"])
        key = tuple(parts)
    limit = max(1, min(limit, SNAPSHOT_PAGE))
    with _read_snapshot(engine) as (conn, seq):
        yield {"type": "page", "server_epoch": seq.epoch, "server_hlc": clock.now(),
               "cursor": seq.last}
        r = db.sync_record.c
        stmt = sa.select(r.site_id, r.entity, r.record_id, r.fields, r.field_hlc).where(
            r.site_id.in_(granted))
        if not may_write(auth.role, "playbook"):
            stmt = stmt.where(sa.or_(r.site_id != "", r.entity != "conflict"))
        if key:
            stmt = stmt.where(sa.tuple_(r.site_id, r.entity, r.record_id) > sa.tuple_(
                *(sa.literal(k) for k in key)))
        stmt = stmt.order_by(r.site_id, r.entity, r.record_id).limit(limit)
        n, last = 0, None
        for row in conn.execution_options(yield_per=1000).execute(stmt):
            n += 1
            last = f"{row.site_id}:{row.entity}:{row.record_id}"
            yield {"type": "record", **row._asdict()}
        yield {"type": "end", "after": last, "has_more": n == limit,
               "cursor": seq.last}
