"""Reports what the installed-pm smoke test cost: processes, wall and CPU time."""

from __future__ import annotations

import sys


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    stats = getattr(sys.modules.get("tests.e2e.test_installed"), "STATS", None)
    if stats and stats["processes"]:
        terminalreporter.write_line(
            f"installed-pm smoke test: {int(stats['processes'])} pm processes, "
            f"{stats['wall']:.1f} s wall, {stats['cpu']:.1f} s CPU in them"
        )
