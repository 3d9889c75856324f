"""One self-contained HTML page: inline CSS and SVG charts, nothing fetched (a Content
Security Policy forbids any request), Chinese fonts first, laid out for A4 when printed. The
ground floor: knows no feature; the reports (and the server's /reports) draw through it.

Every text put in a page goes through `esc`; a stored UTC stamp shows in the site's zone."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from pm_cli.timefmt import stamps_in

FONTS = (
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", '
    '"Source Han Sans SC", "WenQuanYi Micro Hei", system-ui, -apple-system, "Segoe UI", '
    "sans-serif"
)
CSS = f"""
:root {{ --ink: #1f2933; --mute: #616e7c; --line: #d9e2ec; --bar: #2f80ed; --bad: #d64545;
  --ok: #27ab83; --warn: #f0b429; }}
* {{ box-sizing: border-box; }}
body {{ font-family: {FONTS}; color: var(--ink); margin: 24px auto; max-width: 190mm;
  font-size: 10.5pt; line-height: 1.45; }}
h1 {{ font-size: 16pt; margin: 0 0 2px; }}
h2 {{ font-size: 12pt; margin: 18px 0 6px; border-bottom: 2px solid var(--line);
  padding-bottom: 2px; }}
.sub {{ color: var(--mute); margin: 0 0 10px; }}
.big {{ font-size: 28pt; font-weight: 700; }}
.band {{ font-size: 13pt; margin-left: 8px; }}
table {{ border-collapse: collapse; width: 100%; margin: 4px 0 8px; }}
th, td {{ border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left;
  vertical-align: top; }}
th {{ background: #f0f4f8; font-weight: 600; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.empty {{ color: var(--mute); font-style: italic; }}
pre {{ white-space: pre-wrap; font-size: 9.5pt; }}
svg {{ display: block; max-width: 100%; }}
svg text {{ font-family: {FONTS}; font-size: 11px; fill: var(--ink); }}
nav a {{ margin-right: 10px; }}
@page {{ size: A4; margin: 14mm 12mm; }}
@media print {{
  body {{ margin: 0; max-width: none; }}
  nav, form {{ display: none; }}
  thead {{ display: table-header-group; }}
  tr, svg, .keep {{ break-inside: avoid; }}
  h2 {{ break-after: avoid; }}
}}
"""
# no request leaves the page: no script, no font, no image but inline ones
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'"


def esc(value: Any, tz: str | None = None) -> str:
    """A value as people read it, HTML-escaped (a stored stamp in the zone `tz`)."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = f"{value:g}" if abs(value) < 1e15 else str(value)
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return html.escape(stamps_in(str(value), tz))


def page(
    title: str,
    body: Sequence[str],
    *,
    subtitle: str | None = None,
    lang: str = "zh-CN",
    nav: str = "",
) -> str:
    """The whole document."""
    sub = f'<p class="sub">{html.escape(subtitle)}</p>' if subtitle else ""
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"{nav}<h1>{html.escape(title)}</h1>{sub}" + "".join(body) + "</body></html>\n"
    )


def section(title: str, *parts: str) -> str:
    return f'<section class="keep"><h2>{html.escape(title)}</h2>{"".join(parts)}</section>'


def table(
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    *,
    tz: str | None = None,
    numeric: Sequence[str] = (),
    headers: dict[str, str] | None = None,
    empty: str = "none",
    links: dict[str, Any] | None = None,
) -> str:
    """A table of the columns; `numeric` ones right-aligned; `links[col](row)` an href."""
    if not rows:
        return f'<p class="empty">{html.escape(empty)}</p>'
    names = headers or {}
    head = "".join(
        f"<th{' class=n' if c in numeric else ''}>{html.escape(names.get(c, c))}</th>"
        for c in columns
    )
    out = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for r in rows:
        cells = []
        for c in columns:
            text = esc(r.get(c), tz)
            link = links.get(c) if links else None
            href = link(r) if link else None
            if href:
                text = f'<a href="{html.escape(href, quote=True)}">{text}</a>'
            cells.append(f"<td{' class=n' if c in numeric else ''}>{text}</td>")
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def bars(items: Sequence[tuple[str, float | None, str]], *, width: int = 640) -> str:
    """Horizontal bars of rates 0–1: (label, rate or None, the text beside the bar)."""
    if not items:
        return ""
    row, label_w, text_w = 20, 220, 90
    bar_w = width - label_w - text_w
    h = row * len(items) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
        f'viewBox="0 0 {width} {h}" role="img">'
    ]
    for i, (label, rate, text) in enumerate(items):
        y = i * row + 2
        parts.append(f'<text x="0" y="{y + 14}">{html.escape(label[:34])}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row - 8}" fill="#f0f4f8"/>'
        )
        if rate is not None:
            w = max(0.0, min(1.0, rate)) * bar_w
            colour = "#27ab83" if rate >= 0.9 else "#f0b429" if rate >= 0.7 else "#d64545"
            parts.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" '
                f'height="{row - 8}" fill="{colour}"/>'
            )
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 14}">{html.escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend(
    points: Sequence[tuple[str, float | None]],
    *,
    top: float,
    width: int = 640,
    height: int = 140,
    unit: str = "",
) -> str:
    """A line over labelled points (None: a gap), 0 to `top`."""
    if not points:
        return ""
    pad_l, pad_b, pad_t = 36, 22, 10
    inner_w, inner_h = width - pad_l - 28, height - pad_b - pad_t  # room for the last label
    step = inner_w / max(1, len(points) - 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">',
        f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - 8}" '
        f'y2="{pad_t + inner_h}" stroke="#d9e2ec"/>',
        f'<text x="0" y="{pad_t + 8}">{top:g}{html.escape(unit)}</text>',
        f'<text x="0" y="{pad_t + inner_h}">0</text>',
    ]
    line: list[str] = []
    for i, (label, value) in enumerate(points):
        x = pad_l + i * step if len(points) > 1 else pad_l + inner_w / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{html.escape(label)}</text>'
        )
        if value is None:
            if len(line) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="#2f80ed" stroke-width="2" '
                    f'points="{" ".join(line)}"/>'
                )
            line = []
            continue
        y = pad_t + inner_h - max(0.0, min(top, value)) / top * inner_h
        line.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2f80ed"/>'
            f'<text x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle">{value:g}</text>'
        )
    if len(line) > 1:
        parts.append(
            f'<polyline fill="none" stroke="#2f80ed" stroke-width="2" points="{" ".join(line)}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
