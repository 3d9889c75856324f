"""A smoke test of the installed `pm`: every command at least once, each in a fresh process of
the installed console script (never typer's CliRunner, never `python -m pm_cli`, so nothing works
only because the test process happened to import it), with its own database, user config and
home under tmp_path.

One demo database is built with `pm --db X demo`; each group of commands that writes works on
a copy of it (the file and the `evidence/` store beside it). The sync group runs a real
`pm server run` on loopback over a SQLite server database and two laptops that make a field
conflict and a duplicate code, list them and settle them. Groups are independent and run side
by side in a small thread pool; the commands of a group run in order.

Every process fails the test on an unexpected exit code and on any traceback. The coverage
tests at the end fail when a command documented in docs/cli.md or present in the command tree
(`pm --help`) was not executed here, or when the tree has a command the docs do not list."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import resource  # CPU time of the pm processes, where the platform tells it
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

import httpx
import pexpect

ROOT = Path(__file__).resolve().parents[2]
TSPLIB = ROOT / "tests" / "fixtures" / "tsplib"
TRACEBACK = "Traceback (most recent call last)"
TIMEOUT = 120  # seconds for one pm process; they take about a second

EXECUTED: set[tuple[str, ...]] = set()  # command paths run, e.g. ("grid", "duty", "add")
# reported at the end of the run by tests/e2e/conftest.py
STATS: dict[str, float] = {"processes": 0, "wall": 0.0, "cpu": 0.0}
_lock = threading.Lock()


def pm_executable() -> str:
    """The console script of the pm installed beside this Python (what `pip install` made)."""
    exe = Path(sys.executable).parent / ("pm.exe" if os.name == "nt" else "pm")
    if exe.is_file():
        return str(exe)
    found = shutil.which("pm")
    assert found, "no installed pm console script: pip install '.[test]'"
    return found


# ---- the command tree ---------------------------------------------------------------------


def command_tree() -> Any:
    """The click command `pm --help` prints, every group built."""
    from pm_cli.app import command_tree as tree

    return tree()


def tree_paths(cmd: Any = None, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every runnable command path: the leaves, and groups that run on their own (`pm sync`)."""
    cmd = command_tree() if cmd is None else cmd
    subs = getattr(cmd, "commands", None)
    if subs is None:
        return {path}
    found = {path} if path and cmd.invoke_without_command else set()
    for name, sub in subs.items():
        found |= tree_paths(sub, (*path, name))
    return found


_TREE: list[Any] = []


def command_path(argv: list[str]) -> tuple[str, ...]:
    """The command an argv runs: walk the tree, skipping options (and their values) of the
    groups on the way, so `--db X --site CH --json grid tree` is ("grid", "tree")."""
    if not _TREE:
        _TREE.append(command_tree())
    cmd, path, i = _TREE[0], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            break
        if arg.startswith("-") and arg != "-":
            name = arg.split("=", 1)[0]
            opt = next(
                (
                    p
                    for p in cmd.params
                    if name in getattr(p, "opts", ()) or name in getattr(p, "secondary_opts", ())
                ),
                None,
            )
            takes_value = (
                opt is not None
                and "=" not in arg
                and not getattr(opt, "is_flag", False)
                and not getattr(opt, "count", False)
            )
            i += 2 if takes_value else 1
            continue
        subs = getattr(cmd, "commands", None)
        if subs is None or arg not in subs:
            break
        cmd = subs[arg]
        path.append(arg)
        i += 1
    return tuple(path)


def documented_paths() -> set[tuple[str, ...]]:
    """The command paths of docs/cli.md: each backticked `pm …` in the first cell of a table
    row. Words are taken while they name a command: into a group's subcommands, stopping at a
    leaf (its arguments follow) or at the first argument, option or placeholder; a word a
    group does not know is kept, so a documented command that does not exist fails."""
    tree = command_tree()
    found: set[tuple[str, ...]] = set()
    for line in (ROOT / "docs" / "cli.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `pm"):
            continue
        first_cell = re.split(r"(?<!\\)\|", line)[1]
        for snippet in re.findall(r"`(pm(?: [^`]*)?)`", first_cell):
            cmd: Any = tree
            path: list[str] = []
            for word in snippet.split()[1:]:
                if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
                    break
                subs = getattr(cmd, "commands", None)
                if subs is None:
                    break  # a leaf (or an unknown word): the rest are arguments
                cmd = subs.get(word)
                path.append(word)
            found.add(tuple(path))
    return found


# ---- running pm ---------------------------------------------------------------------------


