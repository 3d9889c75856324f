"""Surveys and handover sign-offs are kept and synced (issue: reports, 3 and 4): made on one
laptop, they reach the server's typed tables and the other laptops, and reports read the same
figures everywhere; the server refuses forged ones."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sync.test_security import change, creds, site_id_of
from tests.sync.test_sync import setup_site


def test_surveys_and_sign_offs_reach_every_laptop_and_the_server_refuses_forgeries(
    laptop, server, tmp_path: Path
):
    a, b = laptop("a", "alice"), laptop("b", "bob")
    setup_site(a)
    survey = tmp_path / "survey.csv"
    survey.write_text(
        "日期,楼栋,调查户数,回收户数,满意户数\n2026-11-03,A,100,50,45\n"
        "2026-11-04,1号楼 Block 1,40,40,30\n",
        encoding="utf-8",
    )
    a("import", str(survey), "--kind", "survey")
    a(
        "report",
        "daily",
        "--date",
        "2026-11-03",
        "--shift",
        "day",
        "--handover",
        "--from",
        "S1",
        "--to",
        "S2",
        "--refuse",
        "交接本未签 log not signed",
    )
    a("sync")
    b("sync")
    args = ("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-07", "--json")
    sat = [
        {k["kpi"]: k for k in json.loads(lp(*args).stdout)["kpis"]}["satisfaction"] for lp in (a, b)
    ]
    assert sat[0] == sat[1] and (sat[0]["numerator"], sat[0]["denominator"]) == (75, 90)
    # bob, on his laptop, signs the same shift again: both sign-offs everywhere
    b(
        "report",
        "daily",
        "--date",
        "2026-11-03",
        "--shift",
        "day",
        "--handover",
        "--from",
        "S1",
        "--to",
        "S2",
    )
    b("sync")
    a("sync")
    shift = ("report", "daily", "--date", "2026-11-03", "--shift", "day", "--json")
    got = [
        [(h["status"], h["reason"]) for h in json.loads(lp(*shift).stdout)["handover"]]
        for lp in (a, b)
    ]
    assert got[0] == got[1] == [("refused", "交接本未签 log not signed"), ("accepted", None)]
    # forged: a refusal without its reason, a survey answered by more than were asked, a
    # handover to staff of no site the token holds
    h, device = creds(b)
    ch = site_id_of(a)
    staff = {code: i for i, code in a.rows("staff", "id", "code")}
    bad = [
        change(
            ch,
            device,
            entity="handover",
            op="append",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "day": "2026-11-25",
                "from_id": staff["S1"],
                "to_id": staff["S2"],
                "status": "refused",
                "at": "2026-11-25T12:00:00.000Z",
                "summary": {},
            },
        ),
        change(
            ch,
            device,
            entity="survey",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "day": "2026-11-25",
                "asked": 10,
                "answered": 20,
                "satisfied": 5.0,
                "scores": {},
            },
        ),
        change(
            ch,
            device,
            entity="handover",
            op="append",
            fields={
                "created_at": "2026-11-25T00:00:00.000Z",
                "day": "2026-11-25",
                "from_id": staff["S1"],
                "to_id": "00000000-0000-0000-0000-000000000000",
                "status": "accepted",
                "at": "2026-11-25T12:00:00.000Z",
                "summary": {},
            },
        ),
    ]
    good = change(
        ch,
        device,
        entity="survey",
        fields={
            "created_at": "2026-11-25T00:00:00.000Z",
            "day": "2026-11-25",
            "asked": 10,
            "answered": 8,
            "satisfied": 8.0,
            "scores": {},
        },
    )
    r = server.http.post(server.url + "/sync/push", json={"changes": [*bad, good]}, headers=h)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["rejected"] * 3 + ["applied"]
    why = [" ".join(x["where"]) for x in results[:3]]
    assert "a refused handover needs its reason" in why[0]
    assert "more than the 10 asked" in why[1]
    assert "fields.to_id" in why[2]
    a("sync")
    assert len(json.loads(a(*shift).stdout)["handover"]) == 2
    assert len(json.loads(a("export", "survey", "--format", "json").stdout)) == 3
