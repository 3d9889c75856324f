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
    return [{"kpi": k["label"], "rate": _pct(k["rate"]),
             "of": f"{k['numerator']}/{k['denominator']}", "counts": k["what"]} for k in kpis]


def kpi(rep: dict[str, Any], tz: str | None) -> str:
    measured = [k for k in rep["kpis"] if k["denominator"]]
    body = [
        h.section("指标 KPIs", h.bars([(k["label"], k["rate"], _pct(k["rate"]))
                                      for k in measured]) if measured else
                  '<p class="empty">nothing to measure in the period: no inspection due, no '
                  "item, drill, open risk or survey</p>",
                  h.table(["kpi", "rate", "of", "counts"], _kpi_rows(rep["kpis"]),
                          numeric=("rate", "of"))),
    ]
    if rep.get("groups"):
        dim = rep["by"]
        rows = [{dim: g[dim], "kpi": k["label"], "rate": _pct(k["rate"]),
                 "of": f"{k['numerator']}/{k['denominator']}"}
                for g in rep["groups"] for k in g["kpis"] if k["denominator"]]
        body.append(h.section(f"by {dim}", h.table([dim, "kpi", "rate", "of"], rows,
                                                   numeric=("rate", "of"))))
    sat = rep.get("satisfaction") or {}
    if sat.get("by_grid"):
        body.append(h.section(
            "业主满意度 Owner satisfaction",
            h.trend([(m["month"], round(100 * (m["rate"] or 0), 1))
                     for m in sat["by_month"]], top=100, unit="%"),
            h.table(["grid", "rate", "satisfied", "coverage"], [
                {"grid": g["grid"], "rate": _pct(g["rate"]),
                 "satisfied": f"{g['numerator']}/{g['denominator']}",
                 "coverage": _coverage(g)} for g in sat["by_grid"]],
                numeric=("rate", "satisfied"))))
    return h.page(f"KPI 关键指标 · {rep['site']}", body, subtitle=_period(rep, tz))


def _coverage(rec: dict[str, Any]) -> str:
    cov = rec.get("coverage") or {}
    if not cov.get("denominator"):
        return "—"
    kept = f", points × {cov['factor']:.3f}" if cov["factor"] < 1 else ""
    return f"{cov['numerator']}/{cov['denominator']} = {cov['rate']:.0%}{kept}"


def score(rep: dict[str, Any], tz: str | None) -> str:
    if rep["score"] is None:
        head = '<p class="big">—</p><p class="empty">' + h.esc(rep["explain"][0]) + "</p>"
    else:
        head = (f'<p><span class="big">{rep["score"]}</span>'
                f'<span class="band">{h.esc(rep["band"])}</span> / 1000</p>')
    lines = [{"category": ln["category"], "kpi": ln["label"], "points": ln["points"],
              "max": ln["max"], "rate": _pct(ln["rate"]),
              "of": f"{ln['numerator']}/{ln['denominator']}"} for ln in rep["lines"]]
    body = [head,
            h.section("得分 Lines", h.bars([(ln["label"], ln["rate"],
                                             f"{ln['points']} / {ln['max']}")
                                            for ln in rep["lines"]]),
                      h.table(["category", "kpi", "points", "max", "rate", "of"], lines,
                              numeric=("points", "max", "rate", "of"),
                              empty="no KPI had anything to measure"))]
    if rep["deductions"]:
        body.append(h.section("扣分 Deductions", h.table(
            ["reason", "points"], [{"reason": d["reason"], "points": -d["points"]}
                                   for d in rep["deductions"]], numeric=("points",))))
    if rep["categories"]:
        body.append(h.section("分类 Categories", h.table(
            ["category", "points", "max"], rep["categories"], numeric=("points", "max"))))
    if rep.get("groups"):
        dim = rep["by"]
        body.append(h.section(f"by {dim}", h.table(
            [dim, "score", "band", "deductions"],
            [{dim: g[dim], "score": g["score"], "band": g["band"],
              "deductions": sum(d["points"] for d in g["deductions"]) or None}
             for g in rep["groups"]], numeric=("score", "deductions"))))
    body.append(h.section("算法 The arithmetic", "<pre>" + "\n".join(
        h.esc(line, tz) for line in rep["explain"]) + "</pre>"))
    return h.page(f"千分制 Site score · {rep['site']}", body, subtitle=_period(rep, tz))


def daily(rep: dict[str, Any], tz: str | None) -> str:
    from pm_cli.reports.daily import sections

    body = [h.section(f"{title} ({len(rows)})", h.table(list(cols), rows, tz=tz))
            for title, cols, rows in sections(rep)]
    sub = f"{rep['shift']}: {people(rep['from'], tz)} – {people(rep['to'], tz)}"
    return h.page(f"交接班 Shift handover · {rep['site']}", body, subtitle=sub)


def quarter(rep: dict[str, Any], tz: str | None) -> str:
    from pm_cli.reports.quarter import sections

    sc = rep["score"]
    if sc["score"] is None:
        head = '<p class="big">—</p><p class="empty">no score: nothing to measure in the ' \
               "quarter</p>"
    else:
        was = (f" · {h.esc(rep['previous_quarter'])}: {sc['previous']} "
               f"({h.esc(sc['previous_band'])})" if sc["previous"] is not None else "")
        change = f" · {sc['change']:+g}" if sc["change"] is not None else ""
        head = (f'<p><span class="big">{sc["score"]}</span>'
                f'<span class="band">{h.esc(sc["band"])}</span> / 1000{was}{change}</p>')
    measured = [k for k in rep["kpis"] if k["rate"] is not None or k["previous"] is not None]
    chart = h.bars([(k["label"], k["rate"], _pct(k["rate"]))
                    for k in measured]) if measured else ""
    body = [head, chart]
    for title, cols, rows in sections(rep)[1:]:
        body.append(h.section(f"{title} ({len(rows)})", h.table(list(cols), rows, tz=tz)))
    sub = f"{people(rep['from'], tz)} – {people(rep['counted_to'], tz)}"
    return h.page(f"季度 PDCA 评审 Quarterly review {rep['quarter']} · {rep['site']}", body,
                  subtitle=sub)