def describe(argv: list[str], code: int | None, stdout: str, stderr: str, why: str) -> str:
    return (
        f"{why}\n$ pm {shlex.join(argv)}\nexit code: {code}\n"
        f"--- stdout\n{stdout}\n--- stderr\n{stderr}"
    )


def record(argv: list[str]) -> None:
    path = command_path(argv)
    with _lock:
        EXECUTED.add(path)
        STATS["processes"] += 1


@dataclass
class Result:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except ValueError as e:
            raise AssertionError(
                describe(
                    self.argv,
                    self.code,
                    self.stdout,
                    self.stderr,
                    f"stdout is not one JSON document: {e}",
                )
            ) from None


class Machine:
    """A laptop (or an admin's shell): its own directory, database, user config, home and XDG
    directories; no PM_* variable of the test's own environment leaks in."""

    def __init__(self, root: Path, *, site: str | None = "CH"):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.db = root / "pm.db"
        self.config = root / "config.toml"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PM_", "XDG_")) and k not in ("PYTHONPATH", "COLUMNS", "LINES")
        }
        env.update(
            PM_DB=str(self.db),
            PM_CONFIG=str(self.config),
            HOME=str(root / "home"),
            XDG_CONFIG_HOME=str(root / "xdg-config"),
            XDG_DATA_HOME=str(root / "xdg-data"),
            XDG_CACHE_HOME=str(root / "xdg-cache"),
            XDG_STATE_HOME=str(root / "xdg-state"),
        )
        if site:
            env["PM_SITE"] = site
        self.env = env

    def __call__(self, *args: Any, code: int | tuple[int, ...] = 0) -> Result:
        """Run `pm ARGS` with stdin not a terminal (as in a script)."""
        argv = [str(a) for a in args]
        record(argv)
        p = subprocess.run(
            [PM, *argv],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT,
        )
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if TRACEBACK in out or TRACEBACK in err:
            raise AssertionError(describe(argv, p.returncode, out, err, "a traceback"))
        expected = code if isinstance(code, tuple) else (code,)
        if p.returncode not in expected:
            raise AssertionError(
                describe(
                    argv, p.returncode, out, err, f"exit code {p.returncode}, expected {expected}"
                )
            )
        return Result(argv, p.returncode, out, err)

    def json(self, *args: Any, code: int | tuple[int, ...] = 0) -> Any:
        """Run with --json (added unless given) and parse stdout."""
        if "--json" not in args:
            args = (*args, "--json")
        return self(*args, code=code).json()

    def interact(self, *args: Any, script: list[tuple[str, str]], code: int = 0) -> str:
        """Run on a pseudo-terminal: for each (pattern, line) wait for the pattern and type the
        line; then the process must end with `code` and no traceback. Returns the screen."""
        argv = [str(a) for a in args]
        record(argv)
        screen = io.StringIO()
        child = pexpect.spawn(
            PM,
            argv,
            env=self.env,
            cwd=str(self.root),
            encoding="utf-8",
            timeout=60,
            dimensions=(40, 120),
        )
        child.logfile_read = screen
        try:
            for pattern, line in script:
                child.expect(pattern)
                child.sendline(line)
            child.expect(pexpect.EOF)
        except pexpect.ExceptionPexpect as e:
            child.kill(signal.SIGKILL)
            raise AssertionError(
                describe(argv, None, screen.getvalue(), "", f"on the terminal: {type(e).__name__}")
            ) from None
        finally:
            child.close()
        text = screen.getvalue()
        if TRACEBACK in text:
            raise AssertionError(describe(argv, child.exitstatus, text, "", "a traceback"))
        if child.exitstatus != code:
            raise AssertionError(
                describe(
                    argv,
                    child.exitstatus,
                    text,
                    "",
                    f"exit code {child.exitstatus}, expected {code}",
                )
            )
        return text


PM = pm_executable()


def copy_demo(demo: Path, dest: Path) -> Path:
    """A copy of the demo directory (the database, any -wal beside it, evidence/)."""
    shutil.copytree(demo, dest)
    return dest


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sync_server(admin: Machine, database_url: str) -> Iterator[str]:
    """`pm server run` in a process group of its own, until /health answers; on the way out
    the group is stopped (TERM, then KILL) and its log must hold no traceback."""
    port = free_port()
    argv = [
        "server",
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        database_url,
    ]
    record(argv)
    log = admin.root / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [PM, *argv],
            env=admin.env,
            cwd=admin.root,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    describe(argv, proc.returncode, log.read_text("utf-8"), "", "the server exited")
                )
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    describe(
                        argv, None, log.read_text("utf-8"), "", "the server did not answer /health"
                    )
                )
            time.sleep(0.1)
        yield url
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
    text = log.read_text("utf-8", "replace")
    if TRACEBACK in text:
        raise AssertionError(describe(argv, proc.returncode, text, "", "a traceback"))


