"""The reports as one self-contained HTML page each (`--html`), drawn through pm_cli.htmlpage:
the same dictionaries `--json` prints, so a page says nothing the JSON does not."""

from __future__ import annotations

from typing import Any

from pm_cli import htmlpage as h
from pm_cli.timefmt import people


def _period(rep: dict[str, Any], tz: str | None) -> str:
    return f"{people(rep['from'], tz)} – {people(rep['counted_to'], tz)}"


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def _kpi_rows(kpis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "kpi": k["label"],
            "rate": _pct(k["rate"]),
            "of": f"{k['numerator']}/{k['denominator']}",
            "counts": k["what"],
        }
        for k in kpis
    ]


def kpi(rep: dict[str, Any], tz: str | None) -> str:
    measured = [k for k in rep["kpis"] if k["denominator"]]
    body = [
        h.section(
            "指标 KPIs",
            h.bars([(k["label"], k["rate"], _pct(k["rate"])) for k in measured])
            if measured
            else '<p class="empty">nothing to measure in the period: no inspection due, no '
            "item, drill, open risk or survey</p>",
            h.table(
                ["kpi", "rate", "of", "counts"], _kpi_rows(rep["kpis"]), numeric=("rate", "of")
            ),
        ),
    ]
    if rep.get("groups"):
        dim = rep["by"]
        rows = [
            {
                dim: g[dim],
                "kpi": k["label"],
                "rate": _pct(k["rate"]),
                "of": f"{k['numerator']}/{k['denominator']}",
            }
            for g in rep["groups"]
            for k in g["kpis"]
            if k["denominator"]
        ]
        body.append(
            h.section(
                f"by {dim}", h.table([dim, "kpi", "rate", "of"], rows, numeric=("rate", "of"))
            )
        )
    sat = rep.get("satisfaction") or {}
    if sat.get("by_grid"):
        body.append(
            h.section(
                "业主满意度 Owner satisfaction",
                h.trend(
                    [(m["month"], round(100 * (m["rate"] or 0), 1)) for m in sat["by_month"]],
                    top=100,
                    unit="%",
                ),
                h.table(
                    ["grid", "rate", "satisfied", "coverage"],
                    [
                        {
                            "grid": g["grid"],
                            "rate": _pct(g["rate"]),
                            "satisfied": f"{g['numerator']}/{g['denominator']}",
                            "coverage": coverage_text(g),
                        }
                        for g in sat["by_grid"]
                    ],
                    numeric=("rate", "satisfied"),
                ),
            )
        )
    return h.page(f"KPI 关键指标 · {rep['site']}", body, subtitle=_period(rep, tz))


def coverage_text(rec: dict[str, Any]) -> str:
    """A satisfaction figure's coverage as people read it (the table, the page)."""
    cov = rec.get("coverage") or {}
    if not cov.get("denominator"):
        return "—"
    kept = f", points × {cov['factor']:.3f}" if cov["factor"] < 1 else ""
    return f"{cov['numerator']}/{cov['denominator']} = {cov['rate']:.0%}{kept}"


