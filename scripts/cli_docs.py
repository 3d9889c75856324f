"""docs/cli.md's command tables and option lists, written from the command tree itself, so the
page cannot fall behind the commands.

    python scripts/cli_docs.py            # rewrite docs/cli.md
    python scripts/cli_docs.py --check    # exit 1 when docs/cli.md is stale (the tests run it)

docs/cli.md is written by hand, except between marker lines, whose content this script owns:

    <!-- generated: global options (python scripts/cli_docs.py) -->
    <!-- generated: commands pm grid, pm grid heatmap (python scripts/cli_docs.py) -->
    <!-- generated: options (python scripts/cli_docs.py) -->
    ...
    <!-- end generated -->

- `global options`: the root's options, one line each (as below).
- `commands PATH, PATH …`: a table, one row per command under each path (a group or a
  command), in the app's order: the command's usage, then the first paragraph of its help. A
  command goes to the block naming the longest path that holds it (`pm grid heatmap` to the
  risk register, the rest of `pm grid` to the grids); each command lands in exactly one block.
- `options`: for each `commands` block, under the `##` heading above it, each command's whole
  help and its arguments and options, one line each: flags (what it takes, required or its
  default, its environment variable): help.

Everything outside the markers is kept as it is. Nothing depends on the terminal: the text comes
from the click parameters and help strings of `pm_cli.app`, never from a help screen. Hidden
commands and options stay out. In a usage a value is named by its choices, by the alternatives
its help starts with (`minor|major|critical (一般|…)`), FILE or N (a path, an integer), or else
by its flag (`--tz TZ`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cli.md"
STALE = "docs/cli.md is stale: run python scripts/cli_docs.py"
BEGIN = re.compile(r"<!-- generated: (?P<what>.+?) \(python scripts/cli_docs\.py\) -->")
END = "<!-- end generated -->"
# left out of the usages: every command that prints takes it, as the root does (`pm --json …`)
SHARED = {"--json"}
ALTERNATIVES = re.compile(r"[A-Za-z][\w-]*(?:\|[A-Za-z][\w-]*)+(?=$|[\s:;,(])")
TYPES = {
    "str": "text",
    "text": "text",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "boolean": "yes/no",
    "path": "path",
    "uuid": "UUID",
}

Words = tuple[str, ...]  # a command's path below `pm`: ("grid", "duty", "add")


class DocError(Exception):
    """docs/cli.md's markers do not fit the command tree; the message says what to change."""


# ---- the command tree ---------------------------------------------------------------------


def command_tree() -> Any:
    sys.path.insert(0, str(ROOT))  # document this checkout, whatever pm is installed
    from pm_cli.app import command_tree as tree

    return tree()


def subcommands(cmd: Any) -> list[tuple[str, Any]]:
    """A group's visible subcommands in the app's order (`pm --help`'s), or none."""
    if getattr(cmd, "commands", None) is None:
        return []
    found = []
    for name in cmd.list_commands(None):
        sub = cmd.get_command(None, name)
        if sub is not None and not sub.hidden:
            found.append((name, sub))
    return found


def runnable(cmd: Any, path: Words) -> Iterator[tuple[Words, Any]]:
    """Every command a user can run below `cmd`: the leaves, and a group that runs on its own
    (`pm sync`) before its subcommands."""
    if getattr(cmd, "commands", None) is None or getattr(cmd, "invoke_without_command", False):
        yield path, cmd
    for name, sub in subcommands(cmd):
        yield from runnable(sub, (*path, name))


def find(root: Any, path: Words) -> Any:
    cmd = root
    for word in path:
        cmd = dict(subcommands(cmd)).get(word)
        if cmd is None:
            raise DocError(f"docs/cli.md names `pm {' '.join(path)}`, which is no command")
    return cmd


def visible(cmd: Any) -> list[Any]:
    return [p for p in cmd.params if not getattr(p, "hidden", False)]


# ---- text ---------------------------------------------------------------------------------


def paragraphs(help_text: str | None) -> list[str]:
    """A help text's paragraphs, each on one line (click's `\\f` ends it, `\\b` keeps lines)."""
    text = (help_text or "").split("\f", 1)[0]
    found = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines()]
        if lines and lines[0] == "\b":
            found.append("  \n".join(lines[1:]))  # a Markdown line break keeps each line
        elif any(lines):
            found.append(" ".join(line for line in lines if line))
    return found


