"""The sync server over HTTP (FastAPI): sync.md §7. Stateless: every request reads its token,
grants and the sequence from the database, so several workers behave as one."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Annotated, Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse

from pm_cli import __version__
from pm_cli.protocol import shapes
from pm_cli.protocol.bodies import Hello, Push
from pm_cli.protocol.shapes import SYNC_SCHEMA, ApiError
from pm_cli.server import auth as server_auth
from pm_cli.server import db, evidence, feed
from pm_cli.server import push as server_push


class BodyTooLarge(HTTPException):
    def __init__(self, size: int, limit: int, path: str = ""):
        super().__init__(413)
        self.error = (
            evidence.too_large(size)
            if path.startswith(EVIDENCE)
            else ApiError(
                413,
                "too_large",
                f"the request is over {limit} bytes ({size} read)",
                hint="send smaller batches",
            )
        )


EVIDENCE = "/evidence/"


class BodyLimit:
    """Refuse a request body over the limit, declared (Content-Length) or streamed
    (chunked), before it is all read into memory. A photo upload has a limit of its own."""

    def __init__(self, app: Any, limit: int, evidence_limit: int = evidence.MAX_BYTES):
        self.app, self.limit, self.evidence_limit = app, limit, evidence_limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.evidence_limit if path.startswith(EVIDENCE) else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            e = BodyTooLarge(int(declared), limit, path).error
            await JSONResponse(e.body(), status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(seen, limit, path)
            return message

        await self.app(scope, limited, send)


log = logging.getLogger("pm.server")
access_log = logging.getLogger("pm.server.access")

# what the access log learns inside a request (the token_id, once authenticated): a dict per
# request, set by AccessLog; sync endpoints run in the thread pool on a copy of the context,
# which still holds this same dict
_request_note: ContextVar[dict[str, str] | None] = ContextVar("pm_request_note", default=None)
LOGGED_QUERY = frozenset({"cursor", "limit", "after", "site"})  # other values are hidden
_TOKEN_TEXT = re.compile(r"pmt_[A-Za-z0-9_\-]+")


def _logged_target(scope: Any) -> str:
    """The request's path as sent, with the query's values kept only for the parameters pm
    defines (a token pasted into a URL never reaches the log)."""
    raw = scope.get("raw_path") or scope.get("path", "").encode()
    target = raw.decode("ascii", "backslashreplace")
    query = scope.get("query_string", b"").decode("ascii", "backslashreplace")
    if query:
        target += "?" + "&".join(
            f"{k}={v}" if k in LOGGED_QUERY else f"{k}=…"
            for k, v in parse_qsl(query, keep_blank_values=True)
        )
    return _TOKEN_TEXT.sub("pmt_…", target)


class AccessLog:
    """One line per request once its answer is sent: client, method, path, status, time
    taken and the token_id that authenticated it (never the token)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        note: dict[str, str] = {}
        token = _request_note.set(note)
        status = 0

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, sending)
        except BaseException:
            failed = True
            raise
        finally:
            _request_note.reset(token)
            ms = (time.perf_counter() - start) * 1000
            client = (scope.get("client") or ("-",))[0]
            line = f"{client} {scope['method']} {_logged_target(scope)} {status or 500} {ms:.1f} ms"
            if "token_id" in note:
                line += f" token_id={note['token_id']}"
            if failed and status:
                line += " (answer cut short)"
            access_log.info(line)


def _note_token(token_id: str) -> None:
    note = _request_note.get()
    if note is not None:
        note["token_id"] = token_id


PUSH_SLOTS = 1  # pushes a worker process runs at once
# after a hello or a push the laptop's next request comes on a new connection, so the worker
# that accepts it is the one free first: a connection held from the start would keep a
# laptop on the worker that happened to accept it, however many pushes queue there
FRESH_CONNECTION = {"Connection": "close"}
DB_RETRY_AFTER_S = 2  # a restart or failover takes seconds; laptops add their own jitter


def _database_unavailable() -> ApiError:
    return ApiError(
        503,
        "database_unavailable",
        "the server's database is unreachable",
        hint="nothing is lost: pending changes stay queued on the laptop; run pm "
        "sync again in a few minutes",
    )


def _connection_level(e: BaseException) -> bool:
    """A failure to reach or keep the database, not a wrong statement: the driver's
    OperationalError/InterfaceError, a connection SQLAlchemy found dead, a pool timeout."""
    return isinstance(
        e, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError
    ) or bool(getattr(e, "connection_invalidated", False))