def score(rep: dict[str, Any], tz: str | None) -> str:
    if rep["score"] is None:
        head = '<p class="big">—</p><p class="empty">' + h.esc(rep["explain"][0]) + "</p>"
    else:
        head = (
            f'<p><span class="big">{rep["score"]}</span>'
            f'<span class="band">{h.esc(rep["band"])}</span> / 1000</p>'
        )
    lines = [
        {
            "category": ln["category"],
            "kpi": ln["label"],
            "points": ln["points"],
            "max": ln["max"],
            "rate": _pct(ln["rate"]),
            "of": f"{ln['numerator']}/{ln['denominator']}",
        }
        for ln in rep["lines"]
    ]
    body = [
        head,
        h.section(
            "得分 Lines",
            h.bars(
                [(ln["label"], ln["rate"], f"{ln['points']} / {ln['max']}") for ln in rep["lines"]]
            ),
            h.table(
                ["category", "kpi", "points", "max", "rate", "of"],
                lines,
                numeric=("points", "max", "rate", "of"),
                empty="no KPI had anything to measure",
            ),
        ),
    ]
    if rep["deductions"]:
        body.append(
            h.section(
                "扣分 Deductions",
                h.table(
                    ["reason", "points"],
                    [{"reason": d["reason"], "points": -d["points"]} for d in rep["deductions"]],
                    numeric=("points",),
                ),
            )
        )
    if rep["categories"]:
        body.append(
            h.section(
                "分类 Categories",
                h.table(
                    ["category", "points", "max"], rep["categories"], numeric=("points", "max")
                ),
            )
        )
    if rep.get("groups"):
        dim = rep["by"]
        body.append(
            h.section(
                f"by {dim}",
                h.table(
                    [dim, "score", "band", "deductions"],
                    [
                        {
                            dim: g[dim],
                            "score": g["score"],
                            "band": g["band"],
                            "deductions": sum(d["points"] for d in g["deductions"]) or None,
                        }
                        for g in rep["groups"]
                    ],
                    numeric=("score", "deductions"),
                ),
            )
        )
    body.append(
        h.section(
            "算法 The arithmetic",
            "<pre>" + "\n".join(h.esc(line, tz) for line in rep["explain"]) + "</pre>",
        )
    )
    return h.page(f"千分制 Site score · {rep['site']}", body, subtitle=_period(rep, tz))


def daily(rep: dict[str, Any], tz: str | None) -> str:
    from pm_cli.reports.daily import sections

    body = [
        h.section(f"{title} ({len(rows)})", h.table(list(cols), rows, tz=tz))
        for title, cols, rows in sections(rep)
    ]
    sub = f"{rep['shift']}: {people(rep['from'], tz)} – {people(rep['to'], tz)}"
    return h.page(f"交接班 Shift handover · {rep['site']}", body, subtitle=sub)


def quarter(rep: dict[str, Any], tz: str | None) -> str:
    from pm_cli.reports.quarter import sections

    sc = rep["score"]
    if sc["score"] is None:
        head = (
            '<p class="big">—</p><p class="empty">no score: nothing to measure in the quarter</p>'
        )
    else:
        was = (
            f" · {h.esc(rep['previous_quarter'])}: {sc['previous']} ({h.esc(sc['previous_band'])})"
            if sc["previous"] is not None
            else ""
        )
        change = f" · {sc['change']:+g}" if sc["change"] is not None else ""
        head = (
            f'<p><span class="big">{sc["score"]}</span>'
            f'<span class="band">{h.esc(sc["band"])}</span> / 1000{was}{change}</p>'
        )
    measured = [k for k in rep["kpis"] if k["rate"] is not None or k["previous"] is not None]
    chart = h.bars([(k["label"], k["rate"], _pct(k["rate"])) for k in measured]) if measured else ""
    body = [head, chart]
    for title, cols, rows in sections(rep)[1:]:
        body.append(h.section(f"{title} ({len(rows)})", h.table(list(cols), rows, tz=tz)))
    sub = f"{people(rep['from'], tz)} – {people(rep['counted_to'], tz)}"
    return h.page(
        f"季度 PDCA 评审 Quarterly review {rep['quarter']} · {rep['site']}", body, subtitle=sub
    )


# ---- head office on the web (the sync server's /reports) ---------------------------------


def _nav(user: str | None, query: str) -> str:
    out = ['<nav><a href="/reports' + h.esc(query) + '">所有项目 All sites</a>']
    if user:
        out.append(
            f'<span class="sub">{h.esc(user)}</span> <form method="post" '
            'action="/reports/logout" style="display:inline"><button>退出 Sign out'
            "</button></form>"
        )
    out.append("</nav>")
    return "".join(out)