# ---- the groups ---------------------------------------------------------------------------


def group_database_sites_staff(demo: Path, tmp: Path) -> None:
    m = Machine(copy_demo(demo, tmp / "core"), site=None)
    m("site", "use", "CH")  # the current site from now on, kept in this machine's config
    assert "CH" in m.config.read_text(encoding="utf-8")
    m("db", "migrate")
    assert m.json("db", "check")
    backup = m.root / "backup.db"
    m("db", "backup", backup)
    assert backup.stat().st_size > 0
    m(
        "site",
        "add",
        "XY",
        "--name",
        "西苑 West Garden",
        "--tz",
        "Asia/Shanghai",
        "--address",
        "苏州",
    )
    m("site", "edit", "XY", "--name", "西苑", "--address", "苏州市西环路1号")
    assert {s["code"] for s in m.json("site", "list")} >= {"CH", "XY"}
    assert m.json("site", "show", "XY")["address"] == "苏州市西环路1号"
    m(
        "staff",
        "add",
        "T99",
        "--name",
        "测试员",
        "--role",
        "技术员",
        "--phone",
        "13800000099",
        "--team",
        "工程部",
    )
    assert "T99" in [s["code"] for s in m.json("staff", "list", "--role", "tech")]
    m("staff", "edit", "T99", "--team", "环境部")
    m("staff", "use", "T99")
    me = m.json("staff", "show")  # "me" by default
    assert (me["code"], me["team"]) == ("T99", "环境部")
    m("staff", "remove", "T99")


def group_grids_checkpoints_routes(demo: Path, tmp: Path) -> None:
    m = Machine(copy_demo(demo, tmp / "grids"))
    m(
        "grid",
        "add",
        "Z",
        "--name",
        "测试区 Test zone",
        "--parent",
        "G",
        "--owner",
        "T01",
        "--risk",
        "major",
        "--tag",
        "测试",
        "--duty",
        "每日巡查",
    )
    m("grid", "assign", "Z", "T02")
    m("grid", "duty", "add", "Z", "每周检查消防通道")
    assert len(m.json("grid", "duty", "list", "Z")) == 2
    m("grid", "duty", "remove", "Z", "1")
    g = m.json("grid", "show", "Z")
    assert (g["owner"], g["parent"], g["tags"]) == ("T02", "G", ["测试"])
    assert g["responsibilities"] == ["每周检查消防通道"]
    assert "Z" in [x["code"] for x in m.json("grid", "list", "--parent", "G")]
    m("--site", "CH", "--json", "grid", "tree", "G").json()
    m("grid", "heatmap", "--days", "7")

    m(
        "checkpoint",
        "add",
        "CP-Z1",
        "--name",
        "测试点 Test point",
        "--grid",
        "Z",
        "--x",
        "10",
        "--y",
        "20",
        "--tag-uid",
        "QR-Z1",
        "--tag",
        "测试",
    )
    m("checkpoint", "edit", "CP-Z1", "--x", "12")
    assert m.json("checkpoint", "show", "CP-Z1")["x"] == 12.0
    assert [c["code"] for c in m.json("checkpoint", "list", "--grid", "Z")] == ["CP-Z1"]

    m(
        "route",
        "add",
        "R-Z",
        "--name",
        "测试路线 Test round",
        "--stops",
        "CP-Z1,CP-A01,CP-B01",
        "--playbook",
        "security.patrol",
        "--schedule",
        "daily@08:00",
        "--window",
        "08:00-10:00",
    )
    m("route", "edit", "R-Z", "--owner", "T07")
    shown = m.json("route", "show", "R-Z")
    assert [s["checkpoint"] for s in shown["stops"]] == ["CP-Z1", "CP-A01", "CP-B01"]
    assert {"DAY-1", "NIGHT-1", "R-Z"} <= {r["code"] for r in m.json("route", "list")}
    opt = m.json("route", "optimize", "DAY-1")
    assert opt["after_m"] <= opt["before_m"]
    assert isinstance(m.json("route", "missed", "--since", "-7"), list)
    screen = m.interact(
        "route",
        "run",
        "R-Z",
        "--by",
        "T07",
        script=[
            ("Enter when you are at CP-Z1", ""),  # arrived at the first stop: security.patrol
            ("Enter when you are at CP-A01", "q"),  # is a whole-route playbook, done at the last
        ],
    )
    assert "stop 1/3" in screen and "paused walk" in screen
    paused = m.json("route", "walks", "--open", "R-Z")[0]["walk"]
    m("route", "abandon", paused, "--reason", "测试 test")
    w = m.json("route", "start", "R-Z", "--by", "T07")["walk"]
    m("route", "arrive", w, "1")
    m("route", "skip", w, "CP-A01", "--reason", "施工 works")
    run = m.json("route", "arrive", w, "3")["run"]
    m("run", "record", run, "patrol-route", "--value", "0")
    m("run", "record", run, "fire-points", "pass")
    m("run", "record", run, "e-bikes", "pass")
    assert m.json("route", "finish", w)["status"] == "incomplete"
    m("route", "remove", "R-Z")
    m("checkpoint", "remove", "CP-Z1")
    m("grid", "remove", "Z")

    assert m.json("today", "--by", "T07")["site"] == "CH"
    ics = m.root / "pm.ics"
    m("schedule", "export", "--ics", ics)
    assert ics.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")