def _first_line(e: BaseException) -> str:
    text = str(getattr(e, "orig", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def create_app(database_url: str) -> FastAPI:
    engine = db.make_engine(database_url)
    clock = server_auth.ServerClock()
    # pushes one at a time in each worker process: many at once only share its one GIL, which
    # stretches the push holding the change log's counter (sync.md §3.1) and so every push
    # queued behind it; the workers (and PostgreSQL) still push side by side
    push_slots = threading.BoundedSemaphore(PUSH_SLOTS)
    app = FastAPI(
        title="pm sync server",
        version=__version__,
        description="Offline-first sync for pm laptops (sync.md).",
    )

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, e: ApiError) -> JSONResponse:
        return JSONResponse(e.body(), status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, e: RequestValidationError) -> JSONResponse:
        where = [
            ".".join(str(p) for p in err["loc"][1:] if p != "body") + ": " + err["msg"]
            for err in e.errors()
        ]
        return JSONResponse(
            ApiError(422, "invalid_request", "the request is not valid", where=where).body(),
            status_code=422,
        )

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_request: Request, e: BodyTooLarge) -> JSONResponse:
        return JSONResponse(e.error.body(), status_code=413)

    async def _database_down(_request: Request, e: Exception) -> JSONResponse:
        """The database unreachable (stopped, a dead port, a dropped connection): 503 with
        Retry-After from every endpoint, a warning line in the log, no traceback."""
        if not _connection_level(e):
            raise e  # a bug, not an outage: the usual 500 and its traceback in the log
        log.warning("database unreachable: %s", _first_line(e))
        return JSONResponse(
            _database_unavailable().body(),
            status_code=503,
            headers={"Retry-After": str(DB_RETRY_AFTER_S)},
        )

    # one handler; DBAPIError is the parent of OperationalError and InterfaceError
    app.add_exception_handler(sa.exc.DBAPIError, _database_down)
    app.add_exception_handler(sa.exc.TimeoutError, _database_down)
    app.add_middleware(BodyLimit, limit=shapes.MAX_BYTES)
    app.add_middleware(AccessLog)  # added last: outermost, so it times and sees every answer

    def auth(
        authorization: str | None, protocol: str | None, schema: str | None
    ) -> server_auth.Auth:
        server_auth.check_versions(protocol, schema)
        with engine.connect() as conn:
            a = server_auth.authenticate(conn, authorization)
        _note_token(a.token_id)
        return a

    @app.get("/health")
    def health() -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            # sync.md §7's body for monitors, with the usual error fields beside it
            return JSONResponse(
                {
                    "status": "unavailable",
                    "database": "unreachable",
                    **_database_unavailable().body(),
                },
                status_code=503,
                headers={"Retry-After": str(DB_RETRY_AFTER_S)},
            )
        return JSONResponse({"status": "ok", "version": __version__, "schema": SYNC_SCHEMA})

    @app.post("/sync/hello")
    def hello(
        body: Hello,
        authorization: Annotated[str | None, Header()] = None,
        pm_protocol: Annotated[str | None, Header()] = None,
        pm_schema: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        a = auth(authorization, pm_protocol, pm_schema)
        with engine.connect().execution_options(pm_write=True) as conn, conn.begin():
            answer = server_auth.hello(
                conn, a, clock, body.device_id, body.numbers_left, body.sites_held
            )
        return JSONResponse(answer, headers=FRESH_CONNECTION)

    @app.post("/sync/push")
    def push(
        body: Push,
        authorization: Annotated[str | None, Header()] = None,
        pm_protocol: Annotated[str | None, Header()] = None,
        pm_schema: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        a = auth(authorization, pm_protocol, pm_schema)
        changes = [c.model_dump() for c in body.changes]
        with push_slots:
            answer = server_push.push(engine, a, clock, changes, int(pm_schema or SYNC_SCHEMA))
        return JSONResponse(answer, headers=FRESH_CONNECTION)

    @app.get("/sync/pull")
    def pull(
        cursor: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=shapes.PULL_MAX)] = shapes.PULL_DEFAULT,
        authorization: Annotated[str | None, Header()] = None,
        pm_protocol: Annotated[str | None, Header()] = None,
        pm_schema: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        a = auth(authorization, pm_protocol, pm_schema)
        return _ndjson(feed.pull(engine, a, clock, cursor, limit))

    @app.get("/sync/snapshot")
    def snapshot(
        after: str | None = None,
        site: Annotated[list[str] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=shapes.SNAPSHOT_PAGE)] = shapes.SNAPSHOT_PAGE,
        authorization: Annotated[str | None, Header()] = None,
        pm_protocol: Annotated[str | None, Header()] = None,
        pm_schema: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        a = auth(authorization, pm_protocol, pm_schema)
        return _ndjson(feed.snapshot(engine, a, clock, after=after, sites=site, limit=limit))

    @app.put("/evidence/{sha256}")
    async def evidence_put(
        sha256: str,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        pm_protocol: Annotated[str | None, Header()] = None,
        pm_schema: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """Upload a photo's bytes (idempotent): 422 unless they hash to `sha256`, 413 over
        the photo limit, 403 unless a step result of a granted site names it."""
        from starlette.concurrency import run_in_threadpool

        a = await run_in_threadpool(auth, authorization, pm_protocol, pm_schema)
        evidence.check_sha(sha256)
        body = await request.body()  # at most the photo limit: BodyLimit counts it
        result: dict[str, Any] = await run_in_threadpool(evidence.put, engine, a, sha256, body)
        return result

    @app.get("/evidence/{sha256}")
    def evidence_get(
        sha256: str,
        authorization: Annotated[str | None, Header()] = None,
        pm_protocol: Annotated[str | None, Header()] = None,
        pm_schema: Annotated[str | None, Header()] = None,
    ) -> Response:
        """A photo's bytes: 404 when unknown or not uploaded yet, 403 when it belongs only to
        sites not granted."""
        a = auth(authorization, pm_protocol, pm_schema)
        return Response(
            evidence.get(engine, a, sha256),
            media_type="application/octet-stream",
            headers={"Cache-Control": "private, max-age=31536000, immutable"},
        )

    from pm_cli.server import web

    web.register(app, engine, _note_token)
    return app


def _ndjson(lines: Any) -> StreamingResponse:
    first = next(lines)  # errors before the response starts

    def body() -> Iterator[str]:
        # a few hundred lines per chunk: Starlette runs each next() of a sync generator in
        # the thread pool, so a chunk per line would cost a thread hop per row
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        buf = [dumps(first)]
        for line in lines:
            buf.append(dumps(line))
            if len(buf) >= 500:
                yield "\n".join(buf) + "\n"
                buf = []
        if buf:
            yield "\n".join(buf) + "\n"

    return StreamingResponse(body(), media_type="application/x-ndjson")