def _period_form(
    action: str, frm: str | None, to: str | None, sites: list[str] | None = None
) -> str:
    pick = ""
    if sites:
        options = "".join(f'<option value="{h.esc(c)}">{h.esc(c)}</option>' for c in sites)
        pick = f'<label>项目 Site <select name="site">{options}</select></label> '
    return (
        f'<form method="get" action="{h.esc(action)}">{pick}'
        f'<label>从 From <input name="from" value="{h.esc(frm) if frm else ""}" '
        'placeholder="2026-11-01" size="10"></label> '
        f'<label>到 To <input name="to" value="{h.esc(to) if to else ""}" '
        'placeholder="2026-11-30" size="10"></label> <button>查看 Show</button></form>'
    )


def office_index(
    rows: list[dict[str, Any]],
    *,
    user: str,
    query: str,
    frm: str | None,
    to: str | None,
    missing: list[str],
) -> str:
    """The ranking of the user's sites by score, with each category's points."""
    cats: list[str] = []
    for r in rows:
        for c in r["categories"]:
            if c["category"] not in cats:
                cats.append(c["category"])
    table = [
        {
            "rank": i + 1 if r["score"] is not None else None,
            "site": r["site"],
            "name": r["name"],
            "score": r["score"],
            "band": r["band"],
            "overdue_critical": r["overdue_critical"],
            **{c["category"]: f"{c['points']}/{c['max']}" for c in r["categories"]},
        }
        for i, r in enumerate(rows)
    ]
    body = [
        _nav(user, query),
        _period_form("/reports", frm, to, [r["site"] for r in rows]),
        h.section(
            f"项目排名 Sites by score ({len(rows)})",
            h.table(
                ["rank", "site", "name", "score", "band", *cats, "overdue_critical"],
                table,
                numeric=("rank", "score", "overdue_critical"),
                links={"site": lambda r: f"/reports/{r['site']}{query}"},
                empty="no site of yours has synced to this server yet",
            ),
        ),
    ]
    if missing:
        body.append(h.section("未同步 Not synced yet", "<p>" + h.esc(", ".join(missing)) + "</p>"))
    sub = (
        f"{frm or '…'} – {to or 'now'} (each site's days)"
        if frm or to
        else "the 30 days up to yesterday (each site's days)"
    )
    return h.page("总部报表 Head office reports", body, subtitle=sub)


def office_site(
    ov: dict[str, Any], *, user: str, query: str, frm: str | None, to: str | None
) -> str:
    tz = ov["tz"]
    code = ov["site"]
    if ov["score"] is None:
        head = '<p class="big">—</p><p class="empty">no score: nothing to measure</p>'
    else:
        head = (
            f'<p><span class="big">{ov["score"]}</span>'
            f'<span class="band">{h.esc(ov["band"])}</span> / 1000</p>'
        )
    links = (
        f'<p><a href="/reports/{h.esc(code)}.json{h.esc(query)}">JSON</a> · '
        f'<a href="/reports/{h.esc(code)}.csv{h.esc(query)}">CSV</a></p>'
    )
    body = [
        _nav(user, query),
        _period_form(f"/reports/{code}", frm, to),
        head,
        links,
        h.section(
            "分类 Categories",
            h.table(
                ["category", "points", "max"],
                ov["categories"],
                numeric=("points", "max"),
                empty="no KPI had anything to measure",
            ),
        ),
        h.section(
            "趋势 Weekly trend",
            h.trend([(w["week"][5:], w["score"]) for w in ov["trend"]], top=1000)
            or '<p class="empty">no week with a score</p>',
        ),
        h.section(
            f"网格 Grids ({len(ov['grids'])})",
            h.table(
                ["grid", "score", "band", "measured", "deductions"],
                ov["grids"],
                numeric=("score", "measured", "deductions"),
                links={
                    "grid": lambda g: (
                        f"/reports/{code}/grid/{g['grid']}{query}" if g["grid"] != "—" else None
                    )
                },
                empty="no grid had anything to measure",
            ),
        ),
        h.section(
            f"超期事项 Overdue items ({ov['overdue']['count']})",
            h.table(
                ["label", "severity", "title", "grid", "owner", "overdue", "resolve_by"],
                ov["overdue"]["items"],
                tz=tz,
                empty="nothing overdue",
            ),
        ),
        h.section(
            "指标 KPIs",
            h.table(["kpi", "rate", "of", "counts"], _kpi_rows(ov["kpis"]), numeric=("rate", "of")),
        ),
    ]
    if ov["deductions"]:
        body.append(
            h.section(
                "扣分 Deductions",
                h.table(
                    ["reason", "points"],
                    [{"reason": d["reason"], "points": -d["points"]} for d in ov["deductions"]],
                    numeric=("points",),
                ),
            )
        )
    sub = f"{people(ov['from'], tz)} – {people(ov['counted_to'], tz)}"
    return h.page(
        f"{code} {ov['name']} · 千分制 {ov['score'] if ov['score'] is not None else '—'}",
        body,
        subtitle=sub,
    )