def prose(text: str) -> str:
    """Help text as Markdown: code spans kept, `*` and `<` outside them taken literally."""
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("*", r"\*").replace("<", "&lt;")
    return "".join(parts)


def cell(text: str) -> str:
    """Text for a table cell: one line, `|` escaped (in code spans too, as GFM tables need)."""
    return " ".join(text.split()).replace("|", r"\|")


def code(text: str) -> str:
    return f"`{text}`"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ---- parameters ---------------------------------------------------------------------------


def is_option(p: Any) -> bool:
    return getattr(p, "param_type_name", "") == "option"


def is_flag(p: Any) -> bool:
    return bool(getattr(p, "is_flag", False) or getattr(p, "count", False))


def long_flag(p: Any) -> str:
    return next((o for o in p.opts if o.startswith("--")), p.opts[0])


def metavar(p: Any) -> str:
    """What a usage calls a value: its own metavar, its choices, the alternatives its help
    starts with, FILE or N for an option's path or integer, else its name (an option's long
    flag, an argument's name) in capitals."""
    if getattr(p, "metavar", None):
        return str(p.metavar)
    choices = getattr(p.type, "choices", None)
    if choices:
        return "|".join(str(c) for c in choices)
    listed = ALTERNATIVES.match(getattr(p, "help", None) or "")
    if listed:
        return listed.group(0)
    if is_option(p) and p.type.name == "path":
        return "FILE"
    if is_option(p) and p.type.name.split()[0] in ("int", "integer"):
        return "N"
    name = long_flag(p).lstrip("-") if is_option(p) else (p.name or "value")
    return name.replace("-", "_").upper()


def usage_word(p: Any) -> str:
    if not is_option(p):
        word = metavar(p) + ("…" if p.nargs == -1 else "")
        return word if p.required else f"[{word}]"
    flag = long_flag(p)
    if p.secondary_opts:
        flag = f"{flag}/{p.secondary_opts[0]}"
    word = flag if is_flag(p) else f"{flag} {metavar(p)}"
    if p.required:
        return word
    return f"[{word}]" + ("…" if p.multiple else "")


def usage(path: Words, cmd: Any) -> str:
    params = visible(cmd)
    arguments = [p for p in params if not is_option(p)]
    options = [p for p in params if is_option(p) and not SHARED.intersection(p.opts)]
    ordered = [
        *arguments,
        *(p for p in options if p.required),
        *(p for p in options if not p.required),
    ]
    return " ".join(["pm", *path, *(usage_word(p) for p in ordered)])


def value(p: Any) -> str:
    """What a parameter takes: a type, its choices or range, how many."""
    if is_option(p) and is_flag(p):
        return ""
    t = p.type
    choices = getattr(t, "choices", None)
    if choices:
        text = code("|".join(str(c) for c in choices))
    elif hasattr(t, "min") and hasattr(t, "max"):
        text = TYPES.get(t.name.split()[0], t.name.split()[0])
        low, high = t.min, t.max
        if low is not None and high is not None:
            text += f" {low}–{high}"
        elif low is not None:
            text += (" > " if t.min_open else " ≥ ") + str(low)
        elif high is not None:
            text += (" < " if t.max_open else " ≤ ") + str(high)
    else:
        text = TYPES.get(t.name, t.name)
    if p.nargs == -1:
        text += ", one or more" if p.required else ", any number"
    if getattr(p, "multiple", False):
        text += ", repeatable"
    return text


def details(p: Any) -> str:
    """What a parameter takes, whether it must be given, its default and environment variable."""
    takes = value(p)
    parts = [takes] if takes else []
    if p.required:
        parts.append("required")
    elif not is_option(p):
        parts.append("optional")
    else:
        shown = getattr(p, "show_default", None)
        if isinstance(shown, str):
            parts.append(f"default {shown}")
        elif (
            shown is not False
            and not callable(p.default)
            and p.default not in (None, False, "", (), [])
            and not is_flag(p)
        ):
            parts.append(f"default {code(str(p.default))}")
    envvar = p.envvar
    if envvar:
        names = [envvar] if isinstance(envvar, str) else list(envvar)
        parts.append("env " + ", ".join(code(n) for n in names))
    return ", ".join(parts)


def param_list(cmd: Any) -> list[str]:
    """One line per argument and option: `- `--format`, `-f` (`csv|json`, default `csv`): help`."""
    lines = []
    for p in visible(cmd):
        if is_option(p):
            names = ", ".join(code(o) for o in [*p.opts, *p.secondary_opts])
        else:
            names = code(str(p.metavar) if getattr(p, "metavar", None) else str(p.name).upper())
        about = details(p)
        help_text = " ".join((getattr(p, "help", None) or "").split())
        line = f"- {names}" + (f" ({about})" if about else "")
        lines.append(line + (f": {prose(help_text)}" if help_text else ""))
    return lines


