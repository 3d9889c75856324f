"""Evidence photos on the server (sync.md §4a): `PUT /evidence/{sha256}` stores the bytes a
laptop sends, `GET /evidence/{sha256}` serves them, both only to a user granted a site that
has a step result naming that sha256. No FastAPI here: `pm_cli.server.app` maps these to HTTP.

The bytes are content-addressed, so an upload is idempotent and a photo shared by two step
results (two sites, even) is stored once. The step results naming a sha256 are found through
the index on `step_result.evidence_sha256`: one indexed lookup a request."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import sqlalchemy as sa

from pm_cli.protocol.entities import may_write
from pm_cli.protocol.shapes import ApiError
from pm_cli.server import db
from pm_cli.server.auth import Auth
from pm_cli.store.ids import now_text

MAX_BYTES = 20 * 1024 * 1024  # keep pm_cli.runs.evidence.MAX_BYTES equal: laptops refuse more
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_sha(sha256: str) -> str:
    if not SHA256.match(sha256):
        raise ApiError(
            422,
            "invalid_sha256",
            "a photo is named by its sha256: 64 lower-case hex digits",
            where=["sha256"],
        )
    return sha256


def _named_by(conn: sa.Connection, sha256: str) -> set[str]:
    """The sites of the step results that name this photo."""
    r = db.records["step_result"].c
    return set(
        conn.execute(sa.select(r.site_id).distinct().where(r.evidence_sha256 == sha256)).scalars()
    )


def _granted(conn: sa.Connection, auth: Auth, sha256: str, *, write: bool) -> None:
    """403 unless the user is granted a site with a step result naming the photo (and, to
    upload, has a role that may write runs); 404 when no step result names it at all."""
    sites = _named_by(conn, sha256)
    if not sites:
        if write:
            raise ApiError(
                403,
                "forbidden",
                f"no step result of a site granted to {auth.user} names this photo",
                where=["sha256"],
                hint="push the step result first (pm sync), then its photo",
            )
        raise ApiError(404, "not_found", "no step result names this photo", where=["sha256"])
    if not sites & set(auth.sites):
        raise ApiError(
            403,
            "forbidden",
            f"this photo belongs to sites not granted to {auth.user}",
            where=["sha256"],
        )
    if write and not may_write(auth.role, "step_result"):
        raise ApiError(403, "forbidden", f"a {auth.role} may not write runs", where=["sha256"])


def put(engine: sa.Engine, auth: Auth, sha256: str, body: bytes) -> dict[str, Any]:
    """Store the photo if its bytes hash to its name; idempotent (the same bytes again, or
    two laptops racing, leave one row)."""
    check_sha(sha256)
    if len(body) > MAX_BYTES:
        raise too_large(len(body))
    if not body:
        raise ApiError(422, "empty", "an empty photo", where=["body"])
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha256:
        raise ApiError(
            422,
            "sha256_mismatch",
            f"the bytes hash to {actual}, not to the sha256 they were sent as",
            where=["body"],
            hint="the file changed or was cut on the way: send it again",
        )
    with engine.connect().execution_options(pm_write=True) as conn, conn.begin():
        _granted(conn, auth, sha256, write=True)
        t = db.evidence_blob
        if conn.execute(sa.select(t.c.size).where(t.c.sha256 == sha256)).first() is not None:
            return {"sha256": sha256, "size": len(body), "stored": False}
        try:
            with conn.begin_nested():
                conn.execute(
                    t.insert().values(
                        sha256=sha256,
                        size=len(body),
                        data=body,
                        token_id=auth.token_id,
                        uploaded_at=now_text(),
                    )
                )
        except sa.exc.IntegrityError:  # another upload of the same bytes won the race
            return {"sha256": sha256, "size": len(body), "stored": False}
    return {"sha256": sha256, "size": len(body), "stored": True}


def get(engine: sa.Engine, auth: Auth, sha256: str) -> bytes:
    """The photo's bytes: 404 when no step result names it or it is not uploaded yet, 403
    when it belongs only to sites not granted."""
    check_sha(sha256)
    with engine.connect() as conn:
        _granted(conn, auth, sha256, write=False)
        data = conn.execute(
            sa.select(db.evidence_blob.c.data).where(db.evidence_blob.c.sha256 == sha256)
        ).scalar()
    if data is None:
        raise ApiError(
            404,
            "not_uploaded",
            "the photo is not uploaded yet",
            where=["sha256"],
            hint="the laptop that took it uploads it at its next pm sync",
        )
    return bytes(data)


def too_large(size: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"the photo is over {MAX_BYTES} bytes ({size} read)",
        hint=f"photos up to {MAX_BYTES // 1024 // 1024} MiB",
    )