GATE_V1 = """\
id: smoke.gate-check
version: 1
title: 门岗检查 Gate check (smoke)
service: security
estimated_minutes: 5
steps:
  - id: door
    title: 门禁 Door
    instruction: 检查门禁 / Check the door
    acceptance: 正常 / Works
    severity: major
  - id: log
    title: 登记 Log
    instruction: 查看登记本 / Look at the visitor log
    acceptance: 已登记 / Complete
    severity: minor
"""

GATE_V2 = (
    GATE_V1.replace("version: 1", "version: 2")
    + """\
  - id: barrier
    title: 道闸 Barrier
    instruction: 抬杆落杆各一次 / Raise and lower the barrier once
    acceptance: 动作正常 / Moves freely
    kind: check
"""
)


def group_playbooks_runs(demo: Path, tmp: Path) -> None:
    m = Machine(copy_demo(demo, tmp / "runs"))
    books = m.json("playbook", "list")
    assert sum(p["steps"] for p in books) == 98, books
    assert [s["id"] for s in m.json("playbook", "show", "water.daily")["steps"]] == [
        "access",
        "readings",
        "chlorine",
    ]
    assert json.loads(m("playbook", "schema").stdout)["$schema"].startswith("https://json-schema")
    m("playbook", "import", write(m.root / "gate.yaml", GATE_V1))
    v2 = write(m.root / "gate-v2.yaml", GATE_V2)
    m("playbook", "lint", v2)
    assert m.json("playbook", "diff", v2)["added"] == ["barrier"]

    run = m.json("run", "start", "water.daily", "--grid", "B-MEP-PP", "--by", "T05")["short"]
    photo = m.root / "dpd.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0smoke-test-jpeg")
    m("run", "record", run, "chlorine", "--value", "0.3", "--photo", photo, "--note", "末端龙头")
    screen = m.interact(
        "run", "resume", run, script=[(r"step 1/3 · access", "q")]
    )  # at the first unanswered step
    assert "paused" in screen
    m("run", "finish", run, "--incomplete", "--reason", "停电 power cut")
    shown = m.json("run", "show", run)
    assert (shown["status"], shown["answered"]) == ("incomplete", 1), shown
    assert list((m.root / "evidence").rglob("*.jpg")), "the photo is in the evidence store"

    answers = write(
        m.root / "answers.yaml",
        "- {step: access, outcome: pass}\n- {step: readings, value: 100}\n"
        "- {step: chlorine, value: 3, photo: dpd.jpg}\n",
    )
    done = m.json(
        "run", "start", "water.daily", "--grid", "A-MEP-PP", "--by", "T05", "--answers", answers
    )
    assert (done["status"], done["failed"]) == ("finished", ["chlorine"]), done  # 3 > 2 mg/L
    assert done["short"] in [
        r["short"] for r in m.json("run", "list", "--failed", "--grid", "A-MEP-PP")
    ]
    mistake = m.json("run", "start", "water.daily", "--grid", "A-MEP-PP", "--by", "T05")["short"]
    m("run", "cancel", mistake, "--reason", "选错网格 wrong grid")
    assert m.json("run", "show", mistake)["status"] == "aborted"


