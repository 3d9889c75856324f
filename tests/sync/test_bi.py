"""SQL for BI tools: `pm server bi-role` makes a read-only PostgreSQL role that reads the
`reporting` views, limited by row-level security to its sites; tested with psycopg connected
as that role."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pm_cli.app import app
from tests.sync.conftest import PG_URL, Laptop, Server


def server_cli(url: str, *args: str, ok: bool = True, stdin: str | None = None):  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(app, ["server", *args, "--database-url", url], input=stdin)
    if ok:
        assert r.exit_code == 0, r.output
    return r


@pytest.fixture
def two_sites(server: Server, tmp_path: Path) -> Laptop:
    """CH (the demo, by alice) and XY (a small site, by xavier) on the server."""
    a = Laptop("a", tmp_path)
    a("demo")
    a("sync", "login", server.url, "--token", server.token("alice", "a"))
    a("sync")
    x = Laptop("x", tmp_path)
    x("init")
    x("sync", "login", server.url, "--token", server.token("xavier", "x"))
    env = ("--site", "XY")
    x("site", "add", "XY", "--name", "新庄 Xinzhuang", "--tz", "Asia/Shanghai")
    x(*env, "staff", "add", "X1", "--name", "钱七", "--role", "manager")
    x(*env, "grid", "add", "Z", "--name", "Z区", "--owner", "X1")
    x(*env, "pdca", "add", "XY 的整改 item of XY", "--severity", "minor", "--grid", "Z")
    x("sync")
    return a


def test_a_bi_role_reads_the_views_of_its_sites_only(server: Server, two_sites: Laptop):
    import psycopg

    if not server.database_url.startswith("postgresql"):
        r = server_cli(server.database_url, "bi-role", "bi_x", "--sites", "CH", ok=False)
        assert r.exit_code == 1 and "need the server on PostgreSQL" in r.output
        return
    role, schema = f"bi_{uuid.uuid4().hex[:10]}", f"rep_{uuid.uuid4().hex[:10]}"
    try:
        r = server_cli(
            server.database_url,
            "bi-role",
            role,
            "--sites",
            "CH",
            "--schema",
            schema,
            "--json",
            stdin="s3cret-'pw\n",
        )
        rec = json.loads(r.stdout)
        assert rec["sites"] == ["CH"] and "kpi_grid_month" in rec["views"]
        base = server.database_url.split("search_path%3D")[1]
        with psycopg.connect(PG_URL, user=role) as conn:
            q = conn.execute
            assert [r[0] for r in q(f"SELECT site FROM {schema}.sites")] == ["CH"]
            assert {r[0] for r in q(f"SELECT DISTINCT site FROM {schema}.items")} == {"CH"}
            assert q(f"SELECT count(*) FROM {schema}.grids").fetchone()[0] == 41
            days = q(
                f"SELECT kpi, sum(numerator), sum(denominator) FROM {schema}.kpi_site_day "
                f"GROUP BY kpi ORDER BY kpi"
            ).fetchall()
            assert {d[0] for d in days} >= {"inspections", "steps_passed"}
            month = {g[0] for g in q(f"SELECT DISTINCT grid FROM {schema}.kpi_grid_month")}
            mine = {g[0] for g in q(f"SELECT grid FROM {schema}.grids")}
            assert month - {None} and month - {None} <= mine
            # the record tables under the views: its sites' rows alone, even read directly
            assert q(f"SELECT count(DISTINCT site_id) FROM {base}.pdca").fetchone()[0] == 1
            assert [r[0] for r in q(f"SELECT site_id FROM {base}.bi_grant")] != []
            conn.rollback()
            for forbidden in (
                f"SELECT * FROM {base}.token",
                f"SELECT * FROM {base}.sync_change",
                f"SELECT * FROM {base}.step_result",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    q(forbidden)
                conn.rollback()
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                q(f"DELETE FROM {base}.pdca")
            conn.rollback()
        # the same role moved to XY sees XY alone
        server_cli(server.database_url, "bi-role", role, "--sites", "XY", "--schema", schema)
        with psycopg.connect(PG_URL, user=role) as conn:
            assert [r[0] for r in conn.execute(f"SELECT site FROM {schema}.sites")] == ["XY"]
            items = conn.execute(f"SELECT title, phase FROM {schema}.items").fetchall()
            assert items == [("XY 的整改 item of XY", "plan")]
        bad = server_cli(server.database_url, "bi-role", role, "--sites", "NOPE", ok=False)
        assert bad.exit_code == 3 and "no site NOPE" in bad.output
        bad = server_cli(
            server.database_url, "bi-role", "Robert'); DROP", "--sites", "CH", ok=False
        )
        assert bad.exit_code == 2 and "not a role name" in bad.output
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'DROP OWNED BY "{role}"')
                conn.execute(f'DROP ROLE "{role}"')
