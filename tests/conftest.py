"""Every test gets its own database file, config file and home under tmp_path."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from pm_cli.app import app

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _command_built_once() -> Iterator[None]:
    """typer's CliRunner builds pm's whole click command tree again at every invoke (a few
    tenths of a second: most of what a short command costs in these tests, and they run
    thousands); a `pm` process builds it once, and so do the tests."""
    import functools

    import typer.testing

    with pytest.MonkeyPatch.context() as m:
        m.setattr(typer.testing, "_get_command", functools.cache(typer.testing._get_command))
        yield


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "pm.db"
    monkeypatch.setenv("PM_DB", str(db))
    monkeypatch.setenv("PM_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    for var in ("PM_SITE", "PM_STAFF", "PM_BUSY_TIMEOUT", "PM_DEBUG", "COLUMNS", "LINES"):
        monkeypatch.delenv(var, raising=False)
    # Piped output is as wide as the terminal (80 without one): the tests read what a table
    # says, not how a narrow one wraps it, so they get a wide one (tests/e2e/test_screens.py
    # checks the widths themselves)
    monkeypatch.setenv("COLUMNS", "200")
    return db


class Pm:
    """Runs `pm` in-process; `pm("grid", "list")` returns typer's Result."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, input: str | None = None):  # noqa: A002
        r = self.runner.invoke(app, list(args), input=input, catch_exceptions=False)
        if ok:
            assert r.exit_code == 0, f"pm {' '.join(args)} -> {r.exit_code}\n{r.output}"
        return r

    def json(self, *args: str):
        r = self(*args, "--json")
        return json.loads(r.stdout)


@pytest.fixture
def pm() -> Pm:
    return Pm()


def copy_db(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite file (WAL included), by SQLite's backup API."""
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


@pytest.fixture(scope="session")
def init_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database made by `pm init` once per session (migrations and the bundled playbooks),
    for fixtures that need an initialised file but do not test `pm init` itself."""
    db = tmp_path_factory.mktemp("init-template") / "pm.db"
    r = CliRunner().invoke(
        app,
        ["--db", str(db), "init"],
        catch_exceptions=False,
        env={"PM_CONFIG": str(db.with_name("config.toml"))},
    )
    assert r.exit_code == 0, r.output
    return db


@pytest.fixture
def site(pm: Pm, init_template: Path, isolated: Path) -> str:
    """An initialised database with site CH, two staff members, and CH current."""
    copy_db(init_template, isolated)  # as `pm init` leaves it, without the wait
    pm("site", "add", "CH", "--name", "翠湖花园", "--tz", "Asia/Shanghai")
    pm("site", "use", "CH")
    pm("staff", "add", "S1", "--name", "张伟", "--role", "lead")
    pm("staff", "add", "S2", "--name", "李娜", "--role", "manager")
    return "CH"


@pytest.fixture
def scope(isolated: Path, site: str):  # type: ignore[no-untyped-def]
    """`with scope() as s:` a write session on the test's database (`scope(write=False)` to
    read), for rules tested through services after a CLI set-up."""
    from pm_cli.store.engine import make_engine, session_scope

    engine = make_engine(isolated)

    def open_(write: bool = True):  # type: ignore[no-untyped-def]
        return session_scope(engine, isolated, write=write)

    yield open_
    engine.dispose()


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            content = content.encode(encoding)
        path.write_bytes(content)
        return path

    return write


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pm demo` built once per session (its database and evidence folder); tests take a
    copy with `demo_copy`, so each one starts from a fresh demo without paying for it."""
    root = tmp_path_factory.mktemp("demo-template")
    db = root / "demo.db"
    env: dict[str, str | None] = {"PM_CONFIG": str(root / "config.toml"), "PM_EVIDENCE": None}
    r = CliRunner().invoke(app, ["demo", "--db", str(db)], env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return db


@pytest.fixture
def demo_copy(demo_template: Path, tmp_path: Path) -> Callable[..., Path]:
    """demo_copy() -> the path of a fresh copy of the demo database (with its evidence)."""

    def copy(name: str = "demo") -> Path:
        folder = tmp_path / name
        shutil.copytree(
            demo_template.parent, folder, ignore=shutil.ignore_patterns("config.toml", "demo.db*")
        )
        copy_db(demo_template, folder / "demo.db")
        return folder / "demo.db"

    return copy
