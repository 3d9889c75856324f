"""A real browser for the tests: the system's Chromium (Debian's `chromium`; `.ci/run`
installs it), driven by Playwright, which downloads nothing. A test that needs it fails,
never skips, when it is missing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def chromium_path() -> str:
    path = (
        os.environ.get("PM_TEST_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not path:
        raise RuntimeError("no Chromium: apt-get install chromium (or set PM_TEST_CHROMIUM)")
    return path


@contextmanager
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield b
        finally:
            b.close()
