"""SQL for BI tools (PostgreSQL): the `reporting` schema of views, one per KPI grain, and
read-only login roles that row-level security limits to the sites granted them.

The views are `security_invoker`, so a BI role reads through them with its own rights: it
may SELECT the views and the few record tables under them, and each of those tables has a
policy that shows a role only the rows of its sites (`bi_grant`). The server's own
connection owns the tables and is not limited; the server's other tables (tokens, the
change log, users) are never granted. `docs/reports.md` documents every view.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from pm_cli.errors import NotFoundError, PmError, UsageError

ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# the record tables under the views: each gets the site policy
TABLES = ("site", "grid", "staff", "kpi_day", "pdca", "pdca_event", "risk", "survey")

_RATE = "CASE WHEN sum(denominator) > 0 THEN sum(numerator) / sum(denominator) END"


def views(base: str) -> dict[str, str]:
    """name → SELECT, over the record tables in schema `base`."""
    b = f'"{base}"'
    per = (
        "SELECT site_id, site, {cols}, kpi, sum(numerator) AS numerator, "
        f"sum(denominator) AS denominator, {_RATE} AS rate FROM {{schema}}.kpi_day "
        "GROUP BY site_id, site, {cols}, kpi"
    )
    return {
        "sites": f"SELECT s.id AS site_id, s.code AS site, s.name, s.tz, s.address "
        f"FROM {b}.site s WHERE NOT s.deleted",
        "grids": f"SELECT g.site_id, s.code AS site, g.id AS grid_id, g.code AS grid, "
        f"g.name, p.code AS parent, g.risk_level, o.code AS owner "
        f"FROM {b}.grid g JOIN {b}.site s ON s.id = g.site_id "
        f"LEFT JOIN {b}.grid p ON p.id = g.parent_id "
        f"LEFT JOIN {b}.staff o ON o.id = g.owner_id WHERE NOT g.deleted",
        # the day-additive KPIs per site day, grid, service and staff (reports.rollup)
        "kpi_day": f"SELECT k.site_id, s.code AS site, k.day::date AS day, k.week, "
        f"substr(k.day, 1, 7) AS month, k.kpi, k.grid_id, g.code AS grid, "
        f"NULLIF(k.service, '') AS service, st.code AS staff, k.numerator, "
        f"k.denominator FROM {b}.kpi_day k JOIN {b}.site s ON s.id = k.site_id "
        f"LEFT JOIN {b}.grid g ON g.id = k.grid_id "
        f"LEFT JOIN {b}.staff st ON st.id = k.staff_id",
        "kpi_site_day": per.format(cols="day", schema="{schema}"),
        "kpi_site_month": per.format(cols="month", schema="{schema}"),
        "kpi_grid_month": per.format(cols="grid_id, grid, month", schema="{schema}"),
        "kpi_service_month": per.format(cols="service, month", schema="{schema}"),
        # improvement items with their phase now (the top (cycle, rank) transition)
        "items": f"SELECT i.site_id, s.code AS site, i.id AS item_id, i.no, i.title, "
        f"i.severity, i.source, g.code AS grid, o.code AS owner, i.created_at AS "
        f"found_at, i.respond_by, i.resolve_by, coalesce((SELECT e.to_phase FROM "
        f"{b}.pdca_event e WHERE e.pdca_id = i.id AND e.kind = 'transition' "
        f"ORDER BY coalesce(e.cycle, 1) DESC, array_position(ARRAY['plan', 'do', "
        f"'check', 'act', 'closed'], e.to_phase::text) DESC LIMIT 1), 'plan') AS "
        f"phase, EXISTS (SELECT 1 FROM {b}.pdca_event w WHERE w.pdca_id = i.id AND "
        f"w.kind = 'withdraw' AND (w.data ->> 'occurrence') IS NULL) AS withdrawn "
        f"FROM {b}.pdca i JOIN {b}.site s ON s.id = i.site_id "
        f"LEFT JOIN {b}.grid g ON g.id = i.grid_id "
        f"LEFT JOIN {b}.staff o ON o.id = i.owner_id WHERE NOT i.deleted",
        "risks": f"SELECT r.site_id, s.code AS site, r.code, r.title, g.code AS grid, "
        f"r.likelihood, r.impact, r.likelihood * r.impact AS score, CASE WHEN "
        f"r.likelihood * r.impact >= 15 THEN 'critical' WHEN r.likelihood * r.impact"
        f" >= 8 OR r.impact = 5 OR r.legal THEN 'major' ELSE 'minor' END AS level, "
        f"r.status, o.code AS owner FROM {b}.risk r JOIN {b}.site s ON s.id = "
        f"r.site_id LEFT JOIN {b}.grid g ON g.id = r.grid_id LEFT JOIN {b}.staff o "
        f"ON o.id = r.owner_id WHERE NOT r.deleted",
        "satisfaction": f"SELECT v.site_id, s.code AS site, v.day::date AS day, g.code AS "
        f"grid, v.asked, v.answered, v.satisfied FROM {b}.survey v JOIN "
        f"{b}.site s ON s.id = v.site_id LEFT JOIN {b}.grid g ON g.id = "
        f"v.grid_id WHERE NOT v.deleted",
    }


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def install(conn: sa.Connection, *, schema: str = "reporting") -> list[str]:
    """Create (or bring up to date) the views, the grants table and the site policies;
    the names of the views."""
    if conn.dialect.name != "postgresql":
        raise PmError(
            "BI views and roles need the server on PostgreSQL",
            where="--database-url",
            hint="SQLite has no roles: read /reports or /reports/SITE.csv instead",
        )
    if not ROLE.fullmatch(schema):
        raise UsageError(
            f"not a schema name: {schema!r}",
            where="--schema",
            hint="lower-case letters, digits and _",
        )
    base = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    b, r = _q(base), _q(schema)
    conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {r}"))
    conn.execute(
        sa.text(
            f"CREATE TABLE IF NOT EXISTS {b}.bi_grant (role_name text NOT NULL, site_id text NOT "
            f"NULL, PRIMARY KEY (role_name, site_id))"
        )
    )
    conn.execute(sa.text(f"ALTER TABLE {b}.bi_grant ENABLE ROW LEVEL SECURITY"))
    conn.execute(sa.text(f"DROP POLICY IF EXISTS pm_bi_own ON {b}.bi_grant"))
    conn.execute(
        sa.text(
            f"CREATE POLICY pm_bi_own ON {b}.bi_grant FOR SELECT USING (role_name = current_user)"
        )
    )
    for table in TABLES:
        column = "id" if table == "site" else "site_id"
        conn.execute(sa.text(f"ALTER TABLE {b}.{_q(table)} ENABLE ROW LEVEL SECURITY"))
        conn.execute(sa.text(f"DROP POLICY IF EXISTS pm_bi_sites ON {b}.{_q(table)}"))
        conn.execute(
            sa.text(
                f"CREATE POLICY pm_bi_sites ON {b}.{_q(table)} FOR SELECT USING ({column} IN "
                f"(SELECT site_id FROM {b}.bi_grant WHERE role_name = current_user))"
            )
        )
    made = views(base)
    for name, select in made.items():
        conn.execute(
            sa.text(
                f"CREATE OR REPLACE VIEW {r}.{_q(name)} WITH (security_invoker = true) AS "
                + select.replace("{schema}", r)
            )
        )
    return list(made)


def role(
    conn: sa.Connection,
    *,
    name: str,
    sites: list[str],
    schema: str = "reporting",
    password: str | None = None,
) -> dict[str, Any]:
    """Create or update the read-only role `name`, reading the views for `sites` (codes);
    the views are installed on the way."""
    from pm_cli.server import db

    if not ROLE.fullmatch(name):
        raise UsageError(
            f"not a role name: {name!r}",
            where="NAME",
            hint="lower-case letters, digits and _, at most 63",
        )
    codes = sorted({c.strip() for c in sites if c.strip()})
    if not codes:
        raise UsageError("give the sites the role may read", where="--sites", hint="--sites CH,XY")
    known = dict(
        conn.execute(
            sa.select(db.server_site.c.code, db.server_site.c.site_id).where(
                db.server_site.c.code.in_(codes)
            )
        ).all()
    )
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise NotFoundError(
            f"no site {', '.join(unknown)} on this server",
            where="--sites",
            hint="pm server site add CODE, or sync it first",
        )
    names = install(conn, schema=schema)
    base = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    b, r, who = _q(base), _q(schema), _q(name)
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
    if exists is None:
        conn.execute(
            sa.text(
                f"CREATE ROLE {who} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS"
            )
        )
    elif conn.execute(
        sa.text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :n"), {"n": name}
    ).scalar():
        raise PmError(
            f"role {name} is a superuser or bypasses row-level security",
            where="NAME",
            hint="give a new name: a BI role must be limited",
        )
    if password is not None:  # a utility statement takes no bound parameter: a literal
        conn.execute(sa.text(f"ALTER ROLE {who} PASSWORD '" + password.replace("'", "''") + "'"))
    conn.execute(sa.text(f"ALTER ROLE {who} SET default_transaction_read_only = on"))
    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {r} TO {who}"))
    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {b} TO {who}"))
    conn.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {r} TO {who}"))
    for table in (*TABLES, "bi_grant"):
        conn.execute(sa.text(f"GRANT SELECT ON {b}.{_q(table)} TO {who}"))
    conn.execute(sa.text(f"DELETE FROM {b}.bi_grant WHERE role_name = :n"), {"n": name})
    for code in codes:
        conn.execute(
            sa.text(f"INSERT INTO {b}.bi_grant (role_name, site_id) VALUES (:n, :s)"),
            {"n": name, "s": known[code]},
        )
    return {"role": name, "sites": codes, "schema": schema, "views": names}


def refresh(
    engine: sa.Engine, *, days: int = 400, sites: list[str] | None = None
) -> dict[str, int]:
    """Bring the per-day rollups of the last `days` days up to date for every site (or the
    codes given), a transaction each; the days counted again by site. /reports refreshes
    what it shows; a BI tool reads the tables as they are, so run this from cron."""
    from datetime import UTC, datetime, timedelta

    from sqlmodel import Session, select

    from pm_cli.reports import rollup
    from pm_cli.sites.models import Site

    now = datetime.now(UTC)
    out: dict[str, int] = {}
    with Session(engine) as s:
        stmt = select(Site).where(Site.deleted == False)  # noqa: E712
        if sites:
            stmt = stmt.where(Site.code.in_(sites))  # type: ignore[attr-defined]
        found = list(s.exec(stmt))
    missing = sorted(set(sites or []) - {x.code for x in found})
    if missing:
        raise NotFoundError(f"no site {', '.join(missing)} on this server", where="--sites")
    for site in found:
        with Session(engine) as s:
            out[site.code] = rollup.refresh(
                s, site=site, since=now - timedelta(days=days), until=now, now=now
            )
            s.commit()
    return out
