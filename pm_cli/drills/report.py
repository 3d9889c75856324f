"""The after-action report of a drill run: Markdown, HTML (print-ready) or JSON."""

from __future__ import annotations

import html
import json
from typing import Any

from pm_cli.timefmt import local


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def _result(met: bool | None) -> str:
    return {True: "met ✓", False: "MISSED ✗", None: "—"}[met]


def why(rec: dict[str, Any]) -> list[str]:
    """Why the drill failed, one reason a line (none when it passed or is in progress)."""
    if rec["result"] != "fail":
        return []
    rows = {m["milestone"]: m for m in rec["milestones"]}
    out = [
        f"{rows[mid]['title']} ({mid}): {_fmt(rows[mid]['elapsed'])} min against a target "
        f"of {_fmt(rows[mid]['target'])} min, "
        f"{_fmt(round(rows[mid]['elapsed'] - rows[mid]['target'], 2))} min over"
        for mid in rec["missed"]
        if mid in rows and rows[mid]["elapsed"] is not None and rows[mid]["target"] is not None
    ]
    out += [f"{rows[mid]['title']} ({mid}): not recorded" for mid in rec["missing"] if mid in rows]
    if rec["status"] == "incomplete":
        out.append(
            "finished incomplete (--incomplete): the milestones not recorded count as missed"
        )
    return out


def markdown(rec: dict[str, Any], tz: str | None) -> str:
    lines = [
        f"# 演练总结报告 After-action report — {rec['title']} ({rec['drill']})",
        "",
        f"- **Drill:** {rec['drill']} · scenario `{rec['scenario']}` · {rec['kind']}",
        f"- **Started (T0):** {local(rec['started_at'], tz)} · **finished:** "
        f"{local(rec['finished_at'], tz) or '—'} ({tz or 'local time'})",
        f"- **Participants:** {rec['participants'] if rec['participants'] is not None else '—'}"
        + (f" ({', '.join(rec['roster'])})" if rec["roster"] else ""),
        f"- **Observers:** {rec['observers'] or '—'} · **weather:** {rec['weather'] or '—'}",
        f"- **Result:** **{rec['result'].upper()}**"
        + (f" — missed: {', '.join(rec['missed'])}" if rec["missed"] else "")
        + (f" — not recorded: {', '.join(rec['missing'])}" if rec["missing"] else ""),
        *(["", "## Why it failed", "", *[f"- {line}" for line in why(rec)]] if why(rec) else []),
        "",
        "## Timeline: targets vs actual",
        "",
        "| milestone | target (min) | actual (min) | at | result | note |",
        "|---|---|---|---|---|---|",
    ]
    for m in rec["milestones"]:
        lines.append(
            f"| {m['title']} (`{m['milestone']}`) | {_fmt(m['target'])}"
            f"{' (rule)' if m['rule'] else ''} | {_fmt(m['elapsed'])} | "
            f"{local(m['at'], tz, '%H:%M:%S') or '—'} | {_result(m['met'])} | "
            f"{m['note'] or ''} |"
        )
    lines += ["", "## Findings and improvement items", ""]
    if rec["items"]:
        lines += ["| item | finding | severity | phase | owner |", "|---|---|---|---|---|"]
        lines += [
            f"| #{i['no']} | {i['title']} | {i['severity']} | {i['phase']} | {i['owner'] or '—'} |"
            for i in rec["items"]
        ]
    else:
        lines.append("None.")
    if rec.get("note"):
        lines += ["", "## Notes", "", rec["note"]]
    return "\n".join(lines) + "\n"


def to_html(rec: dict[str, Any], tz: str | None) -> str:
    e = html.escape
    rows = "".join(
        f'<tr class="{"miss" if m["met"] is False or m["elapsed"] is None else ""}">'
        f"<td>{e(m['title'])}<br><code>{e(m['milestone'])}</code></td>"
        f"<td>{_fmt(m['target'])}{' (rule)' if m['rule'] else ''}</td>"
        f"<td>{_fmt(m['elapsed'])}</td><td>{e(local(m['at'], tz, '%H:%M:%S') or '—')}</td>"
        f"<td>{e(_result(m['met']))}</td><td>{e(m['note'] or '')}</td></tr>"
        for m in rec["milestones"]
    )
    items = (
        "".join(
            f"<tr><td>#{i['no']}</td><td>{e(i['title'])}</td><td>{e(i['severity'])}</td>"
            f"<td>{e(i['phase'])}</td><td>{e(i['owner'] or '—')}</td></tr>"
            for i in rec["items"]
        )
        or "<tr><td colspan=5>None.</td></tr>"
    )
    verdict = rec["result"].upper()
    reasons = (
        (
            "<h2>Why it failed</h2><ul>"
            + "".join(f"<li>{e(line)}</li>" for line in why(rec))
            + "</ul>"
        )
        if why(rec)
        else ""
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>After-action report {e(rec["drill"] or "")} {e(local(rec["started_at"], tz) or "")}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; margin: 1em 0; }}
th, td {{ border: 1px solid #999; padding: 4px 8px; text-align: left; }}
tr.miss td {{ background: #fde2e2; }} .pass {{ color: #176c2b; }} .fail {{ color: #b00020; }}
@media print {{ body {{ margin: 0; }} }}
</style></head><body>
<h1>演练总结报告 After-action report — {e(rec["title"])}</h1>
<p>Drill <b>{e(rec["drill"] or "")}</b> · scenario <code>{e(rec["scenario"])}</code> ·
{e(rec["kind"])}<br>Started (T0) {e(local(rec["started_at"], tz) or "")} · finished
{e(local(rec["finished_at"], tz) or "—")} ({e(tz or "local time")})<br>
Participants {rec["participants"] if rec["participants"] is not None else "—"} · observers
{e(rec["observers"] or "—")} · weather {e(rec["weather"] or "—")}</p>
<p>Result: <b class="{rec["result"].replace(" ", "-")}">{verdict}</b></p>
{reasons}
<h2>Timeline: targets vs actual</h2>
<table><tr><th>milestone</th><th>target (min)</th><th>actual (min)</th><th>at</th>
<th>result</th><th>note</th></tr>{rows}</table>
<h2>Findings and improvement items</h2>
<table><tr><th>item</th><th>finding</th><th>severity</th><th>phase</th><th>owner</th></tr>
{items}</table>
</body></html>
"""


def render(rec: dict[str, Any], fmt: str, tz: str | None) -> str:
    if fmt == "json":
        return json.dumps(rec, ensure_ascii=False, indent=2) + "\n"
    if fmt == "html":
        return to_html(rec, tz)
    return markdown(rec, tz)