def group_pdca_risks(demo: Path, tmp: Path) -> None:
    m = Machine(copy_demo(demo, tmp / "pdca"))
    item = m.json(
        "pdca",
        "add",
        "消防通道堆放杂物",
        "--severity",
        "major",
        "--grid",
        "A",
        "--source",
        "complaint:12345",
        "--description",
        "1号楼北侧",
    )
    no = str(item["no"])
    m("pdca", "advance", no, "--to", "do", "--plan", "立即清理，加装禁停标识")
    m("pdca", "assign", no, "T03")
    m("pdca", "comment", no, "已通知保洁")
    m("pdca", "edit", no, "--root-cause", "无人值守", "--preventive", "纳入每日巡查")
    shown = m.json("pdca", "show", no)
    assert (shown["phase"], shown["owner"], shown["root_cause"]) == ("do", "T03", "无人值守")
    closed = [i for i in m.json("pdca", "list", "--all") if i["phase"] == "closed"]
    assert closed, "the demo has a closed item"
    m("pdca", "reopen", closed[0]["ref"], "--note", "复发")
    wrong = str(m.json("pdca", "add", "误报 raised in error", "--severity", "minor")["no"])
    m("pdca", "cancel", wrong, "--reason", "重复 duplicate")
    assert wrong not in [str(i["no"]) for i in m.json("pdca", "list")]
    assert isinstance(m.json("pdca", "overdue"), list)
    assert m.json("pdca", "sla")

    m(
        "risk",
        "add",
        "R-Z",
        "--title",
        "测试风险 Test risk",
        "--likelihood",
        "2",
        "--impact",
        "3",
        "--grid",
        "A",
        "--controls",
        "巡查",
        "--review",
        "FREQ=MONTHLY",
        "--owner",
        "M01",
        "--cause",
        "老化",
        "--consequence",
        "停水",
    )
    m("risk", "assess", "R-Z", "-l", "3", "-i", "4", "--note", "复评")
    m("risk", "review", "R-Z", "--note", "复查")
    assert m.json("risk", "show", "R-Z")["level"] == "major"
    assert "R-Z" in [r["code"] for r in m.json("risk", "list", "--level", "major")]
    m.json("risk", "import-library")
    m("risk", "heatmap")


FIRE_TIMELINE = """\
started: DAYT14:00+08:00
participants: 30
kind: full-scale
events:
  - {milestone: first_responder, at: '14:01'}
  - {milestone: micro_station, at: '14:03'}
  - {milestone: call_119, at: '14:03'}
  - {milestone: reinforcements, at: '14:05'}
  - {milestone: evacuated, at: '14:09'}
  - {milestone: headcount, at: '14:10'}
  - {milestone: all_clear, at: '14:20', note: 全部清点完毕}
findings:
  - {text: 2单元疏散指示灯不亮, severity: major}
"""  # DAY: a date in the last months (drills are in the past); a time alone is on that day


def group_drills(demo: Path, tmp: Path) -> None:
    m = Machine(copy_demo(demo, tmp / "drills"))
    assert "fire" in [s["id"] for s in m.json("drill", "scenarios")]
    m("drill", "plan", "D-X", "--scenario", "fire", "--title", "计划错了 planned by mistake")
    m("drill", "unplan", "D-X")
    assert "D-X" not in [d["code"] for d in m.json("drill", "list")]
    m("drill", "plan", "D-Z", "--scenario", "fire", "--grid", "A", "--title", "测试演练")
    m("drill", "schedule", "D-Z", "FREQ=MONTHLY;INTERVAL=3")
    assert "D-Z" in [d["code"] for d in m.json("drill", "list")]
    assert isinstance(m.json("drill", "due"), list)
    today = datetime.date.today()
    live, paper = (today - datetime.timedelta(days=d) for d in (20, 50))
    run = m.json(
        "drill",
        "start",
        "D-Z",
        "--at",
        f"{live} 14:00",
        "--participants",
        "12",
        "--kind",
        "tabletop",
        "--roster",
        "林峰",
    )["short"]
    m("drill", "event", run, "first_responder", "--at", "14:02", "--note", "到场")
    m("drill", "finding", run, "消防栓箱门锈死", "--severity", "major", "--grid", "A")
    m("drill", "finish", run, "--at", "14:30", "--incomplete")
    m(
        "drill",
        "record",
        "D-Z",
        "--timeline",
        write(m.root / "drill.yaml", FIRE_TIMELINE.replace("DAY", str(paper))),
    )
    assert len(m.json("drill", "show", "D-Z")["runs"]) == 2
    assert run in [r["short"] for r in m.json("drill", "runs", "--scenario", "fire")]
    for fmt in ("md", "html", "json"):
        out = m.root / f"report.{fmt}"
        m("drill", "report", run, "--format", fmt, "-o", out)
        assert out.stat().st_size > 0
    json.loads((m.root / "report.json").read_text(encoding="utf-8"))
    m("drill", "trend", "fire", "--milestone", "evacuated")


