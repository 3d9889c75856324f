"""Head office on the web (`/reports` on the sync server), over SQLite and PostgreSQL: the same
figures as `pm report` on the laptop that synced them, read with the sync tokens and their
site grants (a bearer header, or a browser's session cookie made from a token once)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import Laptop, Server, admin


@pytest.fixture
def synced(server: Server, tmp_path: Path) -> Laptop:
    """The demo site CH built on a laptop and synced by alice (manager of CH)."""
    lp = Laptop("a", tmp_path)
    lp("demo")
    lp("sync", "login", server.url, "--token", server.token("alice", "a"))
    lp("sync")
    return lp


def bearer(server: Server, user: str, device: str = "script") -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(user, device)}"}


def test_the_site_json_and_csv_hold_the_laptops_figures(server: Server, synced: Laptop):
    h = bearer(server, "alice")
    args = ("--from", "2026-11-01", "--to", "2026-11-30")
    query = "?from=2026-11-01&to=2026-11-30"
    r = server.http.get(f"{server.url}/reports/CH.json{query}", headers=h)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    got = r.json()
    score = synced.json("report", "score", *args)
    kpi = synced.json("report", "kpi", *args, "--by", "grid")
    assert (got["score"], got["band"]) == (score["score"], score["band"])
    assert got["lines"] == score["lines"] and got["deductions"] == score["deductions"]
    assert got["kpis"] == kpi["kpis"]
    mine = {g["grid"]: g["kpis"] for g in kpi["groups"]}
    assert {g["grid"]: g["kpis"] for g in got["kpis_by_grid"]} == {
        k: [x for x in v if x["denominator"]] for k, v in mine.items()
    }
    r = server.http.get(f"{server.url}/reports/CH.csv{query}", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    site_rows = {x["kpi"]: x for x in rows if x["grid"] == ""}
    assert set(site_rows) == {k["kpi"] for k in kpi["kpis"]}
    first = kpi["kpis"][0]
    assert (
        float(site_rows[first["kpi"]]["numerator"]),
        float(site_rows[first["kpi"]]["denominator"]),
    ) == (first["numerator"], first["denominator"])
    assert {x["grid"] for x in rows} - {""} == set(mine) - {"—"} | (
        {"—"} if any(g["grid"] == "—" for g in got["kpis_by_grid"]) else set()
    )
    # a grid split by service, as HTML
    grid = next(g["grid"] for g in got["grids"] if g["grid"] != "—")
    r = server.http.get(f"{server.url}/reports/CH/grid/{grid}{query}", headers=h)
    assert r.status_code == 200 and "By service" in r.text


def test_reports_are_read_only_by_grant_and_refuse_what_is_wrong(server: Server, synced: Laptop):
    url = server.url
    assert server.http.get(f"{url}/reports/CH.json").status_code == 401
    r = server.http.get(f"{url}/reports/CH.json", headers={"Authorization": "Bearer pmt_x"})
    assert r.status_code == 401 and r.json()["message"] == "unknown token"
    # xavier holds XY only: CH is a site that is not there for him, in every form
    x = bearer(server, "xavier")
    for path in ("/reports/CH.json", "/reports/CH.csv", "/reports/CH", "/reports/CH/grid/A"):
        r = server.http.get(url + path, headers=x)
        assert r.status_code == 404, (path, r.status_code)
    assert (
        "no site CH among yours"
        in server.http.get(f"{url}/reports/CH.json", headers=x).json()["message"]
    )
    r = server.http.get(f"{url}/reports", headers=x)
    assert r.status_code == 200 and "翠湖花园" not in r.text and "XY" in r.text  # not synced
    h = bearer(server, "alice")
    r = server.http.get(f"{url}/reports/CH.json?from=2026-13-40", headers=h)
    assert r.status_code == 400 and r.json()["where"] == ["--from"]
    r = server.http.get(f"{url}/reports/CH.json?from=2026-12-01&to=2026-11-01", headers=h)
    assert r.status_code == 400 and "comes after" in r.json()["message"]
    r = server.http.get(f"{url}/reports/CH/grid/NOPE", headers=h)
    assert r.status_code == 404 and "NOPE" in r.text
    for method in ("post", "put", "delete"):
        assert getattr(server.http, method)(f"{url}/reports/CH.json", headers=h).status_code == 405


def _cookie(r: Any) -> str:
    return r.headers["set-cookie"]


def test_a_browser_signs_in_once_with_a_token_and_revoking_it_ends_the_session(
    server: Server, synced: Laptop
):
    url = server.url
    page = server.http.get(f"{url}/reports")
    assert page.status_code == 401 and 'name="token"' in page.text  # the sign-in form
    bad = server.http.post(
        f"{url}/reports/login",
        content=b"token=pmt_nope",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 401 and "unknown token" in bad.text
    assert "set-cookie" not in bad.headers
    tok = server.token("alice", "browser")
    r = server.http.post(f"{url}/reports/login", data={"token": tok})
    assert r.status_code == 303 and r.headers["location"] == "/reports"
    cookie = _cookie(r)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/reports" in cookie
    assert tok not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    server.http.cookies.clear()
    jar = {"Cookie": f"pm_session={value}"}
    home = server.http.get(f"{url}/reports", headers=jar)
    assert home.status_code == 200 and "翠湖花园" in home.text and "/reports/CH" in home.text
    assert "alice" in home.text
    assert (
        server.http.get(f"{url}/reports?site=CH", headers=jar).headers["location"] == "/reports/CH"
    )
    site = server.http.get(f"{url}/reports/CH", headers=jar)
    assert site.status_code == 200 and "Grids" in site.text and "/reports/CH.csv" in site.text
    # the token is revoked: its session ends with it
    admin(server.database_url, "token", "revoke", "alice", "--device", "browser")
    again = server.http.get(f"{url}/reports/CH", headers=jar)
    assert again.status_code == 401 and "revoked" in again.text
    # signing out forgets the session
    r = server.http.post(f"{url}/reports/login", data={"token": server.token("alice", "b2")})
    value = _cookie(r).split(";")[0].split("=", 1)[1]
    server.http.cookies.clear()
    out = server.http.post(f"{url}/reports/logout", headers={"Cookie": f"pm_session={value}"})
    assert out.status_code == 303 and 'pm_session=""' in _cookie(out)
    server.http.cookies.clear()
    assert (
        server.http.get(f"{url}/reports", headers={"Cookie": f"pm_session={value}"}).status_code
        == 401
    )


def test_the_server_logs_no_token_sent_to_sign_in(
    server: Server, synced: Laptop, caplog: pytest.LogCaptureFixture
):
    tok = server.token("alice", "browser")
    with caplog.at_level("INFO", logger="pm.server.access"):
        server.http.post(f"{server.url}/reports/login", data={"token": tok})
    assert caplog.text and tok not in caplog.text
    assert json.dumps(caplog.text).count("pmt_") == 0


@pytest.mark.live
def test_head_office_in_a_real_browser_against_a_real_server(server: Server, synced: Laptop):
    """Headless Chromium against `pm server run` on loopback: sign in with a token, rank the
    sites, drill down site → grid → service; every request goes to the server alone."""
    from tests.browser import browser

    tok = server.token("alice", "chromium")
    origin = server.url
    with browser() as b:
        page = b.new_page()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        page.goto(f"{origin}/reports")
        assert "Sign in" in page.inner_text("body")
        page.fill("input[name=token]", tok)
        page.click("button")
        page.wait_for_url(f"{origin}/reports")
        text = page.inner_text("body")
        assert "Sites by score (1)" in text and "翠湖花园" in text and "alice" in text
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["pm_session"]["httpOnly"] and cookies["pm_session"]["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # no script can read the session
        page.click("a[href='/reports/CH']")
        page.wait_for_url(f"{origin}/reports/CH")
        text = page.inner_text("body")
        ov = server.http.get(
            f"{origin}/reports/CH.json", headers={"Authorization": f"Bearer {tok}"}
        ).json()
        assert str(ov["score"]) in text and "Grids" in text and "Overdue items" in text
        grid = next(g["grid"] for g in ov["grids"] if g["grid"] != "—")
        page.click(f"a[href='/reports/CH/grid/{grid}']")
        page.wait_for_url(f"{origin}/reports/CH/grid/{grid}")
        assert "By service" in page.inner_text("body")
        page.click("text=退出 Sign out")
        page.wait_for_url(f"{origin}/reports")
        assert "Sign in" in page.inner_text("body")
    assert asked and all(u.startswith(origin + "/") for u in asked), asked


def test_the_ranking_counts_ended_days_once_per_change_of_a_site(server: Server, synced: Laptop):
    import sqlalchemy as sa

    from pm_cli.server import db

    h = bearer(server, "alice")
    first = server.http.get(f"{server.url}/reports", headers=h)
    assert first.status_code == 200 and "the 30 days up to yesterday" in first.text
    engine = db.make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            ((since, until, seq, body, made),) = conn.execute(
                sa.select(
                    db.report_cache.c.since,
                    db.report_cache.c.until,
                    db.report_cache.c.seq,
                    db.report_cache.c.body,
                    db.report_cache.c.computed_at,
                )
            ).all()
        # the laptop's score of the same whole days
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        yesterday = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
        mine = synced.json(
            "report",
            "score",
            "--from",
            (yesterday - timedelta(days=29)).isoformat(),
            "--to",
            yesterday.isoformat(),
        )
        assert body["score"] == mine["score"] and body["site"] == "CH"
        assert str(mine["score"]) in first.text
        # read again: the stored row, unchanged
        server.http.get(f"{server.url}/reports", headers=h)
        with engine.connect() as conn:
            again = conn.execute(sa.select(db.report_cache.c.computed_at)).scalar_one()
        assert again == made
        # a change of the site arrives: its row is counted again
        synced("grid", "edit", "A", "--name", "A区 改名 renamed")
        synced("sync")
        server.http.get(f"{server.url}/reports", headers=h)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.report_cache.c.seq, db.report_cache.c.computed_at)
            ).all()
        assert len(rows) == 1 and rows[0][0] > seq and rows[0][1] >= again
        assert since < until
    finally:
        engine.dispose()
