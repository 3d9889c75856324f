"""Head office on the web: `/reports`, read-only, rendered by the same report code as
`pm report … --html` over the server's typed tables.

Who may read: the sync tokens and their site grants. A script sends its bearer token; a
browser signs in once with a token (a form POST, never a URL) and gets a session cookie
(HttpOnly, SameSite=Strict, Secure over https) whose sha256 the server keeps beside the
token's id, so revoking the token ends the session. A site that is not granted is answered
as one that does not exist.

    GET  /reports                  the user's sites ranked by score (?from=&to=, ?site= picks)
    GET  /reports/SITE             a site: score, categories, trend, grids, overdue items
    GET  /reports/SITE/grid/CODE   a grid by service
    GET  /reports/SITE.json        the site's figures as JSON (?from=&to=)
    GET  /reports/SITE.csv         its KPIs, the site's then each grid's, as CSV
    POST /reports/login            token=… → the session cookie
    POST /reports/logout
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from pm_cli.protocol.shapes import ApiError
from pm_cli.server import auth as server_auth
from pm_cli.server import db
from pm_cli.store.ids import utc_text

COOKIE = "pm_session"
SESSION_HOURS = 12
MAX_FORM = 4096  # bytes of the sign-in form
NO_STORE = {"Cache-Control": "no-store"}  # figures of one user are not kept by any cache


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SignIn(Exception):
    """No valid credentials: a browser gets the sign-in form, a script a 401."""

    def __init__(self, message: str | None = None):
        super().__init__(message or "")
        self.message = message


def register(app: FastAPI, engine: sa.Engine, note_token: Callable[[str], None]) -> None:
    """Add the /reports routes to the sync server's app."""

    def who(request: Request) -> server_auth.Auth:
        header = request.headers.get("authorization")
        with engine.connect() as conn:
            if header:
                a = server_auth.authenticate(conn, header)
            else:
                cookie = request.cookies.get(COOKIE)
                if not cookie:
                    raise SignIn()
                row = conn.execute(
                    sa.select(db.web_session).where(db.web_session.c.sha256 == _hash(cookie))
                ).first()
                if row is None or row.expires_at <= utc_text(datetime.now(UTC)):
                    raise SignIn("your session has ended: sign in again")
                found = server_auth.by_token_id(conn, row.token_id)
                if found is None:
                    raise SignIn("the token of this session was revoked: sign in with another")
                a = found
        note_token(a.token_id)
        return a

    @contextmanager
    def records() -> Iterator[Any]:
        from sqlmodel import Session

        with Session(engine) as s:
            yield s

    def refresh(site_id: str, frm: str | None, to: str | None) -> None:
        """Bring the site's per-day rollups for the period up to date, in a transaction of
        its own (two workers refreshing one site at once: the first one's days stand)."""
        from sqlmodel import Session

        from pm_cli.reports import service
        from pm_cli.sites.models import Site

        with Session(engine) as s:
            site = s.get(Site, site_id)
            if site is None:
                return
            try:
                service.refresh_period(s, site=site, frm=frm, to=to)
                s.commit()
            except sa.exc.IntegrityError:
                s.rollback()

    def summary(s: Any, site: Any, frm: str | None, to: str | None, seq: int) -> dict[str, Any]:
        """A site's row of the ranking: by default the 30 days up to yesterday; a period
        that has ended is counted once per change of the site (report_cache)."""
        from pm_cli.reports import office
        from pm_cli.reports.service import period

        if frm is None and to is None:
            frm, to = office.ended_days(site)
        p = period(site, frm, to)
        ended = p.until <= p.now
        key = (site.id, utc_text(p.since), utc_text(p.until))
        c = db.report_cache.c
        if ended:
            with engine.connect() as conn:
                body = conn.execute(
                    sa.select(c.body).where(
                        c.site_id == key[0], c.since == key[1], c.until == key[2], c.seq == seq
                    )
                ).scalar()
            if body is not None:
                return dict(body)
        refresh(site.id, frm, to)
        body = office.summary(s, site=site, frm=frm, to=to)
        if ended:
            try:
                with engine.begin() as conn:
                    conn.execute(
                        db.report_cache.delete().where(
                            c.site_id == key[0], c.since == key[1], c.until == key[2]
                        )
                    )
                    conn.execute(
                        db.report_cache.insert().values(
                            site_id=key[0],
                            since=key[1],
                            until=key[2],
                            seq=seq,
                            body=body,
                            computed_at=utc_text(datetime.now(UTC)),
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # another worker stored the same row first
        return body

    def site_of(s: Any, a: server_auth.Auth, code: str) -> Any:
        """The granted site's record, or 404 (a site not granted is one that is not there)."""
        from pm_cli.sites.models import Site

        site_id = next((i for i, c in a.sites.items() if c == code), None)
        row = s.get(Site, site_id) if site_id else None
        if row is None or row.deleted:
            raise ApiError(
                404,
                "not_found",
                f"no site {code} among yours",
                hint="GET /reports lists the sites you may read",
            )
        return row

    def period(request: Request) -> tuple[str | None, str | None, str]:
        q = request.query_params
        frm, to = q.get("from") or None, q.get("to") or None
        kept = {k: v for k, v in (("from", frm), ("to", to)) if v}
        return frm, to, ("?" + urlencode(kept)) if kept else ""

    def html(page: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(page, status_code=status, headers=NO_STORE)

    def failed(e: Exception, *, as_json: bool) -> Response:
        """A refusal in the form asked for: JSON for .json/.csv and scripts, a page else."""
        from pm_cli.errors import NotFoundError, PmError
        from pm_cli.reports import html as pages

        if isinstance(e, SignIn):
            if as_json:
                return JSONResponse(
                    ApiError(
                        401,
                        "unauthorized",
                        e.message or "no bearer token",
                        hint="send Authorization: Bearer TOKEN",
                    ).body(),
                    status_code=401,
                )
            return html(pages.sign_in(e.message), 401)
        if isinstance(e, PmError):  # a bad ?from= or ?to=, an unknown grid
            found = isinstance(e, NotFoundError)
            e = ApiError(
                404 if found else 400,
                "not_found" if found else "invalid_request",
                e.message,
                where=[e.where] if e.where else [],
                hint=e.hint,
            )
        assert isinstance(e, ApiError)
        if as_json:
            return JSONResponse(e.body(), status_code=e.status)
        where = f" ({', '.join(e.where)})" if e.where else ""
        return html(pages.problem(e.status, e.message + where, e.hint), e.status)

    def answer(
        request: Request, make: Callable[[], Response], *, as_json: bool = False
    ) -> Response:
        from pm_cli.errors import PmError

        try:
            return make()
        except (SignIn, ApiError, PmError) as e:
            return failed(e, as_json=as_json or "authorization" in request.headers)

    @app.get("/reports", response_model=None)
    def index(request: Request) -> Response:
        def make() -> Response:
            from pm_cli.reports import html as pages
            from pm_cli.sites.models import Site

            a = who(request)
            frm, to, query = period(request)
            picked = request.query_params.get("site")
            if picked:
                return RedirectResponse(f"/reports/{quote(picked, safe='')}{query}", 303)
            rows, missing = [], []
            with records() as s:
                # a site's figures change with its own records and the company-wide ones
                # (playbooks): the newest change of either (seq is global and only grows)
                seqs = _newest_changes(s.connection(), [*a.sites, ""])
                company = seqs.get("", 0)
                for site_id, code in sorted(a.sites.items(), key=lambda x: x[1]):
                    site = s.get(Site, site_id)
                    if site is None or site.deleted:
                        missing.append(code)
                        continue
                    rows.append(summary(s, site, frm, to, max(seqs.get(site_id, 0), company)))
            rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["site"]))
            missing += [c for c in a.codes if c != "*" and c not in a.sites.values()]
            return html(
                pages.office_index(
                    rows, user=a.user, query=query, frm=frm, to=to, missing=sorted(missing)
                )
            )

        return answer(request, make)

    @app.post("/reports/login", response_model=None)
    async def login(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        from pm_cli.reports import html as pages

        raw = await request.body()
        if len(raw) > MAX_FORM:
            return html(pages.sign_in("that is not a token"), 400)
        form = parse_qs(raw.decode("utf-8", "replace"))
        tok = (form.get("token") or [""])[0].strip()
        try:
            cookie = await run_in_threadpool(_open_session, engine, tok)
        except ApiError as e:
            return html(pages.sign_in(e.message), 401)
        r = RedirectResponse("/reports", 303)
        secure = (
            request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
        )
        r.set_cookie(
            COOKIE,
            cookie,
            max_age=SESSION_HOURS * 3600,
            path="/reports",
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        return r

    @app.post("/reports/logout", response_model=None)
    def logout(request: Request) -> Response:
        cookie = request.cookies.get(COOKIE)
        if cookie:
            with engine.begin() as conn:
                conn.execute(
                    db.web_session.delete().where(db.web_session.c.sha256 == _hash(cookie))
                )
        r = RedirectResponse("/reports", 303)
        r.delete_cookie(COOKIE, path="/reports", httponly=True, samesite="strict")
        return r

    def counted(
        request: Request, code: str, count: Callable[..., dict[str, Any]]
    ) -> tuple[server_auth.Auth, str | None, str | None, str, Any, dict[str, Any]]:
        """Who asks, the period asked for, and one granted site counted by `count` (an
        `office` overview) over its rollups brought up to date first."""
        a = who(request)
        frm, to, query = period(request)
        with records() as s:
            site = site_of(s, a, code)
            refresh(site.id, frm, to)
            return a, frm, to, query, site, count(s, site=site, frm=frm, to=to)

    @app.get("/reports/{code}/grid/{grid}", response_model=None)
    def grid_page(code: str, grid: str, request: Request) -> Response:
        def make() -> Response:
            from functools import partial

            from pm_cli.reports import html as pages
            from pm_cli.reports import office

            a, _, _, query, site, ov = counted(
                request, code, partial(office.grid_overview, grid=grid)
            )
            return html(pages.office_grid(ov, user=a.user, query=query, tz=site.tz))

        return answer(request, make)

    @app.get("/reports/{name}", response_model=None)
    def site_page(name: str, request: Request) -> Response:
        code, _, kind = name.rpartition(".") if name.endswith((".json", ".csv")) else (name, "", "")

        def make() -> Response:
            from pm_cli import sheets
            from pm_cli.reports import html as pages
            from pm_cli.reports import office

            a, frm, to, query, _, ov = counted(request, code, office.site_overview)
            if kind == "json":
                return JSONResponse(ov, headers=NO_STORE)
            if kind == "csv":
                data = sheets.csv_bytes(office.CSV_COLUMNS, office.kpi_rows(ov))
                name = f"{code}-{ov['from'][:10]}-{ov['counted_to'][:10]}.csv"
                return Response(
                    data,
                    media_type="text/csv; charset=utf-8",
                    headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
                )
            return html(pages.office_site(ov, user=a.user, query=query, frm=frm, to=to))

        return answer(request, make, as_json=bool(kind))


def _newest_changes(conn: sa.Connection, site_ids: list[str]) -> dict[str, int]:
    """The newest change (sync_change.seq) of each site: what a cached row was counted
    from."""
    t = db.sync_change.c
    out: dict[str, int] = {}
    for start in range(0, len(site_ids), 500):
        out.update(
            conn.execute(
                sa.select(t.site_id, sa.func.max(t.seq))
                .where(t.site_id.in_(site_ids[start : start + 500]))
                .group_by(t.site_id)
            ).all()
        )
    return out


def _open_session(engine: sa.Engine, tok: str) -> str:
    """Check the token as a bearer would be; a new session cookie for it (expired ones of
    every user are cleared on the way)."""
    with engine.begin() as conn:
        a = server_auth.authenticate(conn, f"Bearer {tok}")
        now = datetime.now(UTC)
        conn.execute(db.web_session.delete().where(db.web_session.c.expires_at <= utc_text(now)))
        cookie = "pms_" + secrets.token_urlsafe(32)
        conn.execute(
            db.web_session.insert().values(
                sha256=_hash(cookie),
                token_id=a.token_id,
                created_at=utc_text(now),
                expires_at=utc_text(now + timedelta(hours=SESSION_HOURS)),
            )
        )
    return cookie
