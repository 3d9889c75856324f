"""The handover's sign-off (交接班签字): kept with the shift, refused with a reason, accepted
once."""

from __future__ import annotations

import json

DAY = ("--date", "2026-11-03", "--shift", "day")


def sign(pm, *args: str, ok: bool = True):  # type: ignore[no-untyped-def]
    return pm("report", "daily", *DAY, "--handover", *args, ok=ok)


def test_the_receiver_refuses_with_a_reason_then_accepts_and_both_are_kept(pm, built):
    r = sign(pm, "--from", "S1", "--to", "S2", "--refuse", "钥匙未交 keys missing")
    assert "S2 refused the day shift of 2026-11-03 from S1: 钥匙未交" in r.stderr + r.stdout
    rep = json.loads(sign(pm, "--from", "S1", "--to", "S2", "--json").stdout)
    assert [(h["from"], h["to"], h["status"]) for h in rep["handover"]] == [
        ("S1", "S2", "refused"),
        ("S1", "S2", "accepted"),
    ]
    assert rep["handover"][0]["reason"] == "钥匙未交 keys missing"
    # the sign-off keeps what the report showed then
    assert rep["handover"][1]["summary"]["failures"] == 1
    assert rep["handover"][1]["summary"]["closed"] == 1
    # the report of that shift shows its sign-offs; another shift's has none
    again = json.loads(pm("report", "daily", *DAY, "--json").stdout)
    assert [h["status"] for h in again["handover"]] == ["refused", "accepted"]
    night = json.loads(
        pm("report", "daily", "--date", "2026-11-03", "--shift", "night", "--json").stdout
    )
    assert night["handover"] == []
    table = pm("report", "daily", *DAY).stdout
    assert "handover sign-off (2)" in table and "钥匙未交" in table


def test_a_shift_is_accepted_once(pm, built):
    sign(pm, "--from", "S1", "--to", "S2")
    r = sign(pm, "--from", "S1", "--to", "S2", ok=False)
    assert r.exit_code != 0 and "already handed over: S1 → S2" in r.stderr
    rep = json.loads(pm("report", "daily", *DAY, "--json").stdout)
    assert len(rep["handover"]) == 1


def test_bad_sign_offs_are_refused_with_what_to_do(pm, built):
    cases = [
        (("--from", "S1"), "a handover needs both leads"),
        (("--from", "S1", "--to", "S1"), "cannot hand over to themself"),
        (("--from", "S1", "--to", "NOBODY"), "NOBODY"),
        (("--from", "S1", "--to", "S2", "--refuse", "  "), "a refusal needs its reason"),
    ]
    for args, text in cases:
        r = sign(pm, *args, ok=False)
        assert r.exit_code != 0 and text in r.stderr, (args, r.stderr)
    r = pm("report", "daily", "--from", "S1", "--to", "S2", ok=False)
    assert r.exit_code == 2 and "add --handover" in r.stderr
    r = pm(
        "report",
        "daily",
        "--date",
        "2099-01-01",
        "--shift",
        "day",
        "--handover",
        "--from",
        "S1",
        "--to",
        "S2",
        ok=False,
    )
    assert r.exit_code == 2 and "has not started yet" in r.stderr
    rep = json.loads(pm("report", "daily", *DAY, "--json").stdout)
    assert rep["handover"] == []


def test_the_server_rules_refuse_a_forged_sign_off():
    from pm_cli.protocol.rules import problems

    def check(**fields) -> list[str]:
        return problems(
            {
                "entity": "handover",
                "record_id": "x",
                "op": "append",
                "fields": {
                    "created_at": "2026-11-25T00:00:00.000Z",
                    "day": "2026-11-25",
                    "from_id": "a",
                    "to_id": "b",
                    "at": "2026-11-25T12:00:00.000Z",
                    "summary": {},
                    **fields,
                },
            },
            create=True,
        )

    assert check(status="accepted") == []
    assert check(status="refused") == ["fields.reason: a refused handover needs its reason"]
    assert check(to_id="a") == ["fields.to_id: a handover goes to someone else"]
    assert any("fields.status" in p for p in check(status="signed"))