# ---- the blocks ---------------------------------------------------------------------------


class Block:
    """One `commands` block: the paths it names and the commands that land in it."""

    def __init__(self, what: str, heading: str) -> None:
        self.heading = heading
        self.paths: list[Words] = []
        for name in what.split(","):
            words = name.split()
            if not words or words[0] != "pm":
                raise DocError(f"docs/cli.md: `{name.strip()}` in a commands marker is no `pm …`")
            self.paths.append(tuple(words[1:]))
        self.commands: list[tuple[Words, Any]] = []


def assign(root: Any, blocks: list[Block]) -> None:
    """Give each command to the block naming the longest path that holds it; fail when a
    command lands nowhere or a path is named twice."""
    named: dict[Words, Block] = {}
    for block in blocks:
        for path in block.paths:
            if path in named:
                raise DocError(f"docs/cli.md names `pm {' '.join(path)}` in two commands blocks")
            find(root, path)
            named[path] = block
    owner: dict[Words, Block] = {}
    for path, _ in runnable(root, ()):
        holders = [p for p in named if path[: len(p)] == p]
        if not holders:
            raise DocError(
                f"`pm {' '.join(path)}` is in no commands block of docs/cli.md: "
                "name it (or its group) in a <!-- generated: commands … --> marker"
            )
        owner[path] = named[max(holders, key=len)]
    for block in blocks:
        for base in block.paths:
            for path, cmd in runnable(find(root, base), base):
                if owner[path] is block and all(path != p for p, _ in block.commands):
                    block.commands.append((path, cmd))


def commands_table(block: Block) -> list[str]:
    rows = []
    for path, cmd in block.commands:
        first = paragraphs(cmd.help)[:1] or [""]
        rows.append((cell(code(usage(path, cmd))), cell(prose(first[0]))))
    return table(("command", "what it does"), rows)


def reference(blocks: list[Block]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        lines += [f"### {block.heading}", ""]
        for path, cmd in block.commands:
            lines += [f"#### {code(' '.join(['pm', *path]))}", ""]
            for paragraph in paragraphs(cmd.help):
                lines += [prose(paragraph), ""]
            params = param_list(cmd)
            lines += [*params, ""] if params else ["No options.", ""]
    return lines[:-1]


def render(text: str, root: Any) -> str:
    """docs/cli.md with every generated block written anew."""
    lines = text.splitlines()
    blocks: list[Block] = []
    spans: list[tuple[int, int, str, Block | None]] = []  # begin, end, kind, block
    heading = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            heading = line[3:].strip()
        match = BEGIN.fullmatch(line.strip())
        if match is None:
            if line.strip() == END:
                raise DocError(f"docs/cli.md:{i + 1}: {END} without a generated marker above it")
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == END), None)
        if end is None:
            raise DocError(f"docs/cli.md:{i + 1}: a generated block without {END}")
        what = match.group("what").strip()
        kind, _, rest = what.partition(" ")
        block = None
        if what in ("global options", "options"):
            kind = what
        elif kind == "commands":
            block = Block(rest, heading or rest)
            blocks.append(block)
        else:
            raise DocError(f"docs/cli.md:{i + 1}: unknown generated block {what!r}")
        spans.append((i, end, kind, block))
        i = end + 1
    assign(root, blocks)

    out: list[str] = []
    last = 0
    for begin, end, kind, block in spans:
        out += lines[last : begin + 1]
        if kind == "global options":
            body = param_list(root)
        elif kind == "options":
            body = reference(blocks)
        else:
            assert block is not None
            body = commands_table(block)
        out += ["", *body, "", lines[end]]
        last = end + 1
    out += lines[last:]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/cli.md's generated blocks.")
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if docs/cli.md is not as generated",
    )
    args = parser.parse_args(argv)
    text = DOC.read_text(encoding="utf-8")
    try:
        new = render(text, command_tree())
    except DocError as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    if args.check:
        if new != text:
            sys.stderr.write(STALE + "\n")
            return 1
        return 0
    if new == text:
        sys.stderr.write("docs/cli.md is up to date\n")
    else:
        DOC.write_text(new, encoding="utf-8", newline="\n")
        sys.stderr.write("docs/cli.md written\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
