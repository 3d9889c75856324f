"""The quarterly PDCA review (季度 PDCA 评审): the improvement items by phase and source, how
effective the fixes were, the steps that failed again and again at one grid, the top risks,
and the score and KPIs against the previous quarter.

A quarter is three calendar months in the site's zone (2026Q4: October 1 to December 31);
one under way is counted up to now. Items are judged as they stood at the quarter's end
(their events after it are not read), so an old quarter's review does not change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from pm_cli.errors import UsageError
from pm_cli.reports import kpi as kpis
from pm_cli.reports import score as scoring
from pm_cli.sites.models import Site
from pm_cli.store import read, tables
from pm_cli.store.ids import utc_text

_QUARTER = re.compile(r"(?:(\d{4})\s*[-_ ]?\s*)?q([1-4])", re.IGNORECASE)
TOP_RISKS = 10
LEVEL_RANK = {"critical": 3, "major": 2, "minor": 1}


@dataclass(frozen=True)
class Quarter:
    year: int
    no: int

    @property
    def name(self) -> str:
        return f"{self.year}Q{self.no}"

    @property
    def first(self) -> date:
        return date(self.year, 3 * self.no - 2, 1)

    @property
    def after(self) -> date:
        """The first day of the next quarter."""
        return date(self.year + 1, 1, 1) if self.no == 4 else date(self.year, 3 * self.no + 1, 1)

    @property
    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.no == 1 else Quarter(self.year, self.no - 1)


def parse_quarter(text: str | None, today: date) -> Quarter:
    """`2026Q4`, `2026-Q4`, `2026 q4`, or `Q4` (this year); the quarter of `today` when
    none is given."""
    if text is None:
        return Quarter(today.year, (today.month - 1) // 3 + 1)
    m = _QUARTER.fullmatch(text.strip())
    if not m:
        raise UsageError(
            f"not a quarter: {text!r}",
            where="--quarter",
            hint="write YEARQn, e.g. 2026Q4 (or Q4 for this year)",
        )
    q = Quarter(int(m.group(1)) if m.group(1) else today.year, int(m.group(2)))
    if q.first > today:
        raise UsageError(
            f"{q.name} has not begun (today is {today.isoformat()})",
            where="--quarter",
            hint="give this quarter or an earlier one",
        )
    return q


def _period(site: Site, q: Quarter, now: datetime) -> kpis.Period:
    from pm_cli.schedules.service import day_bounds

    return kpis.Period(day_bounds(q.first, site.tz)[0], day_bounds(q.after, site.tz)[0], now)


# ---- the improvement items -----------------------------------------------------------------


def _items(
    conn: sa.Connection, site: Site, p: kpis.Period, codes: tuple[dict[str, str], dict[str, str]]
) -> dict[str, Any]:
    """Items opened in the quarter or carried into it (open at its start), by source and
    by their phase at its end; the verifications of the quarter and their results."""
    from pm_cli.pdca import rules

    t, ev = tables.pdca, tables.pdca_event
    lo, hi = utc_text(p.since), utc_text(p.end)
    # an item closed before the quarter and not moved since is not read
    moved = sa.select(ev.c.pdca_id).where(ev.c.site_id == site.id, ev.c.created_at >= lo)
    items = conn.execute(
        read.live(t, site.id).where(
            t.c.created_at < hi,
            sa.or_(t.c.created_at >= lo, ~rules.closed_in_sql(t, ev), t.c.id.in_(moved)),
        )
    ).all()
    events = read.children(conn, ev, "pdca_id", [i.id for i in items])
    by_source: dict[str, dict[str, int]] = {}
    verified = {"effective": 0, "not-effective": 0}
    reopened: list[dict[str, Any]] = []
    listed: list[dict[str, Any]] = []
    grids, staff = codes
    for item in items:
        mine = [e for e in events.get(item.id, []) if e.created_at < hi]
        at_start = rules.state_of([e for e in mine if e.created_at < lo])
        carried = item.created_at < lo
        if carried and at_start.status != "open":
            continue  # closed or withdrawn before the quarter: not the quarter's business
        st = rules.state_of(mine)
        phase = "withdrawn" if st.withdrawn is not None else st.phase
        row = by_source.setdefault(
            item.source,
            {
                "source": item.source,
                "opened": 0,
                "carried_in": 0,
                **dict.fromkeys((*rules.PHASES, "withdrawn"), 0),
            },
        )
        row["carried_in" if carried else "opened"] += 1
        row[phase] += 1
        for e in mine:
            if e.created_at < lo or e.kind != "transition":
                continue
            if e.to_phase == "act":
                result = (e.data or {}).get("result")
                if result in verified:
                    verified[result] += 1
            if e.to_phase == "plan" and (e.cycle or 1) > 1:
                reopened.append(
                    {
                        "label": rules.label(item),
                        "title": item.title,
                        "grid": grids.get(item.grid_id) if item.grid_id else None,
                        "owner": staff.get(item.owner_id) if item.owner_id else None,
                        "cycle": e.cycle,
                        "at": e.created_at,
                        "note": e.note,
                    }
                )
        if phase not in ("closed", "withdrawn"):
            listed.append(
                {
                    "label": rules.label(item),
                    "severity": item.severity,
                    "title": item.title,
                    "source": item.source,
                    "phase": phase,
                    "owner": staff.get(item.owner_id) if item.owner_id else None,
                    "overdue": rules.breaches(item, st, p.end),
                }
            )
    rows = [
        by_source[s]
        for s in (*rules.SOURCES, *sorted(set(by_source) - set(rules.SOURCES)))
        if s in by_source
    ]
    if rows:
        total: dict[str, Any] = {"source": "total"}
        for key in rows[0]:
            if key != "source":
                total[key] = sum(r[key] for r in rows)
        rows.append(total)
    checked = verified["effective"] + verified["not-effective"]
    return {
        "by_source": rows,
        "effectiveness": {
            "numerator": verified["effective"],
            "denominator": checked,
            "rate": round(verified["effective"] / checked, 4) if checked else None,
            "not_effective": verified["not-effective"],
            "what": "verifications of the quarter found effective ÷ verifications of the quarter",
        },
        "reopened": sorted(reopened, key=lambda r: r["at"]),
        "open_at_end": sorted(
            listed, key=lambda r: (-LEVEL_RANK.get(r["severity"], 0), not r["overdue"], r["label"])
        ),
    }


# ---- the steps that fail again -------------------------------------------------------------


def _repeats(
    conn: sa.Connection, site: Site, p: kpis.Period, codes: tuple[dict[str, str], dict[str, str]]
) -> dict[str, Any]:
    """Failures (each run's newest answer to a step) of runs finished in the quarter, by
    step and grid; a step that failed twice or more at one grid is a repeat."""
    from pm_cli.playbooks import read as playbooks

    run, sr = tables.run, tables.step_result
    lo, hi = utc_text(p.since), utc_text(p.end)
    in_period = (
        read.live(run, site.id)
        .with_only_columns(run.c.id)
        .where(
            run.c.status.in_(("finished", "incomplete")),
            run.c.finished_at >= lo,
            run.c.finished_at < hi,
        )
    )
    failing = (
        sa.select(sr.c.run_id).where(sr.c.outcome == "fail", sr.c.run_id.in_(in_period)).distinct()
    )
    runs = {
        r.id: r
        for r in conn.execute(
            sa.select(
                run.c.id,
                run.c.playbook_id,
                run.c.playbook_version,
                run.c.playbook_sha256,
                run.c.grid_id,
                run.c.finished_at,
            ).where(run.c.id.in_(failing))
        )
    }
    answers = read.children(conn, sr, "run_id", list(runs))  # each list in stamp order
    cells: dict[tuple[str, str, str | None], list[str]] = {}
    for rid, rows in answers.items():
        newest = {a.step_id: a.outcome for a in rows}
        r = runs[rid]
        for step_id, outcome in newest.items():
            if outcome == "fail":
                cells.setdefault((r.playbook_id, step_id, r.grid_id), []).append(r.finished_at)
    titles: dict[tuple[str, str], str] = {}
    for r in runs.values():
        if any((r.playbook_id, s) not in titles for (pb, s, _) in cells if pb == r.playbook_id):
            try:
                for s in playbooks.get_pinned(
                    conn, r.playbook_id, r.playbook_version, r.playbook_sha256
                ).playbook.steps:
                    titles.setdefault((r.playbook_id, s.id), s.title)
            except Exception:  # noqa: BLE001  a playbook version this laptop lacks
                pass
    grids = codes[0]
    by_step: dict[tuple[str, str], dict[str, Any]] = {}
    repeats = []
    for (pb, step, grid_id), stamps in cells.items():
        title = titles.get((pb, step), step)
        agg = by_step.setdefault(
            (pb, step), {"playbook": pb, "step": step, "title": title, "failures": 0, "grids": 0}
        )
        agg["failures"] += len(stamps)
        agg["grids"] += 1
        if len(stamps) >= 2:
            repeats.append(
                {
                    "playbook": pb,
                    "step": step,
                    "title": title,
                    "grid": grids.get(grid_id) if grid_id else None,
                    "failures": len(stamps),
                    "first": min(stamps),
                    "last": max(stamps),
                }
            )
    return {
        "repeat_failures": sorted(
            repeats, key=lambda r: (-r["failures"], r["playbook"], r["step"], r["grid"] or "")
        ),
        "failures_by_step": sorted(
            by_step.values(), key=lambda r: (-r["failures"], r["playbook"], r["step"])
        )[:20],
    }


# ---- the top risks -------------------------------------------------------------------------


def _risks(
    conn: sa.Connection, site: Site, p: kpis.Period, codes: tuple[dict[str, str], dict[str, str]]
) -> list[dict[str, Any]]:
    """The open risks at the quarter's end, worst first (level, then L × I), as assessed
    then."""
    from types import SimpleNamespace

    from pm_cli.risks import read as risks

    t = tables.risk
    hi = utc_text(p.end)
    rows = conn.execute(
        read.live(t, site.id).where(t.c.created_at < hi, t.c.status == "open")
    ).all()
    events = read.children(conn, tables.risk_event, "risk_id", [r.id for r in rows])
    grids, staff = codes
    out = []
    for r in rows:
        mine = [e for e in events.get(r.id, []) if e.created_at < hi]
        assessed = [e for e in mine if e.likelihood is not None and e.impact is not None]
        then = SimpleNamespace(**r._asdict())
        if assessed:  # the newest assessment before the quarter's end
            then.likelihood, then.impact = assessed[-1].likelihood, assessed[-1].impact
        st = risks.state(then, mine, now=p.end)
        out.append(
            {
                "code": r.code,
                "title": r.title,
                "level": st.level,
                "score": st.score,
                "grid": grids.get(r.grid_id) if r.grid_id else None,
                "owner": staff.get(r.owner_id) if r.owner_id else None,
                "controls": r.controls,
                "last_review": st.last_review,
                "review_overdue": st.review_overdue,
            }
        )
    out.sort(key=lambda x: (-LEVEL_RANK[x["level"]], -x["score"], x["code"]))
    return out[:TOP_RISKS]


# ---- against the previous quarter ----------------------------------------------------------


def _compare(
    session: Session, site: Site, p: kpis.Period, before: kpis.Period, scheme: scoring.Scheme
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    mine = kpis.compute(session, site=site, p=p, dims=())
    theirs = kpis.compute(session, site=site, p=before, dims=())
    s, s0 = scoring.score(mine, scheme), scoring.score(theirs, scheme)
    score = {
        "score": s.score,
        "band": s.band,
        "previous": s0.score,
        "previous_band": s0.band,
        "change": None if s.score is None or s0.score is None else round(s.score - s0.score, 1),
        "deductions": s.deductions,
    }
    rows = []
    for k, k0 in zip(mine.kpis, theirs.kpis, strict=True):
        a, b = k.record(), k0.record()
        rows.append(
            {
                "kpi": k.key,
                "label": k.label,
                "rate": a["rate"],
                "numerator": a["numerator"],
                "denominator": a["denominator"],
                "previous": b["rate"],
                "previous_numerator": b["numerator"],
                "previous_denominator": b["denominator"],
                "change": None
                if a["rate"] is None or b["rate"] is None
                else round(a["rate"] - b["rate"], 4),
            }
        )
    return score, rows


def refresh(
    session: Session, *, site: Site, quarter: str | None = None, now: datetime | None = None
) -> int:
    """Bring the rollups of the quarter and the one before it up to date (a write
    session)."""
    from pm_cli.dates import zone
    from pm_cli.reports import rollup

    t = now or datetime.now(UTC)
    q = parse_quarter(quarter, t.astimezone(zone(site.tz)).date())
    return rollup.refresh(
        session,
        site=site,
        since=_period(site, q.previous, t).since,
        until=_period(site, q, t).end,
        now=t,
    )


def review(
    session: Session,
    *,
    site: Site,
    quarter: str | None = None,
    scheme: scoring.Scheme = scoring.DEFAULT,
    now: datetime | None = None,
) -> dict[str, Any]:
    from pm_cli.dates import zone

    t = now or datetime.now(UTC)
    q = parse_quarter(quarter, t.astimezone(zone(site.tz)).date())
    p, before = _period(site, q, t), _period(site, q.previous, t)
    conn = read.connection(session)
    codes = read.id_codes(conn, site.id)
    score, compared = _compare(session, site, p, before, scheme)
    return {
        "site": site.code,
        "quarter": q.name,
        "previous_quarter": q.previous.name,
        "from": utc_text(p.since),
        "to": utc_text(p.until),
        "counted_to": utc_text(p.end),
        "items": _items(conn, site, p, codes),
        **_repeats(conn, site, p, codes),
        "top_risks": _risks(conn, site, p, codes),
        "score": score,
        "kpis": compared,
    }


def _pct(rate: float | None) -> str | None:
    return None if rate is None else f"{rate:.1%}"


def _pp(change: float | None) -> str | None:
    return None if change is None else f"{change * 100:+.1f} pp"


def sections(rep: dict[str, Any]) -> list[tuple[str, tuple[str, ...], list[dict[str, Any]]]]:
    """The review's tables in reading order: (title, columns, rows)."""
    from pm_cli.pdca.rules import PHASES

    sc = rep["score"]
    eff = rep["items"]["effectiveness"]
    head = [
        {"figure": f"score {rep['quarter']}", "value": sc["score"], "band": sc["band"]},
        {
            "figure": f"score {rep['previous_quarter']}",
            "value": sc["previous"],
            "band": sc["previous_band"],
        },
        {"figure": "change", "value": sc["change"], "band": None},
        {
            "figure": "fixes effective",
            "value": _pct(eff["rate"]),
            "band": f"{eff['numerator']}/{eff['denominator']}",
        },
    ]
    kpi_rows = [
        {
            **k,
            "rate": _pct(k["rate"]),
            "previous": _pct(k["previous"]),
            "of": f"{k['numerator']}/{k['denominator']}",
            "previous_of": f"{k['previous_numerator']}/{k['previous_denominator']}",
            "change": _pp(k["change"]),
        }
        for k in rep["kpis"]
    ]
    return [
        ("summary", ("figure", "value", "band"), head),
        (
            f"KPIs against {rep['previous_quarter']}",
            ("label", "rate", "of", "previous", "previous_of", "change"),
            kpi_rows,
        ),
        (
            "items by source and phase (at the quarter's end)",
            ("source", "opened", "carried_in", *PHASES, "withdrawn"),
            rep["items"]["by_source"],
        ),
        (
            "reopened (not effective)",
            ("label", "title", "grid", "owner", "cycle", "at"),
            rep["items"]["reopened"],
        ),
        (
            "still open at the quarter's end",
            ("label", "severity", "title", "source", "phase", "owner", "overdue"),
            rep["items"]["open_at_end"],
        ),
        (
            "repeat failures (a step failing twice or more at one grid)",
            ("grid", "playbook", "title", "failures", "first", "last"),
            rep["repeat_failures"],
        ),
        ("failures by step", ("playbook", "title", "failures", "grids"), rep["failures_by_step"]),
        (
            "top risks",
            ("code", "title", "level", "score", "grid", "owner", "review_overdue"),
            rep["top_risks"],
        ),
    ]
