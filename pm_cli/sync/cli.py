"""pm sync … — the laptop's side of sync."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer

from pm_cli.cli_common import JsonOpt
from pm_cli.sites.context import current_site

app = typer.Typer(
    help="Sync with the central server: push this laptop's changes, pull "
    "everyone else's.\n\n"
    "Says hello (versions, clock offset), pushes pending changes in batches of "
    "≤ 500 (a batch whose answer was lost is resent and answered `duplicate`; "
    "changes the server refuses are set aside as rejected, the rest go on), then "
    "pulls the server's changes after the saved cursor, applying them with the "
    "cursor in one local transaction every 1,000 changes: a cut sync resumes "
    "where it stopped. A laptop's first sync (and a site granted since its last "
    "one) takes a snapshot of the current rows instead, 5,000 a page, streamed. "
    "After the push, the photos of the pushed step results go up (each once; a "
    "photo missing from the evidence store is a warning, the sync goes on).\n\n"
    "--retry queues rejected changes again once their cause is fixed (a grant, a "
    "role). A site withdrawn from the user (`pm server user grant NAME --revoke "
    "CODE`) leaves the laptop at its next full sync: its pending changes are sent "
    "first (refused, kept as rejected), then its records are removed locally, "
    "never sent as deletes; sites made on the laptop and never synced stay.\n\n"
    "A network error, a 429 or a 5xx is tried again 4 times (`PM_SYNC_RETRIES=N` "
    "for another number, 0 for none), after a random wait in a window doubling "
    "from 0.5 s to 8 s, and never sooner than a `Retry-After` the server sends (up "
    "to 60 s), so laptops cut off together do not come back together. If the "
    "server's database is down it ends with `error: the server's database is "
    "unreachable; nothing is lost` (exit 4, as other sync errors): the pending "
    "changes stay queued for the next `pm sync`.",
    invoke_without_command=True,
)


def _server() -> tuple[str | None, str | None]:
    from pm_cli import config

    cfg = config.read_config()
    return cfg.get("server"), cfg.get("token")


@app.callback()
def sync(
    ctx: typer.Context,
    push_only: Annotated[bool, typer.Option("--push", help="Only push")] = False,
    pull_only: Annotated[bool, typer.Option("--pull", help="Only pull")] = False,
    retry: Annotated[
        bool, typer.Option("--retry", help="Send rejected changes again (after a fix)")
    ] = False,
    photos: Annotated[
        bool,
        typer.Option(
            "--photos", help="Also download every photo of the granted sites this laptop lacks"
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Push pending changes and upload their photos, then pull the server's (resumes where
    a cut sync stopped)."""
    if ctx.invoked_subcommand is not None:
        return
    from pm_cli.sync import client
    from pm_cli.sync import photos as sync_photos

    obj = ctx.obj
    out = obj.out(as_json)
    url, token = _server()
    path = obj.db_path
    if retry:
        n = client.requeue_rejected(path)
        out.note(f"{n} rejected change(s) queued again")
    bars: dict[str, tuple[Any, list[int]]] = {}
    with contextlib.ExitStack() as stack:

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                advance = stack.enter_context(out.progress(total, f"{stage}ing changes"))
                bars[stage] = (advance, [0])
            advance, seen = bars[stage]
            advance(done - seen[0])
            seen[0] = done

        rep = client.sync(
            path, url=url, token=token, push_only=push_only, pull_only=pull_only, progress=progress
        )
    fetched = sync_photos.fetch(path, url=url, token=token) if photos else None
    if fetched is not None:
        rep.warnings += [f"photo not downloaded: {why}" for why in fetched.refused]
        if fetched.offline:
            rep.warnings.append(f"photos not downloaded: {fetched.offline}")
    waiting = sync_photos.waiting(path)
    rec = {
        "pushed": rep.pushed,
        "duplicates": rep.duplicates,
        "rejected": rep.rejected,
        "pulled": rep.pulled,
        "applied": rep.applied,
        "parked": rep.parked,
        "replayed": rep.replayed,
        "cursor": rep.cursor,
        "clock_offset_ms": rep.offset_ms,
        "photos": {
            "waiting_upload": waiting,
            **(
                {"downloaded": fetched.downloaded, "not_uploaded": fetched.not_uploaded}
                if fetched
                else {}
            ),
        },
        "warnings": rep.warnings,
    }
    if out.as_json:
        out.json(rec)
    else:
        for w in rep.warnings:
            out.warn(w)
        for (entity, reason), n in client.refusals(rep.rejected):
            out.warn(f"refused: {n} {entity} change{'s' if n > 1 else ''}: {reason}")
        out.done(
            f"synced with {url}: pushed {rep.pushed}"
            + (f" ({rep.duplicates} already there)" if rep.duplicates else "")
            + f", pulled {rep.pulled} (applied {rep.applied})"
            + (f", {len(rep.rejected)} refused" if rep.rejected else "")
            + (f", {rep.parked} parked for a newer pm" if rep.parked else "")
            + (f", {rep.replayed} parked applied now" if rep.replayed else "")
            + (f"; photos: {fetched.downloaded} downloaded" if fetched else "")
            + (
                f", {fetched.not_uploaded} not yet uploaded by their laptop"
                if fetched and fetched.not_uploaded
                else ""
            )
            + (f"; {waiting} photo(s) of this laptop not yet uploaded" if waiting else "")
        )
        if rep.rejected:
            out.note(
                "hint: refused changes were rolled back to the server's copy and kept "
                "as rejected (pm sync status); "
                + (
                    "ask an admin for the role or grant, then pm sync --retry"
                    if any(r.get("code") == 403 for r in rep.rejected)
                    else "correct the record and sync again"
                )
            )
    if rep.rejected:
        from pm_cli.errors import ExitCode

        raise typer.Exit(int(ExitCode.FAILED))


