"""Every report as one self-contained HTML page, loaded in headless Chromium: the rendered
text holds the report's figures, the page makes no request, and it prints on A4."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.browser import browser

ARGS = ("--from", "2026-11-01", "--to", "2026-11-07")


def _load(b, path: Path) -> tuple[str, list[str], bytes]:  # type: ignore[no-untyped-def]
    page = b.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    url = path.resolve().as_uri()
    page.goto(url)
    text = page.inner_text("body")
    pdf = page.pdf(format="A4")
    page.close()
    return text, [u for u in asked if u != url], pdf


def _a4(pdf: bytes) -> bool:
    """Every page of the PDF is A4 (595 × 842 pt, to Chromium's rounding)."""
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    return bool(boxes) and all(
        abs(float(w) - 595.28) < 2 and abs(float(h) - 841.89) < 2 for w, h in boxes
    )


def test_each_report_renders_its_figures_offline_and_prints_on_a4(pm, built, tmp_path):
    score = json.loads(pm("report", "score", *ARGS, "--json").stdout)
    pages = {
        "kpi": ("report", "kpi", *ARGS, "--by", "grid"),
        "score": ("report", "score", *ARGS),
        "daily": ("report", "daily", "--date", "2026-11-03", "--shift", "day"),
    }
    files = {}
    for name, args in pages.items():
        files[name] = tmp_path / f"{name}.html"
        pm(*args, "--html", "-o", str(files[name]))
        html = files[name].read_text(encoding="utf-8")
        assert "Content-Security-Policy" in html and "<script" not in html
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing outside
    with browser() as b:
        text, asked, pdf = _load(b, files["score"])
        assert asked == []
        assert str(score["score"]) in text and score["band"] in text
        assert "巡检完成率 Inspections completed" in text and "85.7" in text
        assert "critical item #3 overdue at the period's end" in text
        assert pdf.startswith(b"%PDF") and _a4(pdf)

        text, asked, _ = _load(b, files["kpi"])
        assert asked == []
        assert "3/7" in text and "42.9%" in text  # inspections
        assert "by grid" in text and "7/9" in text  # W's steps

        text, asked, _ = _load(b, files["daily"])
        assert asked == []
        assert "failures found (1)" in text and "乙 B" in text
        assert "2026-11-03 08:00" in text  # the shift's start, in the site's zone


def test_an_empty_site_prints_a_helpful_page_not_an_error(pm, site, tmp_path):
    out = tmp_path / "score.html"
    pm("report", "score", "--html", "-o", str(out))
    kpi = tmp_path / "kpi.html"
    pm("report", "kpi", "--html", "-o", str(kpi))
    with browser() as b:
        text, asked, _ = _load(b, out)
        assert asked == [] and "no score: nothing to measure" in text
        text, asked, _ = _load(b, kpi)
        assert "nothing to measure in the period" in text


def test_html_goes_to_stdout_and_takes_one_format(pm, built):
    r = pm("report", "score", *ARGS, "--html")
    assert r.stdout.startswith("<!doctype html>")
    r = pm("report", "score", "--html", "--csv", ok=False)
    assert r.exit_code == 2 and "give one format" in r.stderr
    r = pm("report", "daily", "--html", "--md", ok=False)
    assert r.exit_code == 2
