"""Every command has help text and is documented in README.md or docs/cli.md."""

from __future__ import annotations

from pathlib import Path

from pm_cli.app import command_tree

ROOT = Path(__file__).resolve().parent.parent


def walk(cmd, path):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from walk(sub, [*path, name])


def test_every_command_has_help_and_is_documented():
    docs = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / "docs" / "cli.md").read_text(
        encoding="utf-8"
    )
    root = command_tree()  # every group built: the root builds them when asked
    missing_help, undocumented = [], []
    for path, cmd in walk(root, ["pm"]):
        if len(path) == 1:
            continue
        if not (cmd.help or "").strip():
            missing_help.append(" ".join(path))
        if not hasattr(cmd, "commands") and f"`{' '.join(path)}" not in docs:
            undocumented.append(" ".join(path))
    assert missing_help == []
    assert undocumented == []
