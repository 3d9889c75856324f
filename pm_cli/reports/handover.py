"""The handover's sign-off (交接班签字): the lead handing over and the one taking over sign
the shift's report; the receiver may refuse it, with a reason (what is missing or wrong),
and a refused handover is signed again once it is put right. Each sign-off is a row of its
own (`handover`, append-only, synced), holding the counts the report showed then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from pm_cli.errors import ConflictError, UsageError
from pm_cli.sites.models import Site
from pm_cli.store.ids import utc_text

COUNTED = ("done", "walks", "failures", "opened", "closed", "open", "drills")
NEXT_COUNTED = ("due", "items", "drills")


def summary(rep: dict[str, Any]) -> dict[str, int]:
    """What the report held, as counts: the record of what was handed over."""
    out = {key: len(rep[key]) for key in COUNTED}
    out.update({f"next_{key}": len(rep["next"][key]) for key in NEXT_COUNTED})
    return out


def _day_of(rep: dict[str, Any], tz: str | None) -> str:
    from pm_cli.dates import zone

    start = datetime.fromisoformat(rep["from"].replace("Z", "+00:00"))
    return start.astimezone(zone(tz)).date().isoformat()


def sign(
    session: Session,
    *,
    site: Site,
    rep: dict[str, Any],
    giver: str,
    receiver: str,
    refuse: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record that `giver` handed the shift of `rep` (a daily report) over to `receiver`,
    who accepted it, or refused it for the reason `refuse`."""
    from pm_cli.reports.models import Handover
    from pm_cli.staff.service import get_staff
    from pm_cli.store import write

    t = now or datetime.now(UTC)
    a = get_staff(session, site=site, code=giver)
    b = get_staff(session, site=site, code=receiver)
    if a.id == b.id:
        raise UsageError(
            f"{giver} cannot hand over to themself",
            where="--to",
            hint="name the lead taking over the next shift",
        )
    if refuse is not None and not refuse.strip():
        raise UsageError(
            "a refusal needs its reason",
            where="--refuse",
            hint='say what is missing, e.g. --refuse "钥匙未交 keys not handed"',
        )
    if utc_text(t) < rep["from"]:
        raise UsageError(
            f"the {rep['shift']} shift has not started yet",
            where="--shift",
            hint="sign the handover at the end of the shift",
        )
    day = _day_of(rep, site.tz)
    shift = rep["shift"]
    done = [
        h for h in signed(session, site=site, day=day, shift=shift) if h["status"] == "accepted"
    ]
    if done and refuse is None:
        h = done[-1]
        raise ConflictError(
            f"the {shift} shift of {day} was already handed over: {h['from']} "
            f"→ {h['to']}, accepted {h['at']}",
            hint="a shift is accepted once; `pm report daily --json` shows its sign-offs",
        )
    row = write.append(
        session,
        Handover,
        site_id=site.id,
        day=day,
        shift=shift,
        from_id=a.id,
        to_id=b.id,
        status="refused" if refuse is not None else "accepted",
        reason=refuse.strip() if refuse else None,
        at=utc_text(t),
        summary=summary(rep),
    )
    return _record(row, {a.id: a.code, b.id: b.code})


def signed(session: Session, *, site: Site, day: str, shift: str) -> list[dict[str, Any]]:
    """The sign-offs of one shift, oldest first."""
    from pm_cli.reports.models import Handover
    from pm_cli.staff.models import Staff

    rows = list(
        session.exec(
            select(Handover)
            .where(
                Handover.site_id == site.id,
                Handover.day == day,
                Handover.shift == shift,
                Handover.deleted == False,  # noqa: E712
            )
            .order_by(col(Handover.at), col(Handover.hlc))
        )
    )
    ids = {r.from_id for r in rows} | {r.to_id for r in rows}
    codes = (
        dict(session.exec(select(Staff.id, Staff.code).where(col(Staff.id).in_(ids))).all())
        if ids
        else {}
    )
    return [_record(r, codes) for r in rows]


def _record(row: Any, codes: dict[str, str]) -> dict[str, Any]:
    return {
        "day": row.day,
        "shift": row.shift,
        "from": codes.get(row.from_id, "?"),
        "to": codes.get(row.to_id, "?"),
        "status": row.status,
        "reason": row.reason,
        "at": row.at,
        "summary": dict(row.summary or {}),
    }