def group_reports(demo: Path, tmp: Path) -> None:
    m = Machine(copy_demo(demo, tmp / "reports"))
    k = m.json("report", "kpi", "--from", "-30")
    assert len(k["kpis"]) == 11 and all("numerator" in x for x in k["kpis"])
    by = m.json("report", "kpi", "--by", "grid")
    assert by["by"] == "grid" and by["groups"]
    s = m.json("report", "score", "--by", "grid")
    assert s["score"] is not None and s["groups"]
    explained = m("report", "score", "--explain").stdout
    assert explained.splitlines()[-1].startswith("score ")
    out = m.root / "score.xlsx"
    m("report", "score", "--xlsx", "-o", out)
    assert out.stat().st_size > 0
    assert m("report", "kpi", "--csv").stdout.startswith("\ufeffkpi,label")
    d = m.json("report", "daily", "--date", "yesterday", "--shift", "day")
    assert d["shift"] == "day" and "next" in d
    assert m("report", "daily", "--md").stdout.startswith("# handover of CH")
    snap = m.json("dashboard")
    assert snap["site"] == "CH" and len(snap["trend"]) == 6
    assert "hottest grids" in m("dashboard", "--once").stdout
    survey = write(
        m.root / "survey.csv",
        f"日期,网格,调查户数,回收户数,满意户数\n{datetime.date.today().isoformat()},A,50,40,36\n",
        bom=True,
    )
    assert m.json("import", survey, "--kind", "survey")["created"] == 1
    sat = {x["kpi"]: x for x in m.json("report", "kpi")["kpis"]}["satisfaction"]
    assert sat["denominator"] == 40 and sat["rate"] == 0.9
    staff = [r["code"] for r in m.json("staff", "list")][:2]
    signed = m.json(
        "report",
        "daily",
        "--date",
        "yesterday",
        "--shift",
        "day",
        "--handover",
        "--from",
        staff[0],
        "--to",
        staff[1],
    )
    assert signed["handover"][-1]["status"] == "accepted"
    weights = write(m.root / "weights.yaml", "points:\n  complaints: 0\n")
    w = m.json("report", "score", "--weights", weights)
    assert "complaints" not in {ln["kpi"] for ln in w["lines"]}
    q = m.json("report", "quarter")
    assert q["items"]["by_source"] and q["top_risks"] and len(q["kpis"]) == 11
    assert m("report", "quarter", "--csv").stdout.startswith("\ufeffsummary (4)")
    for kind in ("kpi", "score", "daily", "quarter"):
        page = m.root / f"{kind}.html"
        m("report", kind, "--html", "-o", page)
        assert page.read_text(encoding="utf-8").startswith("<!doctype html>")


def group_transfer(demo: Path, tmp: Path) -> None:
    m = Machine(copy_demo(demo, tmp / "transfer"))
    files = {
        "sites": write(
            m.root / "sites.csv",
            "code,name,tz,address\nXZ,新庄 Xinzhuang,Asia/Shanghai,苏州市新庄路1号\n",
            bom=True,
        ),
        "staff": write(
            m.root / "staff.csv", "工号,姓名,角色,电话,班组\nT90,钱七,技术员,13800000090,工程部\n"
        ),
        "grids": write(
            m.root / "grids.csv",
            "编码,名称,上级,责任人,风险等级,标签,责任清单\n"
            "Z,Z区 Zone Z,,T90,重要,住宅;高层,每日巡查\n"
            "Z-1,Z区1号楼,Z,T90,一般,住宅,保洁；门禁检查\n",
        ),
        "checkpoints": write(
            m.root / "cp.csv",
            "code,name,grid,x,y,tag_uid,tags\n"
            "CP-Z1,北门 North gate,Z,0,0,QR-Z1,门岗\n"
            "CP-Z2,花园 Garden,Z-1,30.5,40,,绿化;保洁\n",
        ),
        "risks": write(
            m.root / "risks.csv",
            "code,title,grid,likelihood,impact,controls\n"
            "R-Z,地库进水 Garage flooding,Z,3,5,挡水板\n",
        ),
        "items": write(
            m.root / "items.csv", "no,title,severity,grid,source\n,Z区路灯不亮,minor,Z-1,manual\n"
        ),
    }
    for kind, path in files.items():
        rec = m.json("import", path, "--kind", kind)
        assert rec["created"] >= 1, (kind, rec)
    m("import", TSPLIB / "eil51.tsp", "--kind", "checkpoints", "--grid", "Z-1")

    outs = {
        "sites": "csv",
        "staff": "yaml",
        "grids": "json",
        "checkpoints": "json",
        "risks": "yaml",
        "items": "csv",
    }
    for kind, fmt in outs.items():
        m("export", kind, "--format", fmt, "-o", m.root / f"out-{kind}.{fmt}")
    sites = (m.root / "out-sites.csv").read_bytes()
    assert sites.startswith(b"\xef\xbb\xbf") and "新庄".encode() in sites
    grids = json.loads((m.root / "out-grids.json").read_text(encoding="utf-8"))
    assert {"Z", "Z-1"} <= {g["code"] for g in grids}
    assert "钱七" in (m.root / "out-staff.yaml").read_text(encoding="utf-8")
    # what an export wrote reads back in (YAML), changing nothing
    again = m.json("import", m.root / "out-risks.yaml", "--kind", "risks", "--dry-run")
    assert again["created"] == 0, again