@app.command("login")
def sync_login(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Server URL, e.g. https://pm.example.com")],
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="PM_TOKEN",
            help="From pm server token issue [env PM_TOKEN]; '-' or none: read from stdin "
            "(prompted, hidden, on a terminal), so it stays out of the shell history",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the token with the server and keep it in the user config (mode 0600).

    The URL is kept with it. The token comes from --token, `PM_TOKEN`, or stdin (`--token -` or
    none; a hidden prompt on a terminal), so it need not sit in the shell history. Plain
    `http://` to another machine is warned about."""
    import sys

    from pm_cli.errors import UsageError
    from pm_cli.sync import client

    if token is None or token == "-":
        if sys.stdin.isatty():
            token = typer.prompt("token", hide_input=True)
        else:
            token = sys.stdin.readline()
    token = token.strip()
    if not token:
        raise UsageError(
            "no token given",
            where="--token",
            hint="--token T, PM_TOKEN=T, or the token on stdin (from pm server token issue)",
        )
    out = ctx.obj.out(as_json)
    if client.plain_http_to_another_host(url):
        out.warn(
            f"{url} is plain http to another machine: the token travels unencrypted "
            "(use https:// behind the TLS proxy)"
        )
    rec = client.login(ctx.obj.db_path, url, token)
    granted = rec.get("granted") or rec["sites"]
    out.done(
        f"logged in to {rec['server']} as {rec['user']} ({rec['role']}; "
        f"granted: {', '.join(granted) or 'no site yet: ask an admin'})",
        rec,
    )


@app.command("status")
def sync_status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Pending, acked and rejected changes (with why), last sync, server, cursor, device id
    and clock offset."""
    from pm_cli.sync import client

    url, _ = _server()
    rec = client.status(ctx.obj.db_path, url=url)
    out = ctx.obj.out(as_json)
    if out.as_json:
        out.json(rec)
        return
    out.record({k: v for k, v in rec.items() if k != "rejected_changes"})
    if rec["rejected_changes"]:
        out.table(
            rec["rejected_changes"], ["change_id", "entity", "reason"], title="rejected changes"
        )


@app.command("conflicts")
def sync_conflicts(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Values that lost to a concurrent edit, edits made after a delete, shared codes, grid
    cycles and phase races: the ones still open.

    The open conflicts the server recorded: a typed value that lost to a concurrent edit of the
    same field (both kept: the winner in the record, the loser here); an edit made after a
    delete; one code made on two laptops (both records kept; commands refuse the code as
    ambiguous until one is renamed). And what the server found after merging: two grid moves
    that make a cycle; a grid added under a parent deleted elsewhere (`invariant`: the data
    stays, the grids show at the top level of `pm grid tree`); an item moved out of one phase
    to two different phases at once (`phase_race`: the higher phase stands); one playbook
    id@version imported with different content on two laptops (`version_clash`: both kept,
    every laptop uses the same one until a new version is imported). A `note` column says what
    happened; a shared code renamed or a cycle undone since leaves the list by itself."""
    from pm_cli.sync import conflicts

    with ctx.obj.session() as s:
        site = current_site(ctx.obj, s)
        rows = conflicts.list_open(s, site=site)
    ctx.obj.out(as_json).emit(
        rows,
        columns=["id", "entity", "record", "field", "kind", "kept", "lost", "note", "at"],
        title="open conflicts",
    )


@app.command("resolve")
def sync_resolve(
    ctx: typer.Context,
    conflict: Annotated[str, typer.Argument(help="Conflict id (its last 8 characters)")],
    keep: Annotated[
        str | None, typer.Option("--keep", help="mine|theirs|winner|loser|VALUE")
    ] = None,
    restore: Annotated[
        bool, typer.Option("--restore", help="Undelete after an edit made after a delete")
    ] = False,
    rename: Annotated[
        str | None,
        typer.Option(
            "--rename", help="A new code (item number) for this record, when two share one"
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Settle a conflict: keep one value, restore, or rename (an ordinary edit, synced like
    any); --keep winner accepts what the server merged after a grid cycle or phase race.

    The conflict is then marked resolved everywhere. After an edit made after a delete,
    --restore undeletes and --keep theirs leaves it deleted; a shared code takes --rename NEW
    (refused when NEW is taken); a grid cycle, orphaned grid, phase race or version clash is
    accepted with --keep winner once fixed with the ordinary command."""
    from pm_cli.sync import conflicts

    with ctx.obj.session(write=True) as s:
        site = current_site(ctx.obj, s)
        rec = conflicts.resolve(
            s, site=site, ref=conflict, keep=keep, restore=restore, rename=rename
        )
    ctx.obj.out(as_json).done(f"conflict {rec['id']} resolved: {rec['resolution']}", rec)


@app.command("reset-device")
def sync_reset_device(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Make a copied database a device of its own (new device id, pending changes
    re-stamped); then log in with a token issued for this laptop.

    The server refuses a second token for one device id."""
    from pm_cli.sync import client

    rec = client.reset_device(ctx.obj.db_path)
    ctx.obj.out(as_json).done(
        f"this database is now device {rec['device_id']} "
        f"({rec['restamped']} pending change(s) re-stamped); next: pm "
        "sync login URL --token NEW_TOKEN",
        rec,
    )
