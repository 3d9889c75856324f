"""`pm route` as a site manager uses it: stops, schedules, windows, optimization."""

from __future__ import annotations

from pathlib import Path

TSPLIB = Path(__file__).resolve().parents[1] / "fixtures" / "tsplib"


def _square(pm):
    pm("grid", "add", "G", "--name", "园区")
    for code, x, y in (("A", 0, 0), ("B", 100, 0), ("C", 0, 100), ("D", 100, 100)):
        pm("checkpoint", "add", code, "--name", code, "--grid", "G", "--x", str(x), "--y", str(y))


def test_add_show_edit_and_refusals(pm, site):
    _square(pm)
    rec = pm.json(
        "route",
        "add",
        "R1",
        "--name",
        "夜巡 Night round",
        "--stops",
        "A,D,B,C",
        "--schedule",
        "daily@21:00",
        "--window",
        "21:00-23:30",
    )
    assert [s["checkpoint"] for s in rec["stops"]] == ["A", "D", "B", "C"]
    assert (rec["schedule"], rec["window"]) == ("FREQ=DAILY;BYHOUR=21;BYMINUTE=0", "21:00-23:30")
    rec = pm.json("route", "add", "R2", "--name", "全部", "--from-grid", "G")
    assert [s["checkpoint"] for s in rec["stops"]] == ["A", "B", "C", "D"]
    for args, msg in (
        (["--stops", "A,ZZ"], "no checkpoint ZZ"),
        (["--stops", "A", "--window", "25:00-26:00"], "HH:MM-HH:MM"),
        (["--stops", "A", "--schedule", "whenever"], "RRULE"),
        ([], "--stops CP1,CP2"),
    ):
        r = pm("route", "add", "R3", "--name", "x", *args, ok=False)
        assert r.exit_code in (1, 3) and msg in r.stderr, r.stderr
    r = pm("route", "add", "R1", "--name", "x", "--stops", "A", ok=False)
    assert "already exists" in r.stderr
    assert pm.json("route", "edit", "R1", "--stops", "B,A")["stops"][0]["checkpoint"] == "B"
    assert [r["code"] for r in pm.json("route", "list")] == ["R1", "R2"]


def test_optimize_shows_the_saving_and_applies(pm, site):
    _square(pm)
    pm("route", "add", "R1", "--name", "x", "--stops", "A,D,B,C")
    res = pm.json("route", "optimize", "R1")
    assert (res["before_m"], res["after_m"]) == (482.8, 400.0)
    assert res["saving_pct"] == 17.2 and not res["applied"]
    assert pm.json("route", "show", "R1")["stops"][1]["checkpoint"] == "D"  # not saved
    res = pm.json("route", "optimize", "R1", "--apply")
    assert res["applied"]
    order = [s["checkpoint"] for s in pm.json("route", "show", "R1")["stops"]]
    assert order == res["order"] and order[0] == "A"


def test_open_route_with_fixed_start_and_end(pm, site):
    _square(pm)
    pm("route", "add", "R1", "--name", "x", "--stops", "A,B,C,D")
    res = pm.json("route", "optimize", "R1", "--open", "--start", "B", "--end", "C")
    assert res["order"][0] == "B" and res["order"][-1] == "C" and not res["closed"]
    assert res["after_m"] == 341.4  # B → A → D → C (or B → D → A → C)
    r = pm("route", "optimize", "R1", "--start", "ZZ", ok=False)
    assert r.exit_code == 1 and "not a stop" in r.stderr


def test_asymmetric_matrix_file(pm, site, write_file):
    _square(pm)
    pm("route", "add", "R1", "--name", "x", "--stops", "A,B,C,D")
    # one-way doors: going round A→C→D→B→A is cheap, every other way round is dear
    m = {("A", "C"): 1, ("C", "D"): 1, ("D", "B"): 1, ("B", "A"): 1}
    codes = ["A", "B", "C", "D"]
    lines = [",".join(["", *codes])] + [
        ",".join([a, *[str(0 if a == b else m.get((a, b), 50)) for b in codes]]) for a in codes
    ]
    path = write_file("m.csv", "\n".join(lines) + "\n")
    res = pm.json("route", "optimize", "R1", "--matrix", str(path))
    assert (res["metric"], res["after_m"], res["order"]) == ("matrix", 4.0, ["A", "C", "D", "B"])
    bad = write_file("bad.csv", ",A,B\nA,0,x\nB,1\n")
    r = pm("route", "optimize", "R1", "--matrix", str(bad), ok=False)
    assert r.exit_code == 1
    assert f"{bad}:2: B: not a distance in metres: 'x'" in r.stderr
    assert f"{bad}:3: 1 cells, the header has 2" in r.stderr
    assert "no row and column for B, C, D" in r.stderr  # B's row is broken


def test_optimize_a_tsplib_route(pm, site):
    pm("grid", "add", "B52", "--name", "柏林")
    pm("import", str(TSPLIB / "berlin52.tsp"), "--kind", "checkpoints", "--grid", "B52")
    pm("route", "add", "BER", "--name", "Berlin", "--from-grid", "B52")
    res = pm.json("route", "optimize", "BER")
    assert res["after_m"] <= 7544.366 * 1.01  # the optimal tour, plain Euclidean
    assert sorted(res["order"]) == sorted(f"berlin52-{i:02d}" for i in range(1, 53))


def test_positions_are_needed_without_a_matrix(pm, site):
    pm("grid", "add", "G", "--name", "园区")
    pm("checkpoint", "add", "A", "--name", "a", "--grid", "G", "--x", "0", "--y", "0")
    pm("checkpoint", "add", "B", "--name", "b", "--grid", "G")
    pm("route", "add", "R", "--name", "x", "--stops", "A,B")
    r = pm("route", "optimize", "R", ok=False)
    assert r.exit_code == 1 and "none for B" in r.stderr and "--matrix" in r.stderr
