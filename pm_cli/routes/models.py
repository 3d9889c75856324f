from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import JSON, Index
from sqlmodel import AutoString, Field

from pm_cli.store.base import AppendOnly, Mutable

WalkStatus = Literal["open", "finished", "incomplete", "abandoned"]
VisitKind = Literal["arrive", "skip"]


class Route(Mutable, table=True):
    """An ordered walk of checkpoints, each with the playbook done there, on a schedule.

    `stops` is one JSON list edited as a whole (DESIGN §3): [{"checkpoint": id,
    "playbook": id-or-null}, …]; a stop's playbook is its stop checklist (done at that
    checkpoint), except a whole-route playbook (`walks.WHOLE_ROUTE`), done once per walk."""

    __tablename__ = "route"
    __table_args__ = (Index("ix_route_site_code", "site_id", "code"),)

    code: str
    name: str
    stops: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    schedule: str | None = None  # RRULE (RFC 5545)
    window_start: str | None = None  # "HH:MM" in the site's zone
    window_end: str | None = None
    owner_id: str | None = None  # the staff member who walks it; None = whoever is on shift


class RouteWalk(Mutable, table=True):
    """One walk of a route (`pm route run`): the stops' arrivals are `RouteVisit` rows and
    each stop's checklist is a `Run` with this walk's route and the stop's checkpoint."""

    __tablename__ = "route_walk"
    __table_args__ = (Index("ix_route_walk_route", "route_id", "started_at"),)

    route_id: str
    by_id: str | None = None
    started_at: str
    finished_at: str | None = None
    status: WalkStatus = Field("open", sa_type=AutoString)
    reason: str | None = None  # what was skipped, or why it was abandoned


class RouteVisit(AppendOnly, table=True):
    """Arrival at (or a skip of) one stop of a walk; never changed."""

    __tablename__ = "route_visit"
    __table_args__ = (Index("ix_route_visit_walk", "walk_id"),)

    walk_id: str
    stop: int  # 0-based position in the route's stops when walked
    checkpoint_id: str
    kind: VisitKind = Field(sa_type=AutoString)
    at: str  # stored UTC text
    run_id: str | None = None  # the stop's checklist run
    note: str | None = None  # why skipped
    by_id: str | None = None
