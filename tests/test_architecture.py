"""The packages of pm_cli stand on each other in the one order ARCHITECTURE.md gives: every
import (lazy ones inside functions too) goes to a package listed before its own, and no
module is over 600 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pm_cli"
MOST_LINES = 600


def order() -> tuple[list[str], set[str]]:
    """(the ordered packages, the exempt ones) from ARCHITECTURE.md's fenced block."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(ground:.*?)```", text, re.S)
    assert block, "ARCHITECTURE.md has no ``` block starting with `ground:`"
    rows = dict(line.split(":", 1) for line in block.group(1).strip().splitlines())
    ordered = [*rows["ground"].split(), *rows["features"].split(), *rows["top"].split()]
    return ordered, set(rows["exempt"].split())


def unit(module: str) -> str | None:
    """The package (or ground-floor module) of `pm_cli.x.y`: `x`; None for pm_cli itself."""
    parts = module.split(".")
    return parts[1] if parts[0] == "pm_cli" and len(parts) > 1 else None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(text: str, name: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every import in the text of module `name`, wherever it stands: at
    the top, inside a function, under `if TYPE_CHECKING`."""
    here = name.split(".") if is_package else name.split(".")[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text, name)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here[: len(here) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # each name: a module of the package (`from pm_cli import config`) or a name in it
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return out


def edges() -> list[tuple[str, str, str]]:
    """(from unit, to unit, file:line) for each import between two units of pm_cli."""
    known = units()
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        source = unit(name)
        text = path.read_text(encoding="utf-8")
        for line, target_module in imported(text, name, path.name == "__init__.py"):
            target = unit(target_module)
            if source and target in known and target != source:
                out.append((source, target, f"{path.relative_to(ROOT).as_posix()}:{line}"))
    return out


def units() -> set[str]:
    return {
        p.stem if p.suffix == ".py" else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }


def test_every_package_has_its_place_in_the_order():
    ordered, exempt = order()
    assert len(ordered) == len(set(ordered)), "a package is listed twice"
    missing = units() - set(ordered) - exempt
    assert not missing, f"add {sorted(missing)} to the order in ARCHITECTURE.md"
    gone = (set(ordered) | exempt) - units()
    assert not gone, f"ARCHITECTURE.md names {sorted(gone)}, which pm_cli no longer has"


def test_every_import_goes_down_the_order():
    ordered, exempt = order()
    rank = {name: i for i, name in enumerate(ordered)}
    against = [
        f"{where}: {source} imports {target}"
        for source, target, where in edges()
        if source not in exempt
        and target not in exempt
        and rank.get(target, -1) >= rank.get(source, len(rank))
    ]
    assert not against, (
        "imports against the order of ARCHITECTURE.md (a lower package "
        "imports a higher one):\n" + "\n".join(against)
    )


def test_the_walk_sees_every_kind_of_import():
    """The check itself: lazy, relative and `from pm_cli import x` imports are edges too."""
    text = (
        "from pm_cli import config\n"
        "from ..grids import service\n"
        "def f():\n    from pm_cli.risks.read import heat\n    import pm_cli.sync.client\n"
    )
    got = [unit(m) for _, m in imported(text, "pm_cli.staff.cli")]
    assert got == ["config", "grids", "risks", "sync"]


def test_no_module_is_over_600_lines():
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in sorted(PACKAGE.rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MOST_LINES
    ]
    assert not long, f"split these (at most {MOST_LINES} lines a module):\n" + "\n".join(long)


def module_edges() -> dict[str, set[str]]:
    """Module → the pm_cli modules it imports (a name imported from a package counts as its
    module when it is one, else as the package)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    out: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        text = path.read_text(encoding="utf-8")
        for _, target in imported(text, name, path.name == "__init__.py"):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target != "pm_cli":
                out[name].add(target)
    return out


def test_no_two_modules_import_each_other_round_a_circle():
    """Not even inside a package: a type two modules share gets a module of its own."""
    _, exempt = order()
    graph = {
        name: {t for t in targets if unit(t) not in exempt}
        for name, targets in module_edges().items()
        if unit(name) not in exempt
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                circles.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not circles, "modules importing each other round a circle:\n" + "\n".join(
        " ↔ ".join(c) for c in circles
    )