def group_sync(demo: Path, tmp: Path) -> None:
    admin = Machine(tmp / "server", site=None)
    db_url = f"sqlite:///{admin.root / 'server.db'}"
    server = ("--database-url", db_url)
    admin("server", "migrate", *server)
    admin("server", "user", "add", "alice", "--sites", "CH", "--role", "manager", *server)
    admin("server", "site", "add", "XY", "--name", "西苑 West Garden", *server)
    admin("server", "user", "grant", "alice", "--sites", "XY", *server)
    users = admin.json("server", "user", "list", *server)
    assert users == [{"user": "alice", "role": "manager", "sites": ["CH", "XY"]}], users
    token_a = (
        admin("server", "token", "issue", "alice", "--device", "a", *server)
        .stdout.strip()
        .splitlines()[-1]
    )
    token_b = (
        admin("server", "token", "issue", "alice", "--device", "b", *server)
        .stdout.strip()
        .splitlines()[-1]
    )

    with sync_server(admin, db_url) as url:
        a = Machine(copy_demo(demo, tmp / "laptop-a"))  # has the demo site
        b = Machine(tmp / "laptop-b")  # a new laptop
        a("sync", "login", url, "--token", token_a)
        a("sync")
        b("init")
        b("sync", "login", url, "--token", token_b)
        b("sync")
        # between syncs, both laptops edit the same field and make the same code
        a("grid", "edit", "A-LB", "--name", "甲改的大堂 A's lobby")
        a("grid", "add", "G-99", "--name", "甲建的 made on A", "--parent", "G")
        b("grid", "edit", "A-LB", "--name", "乙改的大堂 B's lobby")  # stamped later: wins
        b("grid", "add", "G-99", "--name", "乙建的 made on B")
        a("sync")
        b("sync")
        a("sync")
        open_ = a.json("sync", "conflicts")
        kinds = {c["kind"]: c for c in open_}
        assert {"field", "duplicate_code"} <= set(kinds), open_
        listed = a("sync", "conflicts").stdout
        assert kinds["field"]["id"] in listed and kinds["duplicate_code"]["id"] in listed
        a.json("sync", "resolve", kinds["field"]["id"], "--keep", "winner")
        a.json("sync", "resolve", kinds["duplicate_code"]["id"], "--rename", "G-98")
        assert a.json("sync", "status")["pending"] >= 1  # the rename is an ordinary edit
        a("sync", "--push")
        b("--json", "sync", "--pull").json()
        a("sync", "--retry")
        c = Machine(copy_demo(a.root, tmp / "laptop-c"))  # a copied laptop
        assert c.json("sync", "reset-device")["device_id"]
        admin("server", "token", "revoke", "alice", "--device", "b", *server)
        from pm_cli.sync.transport import PROTOCOL, SYNC_SCHEMA

        r = httpx.post(
            url + "/sync/hello",
            json={"device_id": "0" * 16},
            timeout=10,
            headers={
                "Authorization": f"Bearer {token_b}",
                "Pm-Protocol": str(PROTOCOL),
                "Pm-Schema": str(SYNC_SCHEMA),
            },
        )
        assert r.status_code == 401, r.text  # the revoked token is refused
        # head office's reports, as a script reads them
        page = httpx.get(
            url + "/reports/CH.json", timeout=30, headers={"Authorization": f"Bearer {token_a}"}
        )
        assert page.status_code == 200 and page.json()["site"] == "CH", page.text
    got = admin.json("server", "refresh", "--days", "30", *server)
    assert "CH" in got["sites"]
    # BI roles are PostgreSQL's: on SQLite the command says so
    admin("server", "bi-role", "bi_x", "--sites", "CH", *server, code=1)


