"""docs/cli.md is what scripts/cli_docs.py writes from the commands, and names every option."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pm_cli.app import command_tree

ROOT = Path(__file__).resolve().parent.parent


def walk(cmd, path):
    if cmd.hidden:
        return
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from walk(sub, [*path, name])


def test_docs_cli_md_is_as_generated():
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_docs.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr + r.stdout


def test_every_option_of_every_command_is_in_its_section():
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    # each command's section: from its `#### `pm …`` heading to the next heading
    sections = dict(re.findall(r"^#### `(pm[^`]*)`\n(.*?)(?=^#|\Z)", docs, re.M | re.S))
    root = command_tree()
    missing = []
    for path, cmd in walk(root, ["pm"]):
        runnable = not hasattr(cmd, "commands") or cmd.invoke_without_command
        if len(path) == 1 or not runnable:
            continue
        section = sections.get(" ".join(path), "")
        for p in cmd.params:
            if getattr(p, "hidden", False) or p.param_type_name != "option":
                continue
            missing += [
                f"{' '.join(path)} {o}"
                for o in [*p.opts, *p.secondary_opts]
                if f"`{o}`" not in section
            ]
    assert missing == [], "run python scripts/cli_docs.py"