def office_grid(ov: dict[str, Any], *, user: str, query: str, tz: str | None) -> str:
    code = ov["site"]
    rows = [
        {
            "service": s["service"],
            "score": s["score"],
            "band": s["band"],
            "kpi": k["label"],
            "rate": _pct(k["rate"]),
            "of": f"{k['numerator']}/{k['denominator']}",
        }
        for s in ov["services"]
        for k in s["kpis"]
    ]
    head = (
        f'<p><span class="big">{ov["score"] if ov["score"] is not None else "—"}</span>'
        f'<span class="band">{h.esc(ov["band"])}</span></p>'
    )
    body = [
        _nav(user, query),
        f'<p><a href="/reports/{h.esc(code)}{h.esc(query)}">← {h.esc(code)}</a></p>',
        head,
        h.section(
            f"服务 By service ({len(ov['services'])})",
            h.table(
                ["service", "score", "band", "kpi", "rate", "of"],
                rows,
                numeric=("score", "rate", "of"),
                empty="nothing measured at this grid",
            ),
        ),
        h.section(
            "得分 Lines",
            h.table(
                ["kpi", "points", "max", "rate"],
                [
                    {
                        "kpi": ln["label"],
                        "points": ln["points"],
                        "max": ln["max"],
                        "rate": _pct(ln["rate"]),
                    }
                    for ln in ov["lines"]
                ],
                numeric=("points", "max", "rate"),
                empty="no score",
            ),
        ),
    ]
    if ov["deductions"]:
        body.append(
            h.section(
                "扣分 Deductions",
                h.table(
                    ["reason", "points"],
                    [{"reason": d["reason"], "points": -d["points"]} for d in ov["deductions"]],
                    numeric=("points",),
                ),
            )
        )
    sub = f"{people(ov['from'], tz)} – {people(ov['counted_to'], tz)}"
    return h.page(f"{code} · {ov['grid']} {ov['name']}", body, subtitle=sub)


def sign_in(message: str | None = None) -> str:
    """The sign-in form: a token once, then a session cookie."""
    note = f'<p class="empty">{h.esc(message)}</p>' if message else ""
    form = (
        '<form method="post" action="/reports/login">'
        '<label>令牌 Token <input type="password" name="token" autocomplete="off" '
        'size="48" autofocus></label> <button>登录 Sign in</button></form>'
        '<p class="sub">An admin issues tokens: pm server token issue USER</p>'
    )
    return h.page("总部报表 Head office reports · 登录 Sign in", [note, form])


def problem(status: int, message: str, hint: str | None = None) -> str:
    body = [f"<p>{h.esc(message)}</p>"]
    if hint:
        body.append(f'<p class="sub">{h.esc(hint)}</p>')
    body.append('<p><a href="/reports">所有项目 All sites</a></p>')
    return h.page(f"{status} · 总部报表 Head office reports", body)
