"""pm server … — run the sync server and manage its users, tokens and sites."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pm_cli.cli_common import JsonOpt

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from pm_cli.output import Output

app = typer.Typer(
    help="The sync server: run it, migrate it, users, tokens, sites.", no_args_is_help=True
)
user_app = typer.Typer(help="Server users and the sites granted to them.", no_args_is_help=True)
token_app = typer.Typer(
    help="Device tokens: issue (printed once) and revoke.", no_args_is_help=True
)
site_app = typer.Typer(help="Sites on the server.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(site_app, name="site")

UrlOpt = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="PM_SERVER_DATABASE_URL",
        help="postgresql://user@host/db or sqlite:///path/server.db",
    ),
]


SERVER_EXTRA = ("fastapi", "uvicorn", "psycopg")


def _need_extra() -> None:
    """Every server command needs the [server] extra: say so instead of a traceback."""
    from importlib.util import find_spec

    from pm_cli.errors import UsageError

    if any(find_spec(m) is None for m in SERVER_EXTRA):
        raise UsageError(
            "the sync server needs the server extra", hint="pip install 'pm-cli[server]'"
        )


def _engine(url: str) -> Engine:
    _need_extra()
    from pm_cli.server import db

    return db.make_engine(url)


def _ready(url: str) -> Engine:
    """The engine of a migrated server database, else a clear error."""
    from pm_cli.errors import StoreError
    from pm_cli.server import db

    engine = _engine(url)
    try:
        rev = db.revision(engine)
    except Exception as e:  # noqa: BLE001 - any driver error: the database is unreachable
        raise StoreError(
            f"cannot reach the server database: {str(e).splitlines()[0]}", where="--database-url"
        ) from None
    if rev != db.HEAD:
        raise StoreError(
            f"the server database is at revision {rev or 'none'}, this pm needs {db.HEAD}",
            hint="pm server migrate --database-url URL",
        )
    return engine


@app.command("migrate")
def server_migrate(database_url: UrlOpt, as_json: JsonOpt = False) -> None:
    """Create or upgrade the server database (Alembic)."""
    from pm_cli.server import db

    engine = _engine(database_url)
    before, after = db.migrate(engine)
    held = db.quarantined(engine)
    msg = (
        f"server database at revision {after}"
        if before == after
        else f"migrated the server database: {before or 'empty'} → {after}"
    )
    out = typer_ctx_out(as_json)
    if held:
        out.warn(
            f"{held} record(s) of the old store broke the field rules: kept in the "
            "table record_quarantine with the reasons, not served to any laptop"
        )
    out.done(msg, {"before": before, "after": after, "quarantined": held})


def typer_ctx_out(as_json: bool) -> Output:
    from pm_cli.output import Output

    return Output(as_json)


@app.command("run")
def server_run(
    database_url: UrlOpt,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8765,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes")] = 1,
) -> None:
    """Serve the sync API (FastAPI under uvicorn); OpenAPI at /openapi.json. Logs on stderr:
    "listening on URL" once it serves, then one line per request.

    Endpoints: `POST /sync/hello`, `POST /sync/push`, `GET /sync/pull?cursor=N&limit=M`
    (NDJSON), `GET /sync/snapshot?after=K[&site=CODE]` (NDJSON, current rows 5,000 a page),
    `PUT /evidence/SHA256` and `GET /evidence/SHA256` (photos, kept in the server database),
    `GET /reports…` (head office's read-only reports: docs/reports.md), `GET /health`,
    `GET /openapi.json`.

    Workers are stateless, each running one push at a time (pushes queue in the worker; pulls,
    snapshots and hellos go on beside it; a hello or a push is answered with `Connection:
    close`, so a laptop's next request goes to the worker free first): give a few workers per
    core for many laptops.

    The log: `listening on http://HOST:PORT` once it serves (once, whatever --workers), then a
    line per request (client, method, path with query values only for `cursor`, `limit`,
    `after` and `site`, status, time in ms and the `token_id` that signed it, never the
    token), and `warning:`/`error:` lines."""
    import os

    _ready(database_url).dispose()
    from pm_cli.server import run

    os.environ["PM_SERVER_DATABASE_URL"] = database_url
    if not run.serve(host=host, port=port, workers=workers):
        raise typer.Exit(1)  # it never served; uvicorn logged why


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name")],
    database_url: UrlOpt,
    sites: Annotated[str, typer.Option("--sites", help="Site codes granted: CH,XY")] = "",
    role: Annotated[str, typer.Option("--role", help="lead|manager|admin")] = "lead",
    as_json: JsonOpt = False,
) -> None:
    """Add a user with the sites they may read and write.

    A lead may not change sites, staff or custom playbooks."""
    from pm_cli.server import admin as service

    with _ready(database_url).begin() as conn:
        rec = service.add_user(
            conn, name=name, role=role, sites=sites.replace("，", ",").split(",")
        )
    typer_ctx_out(as_json).done(
        f"added user {rec['user']} ({rec['role']}; sites: {', '.join(rec['sites']) or 'none'})", rec
    )


@user_app.command("grant")
def user_grant(
    name: Annotated[str, typer.Argument(help="User name")],
    database_url: UrlOpt,
    sites: Annotated[str, typer.Option("--sites", help="Site codes to grant: CH,XY")] = "",
    revoke: Annotated[str, typer.Option("--revoke", help="Site codes to withdraw")] = "",
    role: Annotated[str | None, typer.Option("--role", help="New role")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Grant or withdraw sites (and change the role); effective at the next request.

    A laptop granted a site it never had takes a snapshot of it at its next sync; a laptop
    holding a withdrawn site removes its records there."""
    from pm_cli.server import admin as service

    with _ready(database_url).begin() as conn:
        rec = service.set_grants(
            conn,
            name=name,
            add=sites.replace("，", ",").split(","),
            remove=revoke.replace("，", ",").split(","),
            role=role,
        )
    typer_ctx_out(as_json).done(
        f"{rec['user']} ({rec['role']}): sites {', '.join(rec['sites']) or 'none'}", rec
    )


@user_app.command("list")
def user_list(database_url: UrlOpt, as_json: JsonOpt = False) -> None:
    """List users, their roles and their sites."""
    from pm_cli.server import admin as service

    with _ready(database_url).connect() as conn:
        rows = service.list_users(conn)
    typer_ctx_out(as_json).emit(rows, columns=["user", "role", "sites"], title="users")


@token_app.command("issue")
def token_issue(
    user: Annotated[str, typer.Argument(help="User name")],
    database_url: UrlOpt,
    device: Annotated[str, typer.Option("--device", help="Which laptop, e.g. lead-laptop-3")],
    as_json: JsonOpt = False,
) -> None:
    """A token for one device of a user; printed once, alone on the last line.

    256 bits; the server keeps its SHA-256."""
    from pm_cli.server import admin as service

    with _ready(database_url).begin() as conn:
        rec = service.issue_token(conn, user=user, device=device)
    out = typer_ctx_out(as_json)
    if out.as_json:
        out.json(rec)
        return
    out.say(
        f"token for {rec['user']} on {rec['device']} (shown once; the server keeps only its hash):"
    )
    print(rec["token"])  # noqa: T201 - the token alone on the last line, for scripts


@token_app.command("revoke")
def token_revoke(
    user: Annotated[str, typer.Argument(help="User name")],
    database_url: UrlOpt,
    device: Annotated[str | None, typer.Option("--device", help="Only this device's")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a user's tokens (one device's with --device); refused at the next request."""
    from pm_cli.server import admin as service

    with _ready(database_url).begin() as conn:
        n = service.revoke_token(conn, user=user, device=device)
    typer_ctx_out(as_json).done(f"revoked {n} token(s) of {user}", {"revoked": n})


@app.command("bi-role")
def bi_role(
    name: Annotated[str, typer.Argument(help="The role's name (a PostgreSQL login role)")],
    database_url: UrlOpt,
    sites: Annotated[str, typer.Option("--sites", help="Site codes it may read: CH,XY")],
    schema: Annotated[str, typer.Option("--schema", help="Where the views go")] = "reporting",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the role's password from stdin")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """A read-only PostgreSQL role for BI tools (Metabase, Superset, Power BI): the
    `reporting` views, row-level security limiting it to --sites; run again to change its
    sites. The views are made or brought up to date on the way.

    PostgreSQL only (docs/reports.md)."""
    import sys

    from pm_cli.server import bi

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    engine = _ready(database_url)
    with engine.begin() as conn:
        rec = bi.role(
            conn,
            name=name,
            sites=sites.replace("，", ",").split(","),
            schema=schema,
            password=password,
        )
    bi.refresh(engine, sites=rec["sites"])
    typer_ctx_out(as_json).done(
        f"role {name} reads {', '.join(rec['sites'])} through {len(rec['views'])} views in "
        f"schema {schema}",
        rec,
    )


@app.command("refresh")
def refresh(
    database_url: UrlOpt,
    days: Annotated[int, typer.Option("--days", min=1, max=4000, help="How far back")] = 400,
    sites: Annotated[str, typer.Option("--sites", help="Only these site codes")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Bring the per-day KPI rollups of every site (or --sites) up to date (what the BI
    views read; /reports does it for what it shows): for cron, e.g. hourly."""
    from pm_cli.server import bi

    codes = [c.strip() for c in sites.replace("，", ",").split(",") if c.strip()]
    got = bi.refresh(_ready(database_url), days=days, sites=codes or None)
    typer_ctx_out(as_json).done(
        f"rollups current for {len(got)} site(s); {sum(got.values())} day(s) counted again",
        {"sites": got},
    )


@site_app.command("add")
def site_add(
    code: Annotated[str, typer.Argument(help="Site code")],
    database_url: UrlOpt,
    name: Annotated[str | None, typer.Option("--name", help="Name")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Put a site on the server before any laptop pushes it (laptops granted it pull it)."""
    from pm_cli.server import admin as service

    with _ready(database_url).begin() as conn:
        rec = service.add_site(conn, code=code, name=name)
    typer_ctx_out(as_json).done(f"added site {code} to the server", rec)
