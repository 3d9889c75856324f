"""`pm playbook lint`: file problems, plus clashes with what the database has installed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pm_cli.errors import Problem
from pm_cli.playbooks import loader


@dataclass
class LintReport:
    files: int = 0
    problems: list[Problem] = field(default_factory=list)


def lint_paths(paths: list[Path], *, db: Path | None) -> LintReport:
    report = LintReport()
    loaded = []
    for path in loader.expand(paths):
        report.files += 1
        item, problems = loader.load(path)
        report.problems += problems
        if item:
            loaded.append(item)
    if not report.files:
        report.problems.append(Problem(" ".join(map(str, paths)), "no playbook files there"))
    if db is not None and loaded:
        from pm_cli.playbooks import service
        from pm_cli.store.engine import make_engine, session_scope

        engine = make_engine(db)
        try:
            with session_scope(engine, db, write=False) as s:
                report.problems += [
                    p for p in (service.version_clash(s, item) for item in loaded) if p
                ]
        finally:
            engine.dispose()
    return report
