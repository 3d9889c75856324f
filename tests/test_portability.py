"""Everywhere a laptop runs: no Unix-only call without a guard, tzdata where the OS has no
zone database, and the guarded paths themselves (store.ids without os.register_at_fork)."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "pm_cli"
# names that exist only on POSIX (or behave only there); each use needs a guard nearby
UNIX_ONLY = re.compile(
    r"\bos\.(register_at_fork|fork|forkpty|killpg|getpgid|setsid|setpgrp|getuid|geteuid|"
    r"getgid|getegid|fchmod|fchown|chown|lchown|uname|getloadavg|sync|mkfifo|pipe2)\b"
    r"|\bsignal\.(SIGKILL|SIGHUP|SIGUSR1|SIGUSR2|SIGQUIT|SIGALRM|SIGCHLD|alarm|setitimer|pause)\b"
    r"|^\s*(import|from)\s+(fcntl|termios|tty|pty|pwd|grp|resource|posix)\b"
    r"|[\"']/dev/|[\"']/tmp/"
)
GUARDS = ("hasattr(", "os.name", "sys.platform", "# portable:")


def test_no_unix_only_call_without_a_guard():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            code = line.split("#", 1)[0] if "# portable:" not in line else line
            if UNIX_ONLY.search(code) and not any(
                g in "\n".join(lines[max(0, i - 3) : i + 1]) for g in GUARDS
            ):
                found.append(f"{path.relative_to(PKG.parent)}:{i + 1}: {line.strip()}")
    assert not found, "Unix-only names with no guard (hasattr/os.name/sys.platform):\n" + "\n".join(
        found
    )


def test_the_grep_sees_an_unguarded_call(tmp_path):
    assert UNIX_ONLY.search("os.register_at_fork(after_in_child=f)")
    assert UNIX_ONLY.search("import fcntl")
    assert UNIX_ONLY.search("os.kill(pid, signal.SIGKILL)")
    assert not UNIX_ONLY.search("os.replace(tmp, dest)")


def test_tzdata_is_a_dependency_on_windows():
    meta = tomllib.loads((PKG.parent / "pyproject.toml").read_text(encoding="utf-8"))
    deps = [d.replace(" ", "") for d in meta["project"]["dependencies"]]
    assert any(
        d.startswith("tzdata") and "sys_platform=='win32'" in d.replace('"', "'") for d in deps
    ), deps


def load_ids_fresh(name: str):
    """pm_cli/store/ids.py imported again under another name (the real module stays)."""
    spec = importlib.util.spec_from_file_location(name, PKG / "store" / "ids.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ids_import_and_work_without_register_at_fork(monkeypatch):
    import os

    monkeypatch.delattr(os, "register_at_fork", raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    ids = load_ids_fresh("pm_ids_as_on_windows")
    made = [ids.new_id() for _ in range(2000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)  # one process: creation order
    assert all(m[14] == "7" for m in made)  # UUID version 7