GROUPS: list[Callable[[Path, Path], None]] = [
    group_sync,  # the longest: first
    group_playbooks_runs,
    group_grids_checkpoints_routes,
    group_drills,
    group_pdca_risks,
    group_reports,
    group_transfer,
    group_database_sites_staff,
]


def test_the_installed_pm_is_this_source() -> None:
    """The smoke test is about the installed package: after changing pm_cli, reinstall it
    (`pip install --no-deps --force-reinstall .`), or this module tests the old code. An
    editable install runs the source itself and passes."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("pm-cli")
    except PackageNotFoundError:
        raise AssertionError("pm-cli is not installed: pip install '.[test]'") from None
    if '"editable": true' in (dist.read_text("direct_url.json") or ""):
        return  # the console script imports this source tree
    installed = {
        str(f): f.hash.value
        for f in dist.files or ()
        if str(f).startswith("pm_cli/") and f.hash and "__pycache__" not in str(f)
    }
    if not any(not rel.startswith("pm_cli/bundled_playbooks/") for rel in installed):
        # editable: the console script imports this source tree (hatchling still copies the
        # force-included playbooks, so they alone do not make an install a copy)
        return
    stale = []
    for rel, digest in installed.items():
        src = ROOT / rel
        if rel.startswith("pm_cli/bundled_playbooks/"):
            src = ROOT / "playbooks" / rel.removeprefix("pm_cli/bundled_playbooks/")
        actual = (
            base64.urlsafe_b64encode(hashlib.sha256(src.read_bytes()).digest())
            .rstrip(b"=")
            .decode()
            if src.is_file()
            else None
        )
        if actual != digest:
            stale.append(rel)
    new = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "pm_cli").rglob("*.py"))
        if "__pycache__" not in p.parts and str(p.relative_to(ROOT)) not in installed
    ]
    assert stale == [] and new == [], (
        f"the installed pm differs from the source (changed: {stale}, not installed: {new}): "
        "pip install --no-deps --force-reinstall ."
    )


def _children_cpu() -> float:
    if resource is None:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_every_command_runs_installed_without_a_traceback(tmp_path: Path) -> None:
    t0 = time.monotonic()
    cpu0 = _children_cpu()
    demo = tmp_path / "demo"
    demo.mkdir()
    builder = Machine(tmp_path / "builder", site=None)
    built = builder("--db", demo / "pm.db", "demo")
    assert "CH" in built.stdout + built.stderr
    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {pool.submit(g, demo, tmp_path): g.__name__ for g in GROUPS}
        for fut, name in futures.items():
            try:
                fut.result()
            except Exception as e:  # noqa: BLE001 — every group's failure is reported
                detail = str(e) if isinstance(e, AssertionError) else traceback.format_exc()
                failures.append(f"[{name}] {detail}")
    STATS["wall"] = time.monotonic() - t0
    STATS["cpu"] = _children_cpu() - cpu0
    assert not failures, "\n\n".join(failures)


# ---- coverage: these run after the smoke test (file order) --------------------------------


def _not_run(paths: set[tuple[str, ...]]) -> list[str]:
    assert EXECUTED, "run the whole module: the smoke test above records what it ran"
    return sorted("pm " + " ".join(p) for p in paths - EXECUTED)


def test_every_documented_command_was_run() -> None:
    documented = documented_paths()
    assert len(documented) > 50, sorted(documented)  # the table rows were found
    assert _not_run(documented) == []


def test_every_command_in_the_tree_was_run() -> None:
    assert _not_run(tree_paths()) == []


def test_every_command_in_the_tree_is_documented() -> None:
    missing = sorted("pm " + " ".join(p) for p in tree_paths() - documented_paths())
    assert missing == [], "add them to docs/cli.md"


def test_command_paths_skip_global_options_and_values() -> None:
    assert command_path(["--db", "x.db", "--site", "CH", "--json", "grid", "tree", "G"]) == (
        "grid",
        "tree",
    )
    assert command_path(["sync", "--push"]) == ("sync",)
    assert command_path(["--json", "sync", "--pull"]) == ("sync",)
    assert command_path(["grid", "duty", "add", "G", "text"]) == ("grid", "duty", "add")
    assert command_path(["import", "f.csv", "--kind", "grids"]) == ("import",)
    assert command_path(["server", "user", "add", "alice", "--sites", "CH"]) == (
        "server",
        "user",
        "add",
    )
