"""Every table of the schema as a SQLAlchemy Core `Table`, for queries only (the schema
is made by the migrations, from the models). Generated from the models by
`python -m pm_cli.store.tablegen`: do not edit by hand (tests/store/test_tables.py fails when
this file is stale).

A table is built when first named (`tables.grid`): a command builds only the tables it
reads; `every()` builds them all."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import JSON, Boolean, Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()
_lock = threading.Lock()  # the server's threads may name a table first at once


def _change() -> Table:
    return Table(
        "change",
        metadata,
        Column("change_id", String, primary_key=True, nullable=False),
        Column("local_no", Integer, nullable=False, unique=True),
        Column("site_id", String, nullable=False),
        Column("entity", String, nullable=False),
        Column("record_id", String, nullable=False),
        Column("op", String, nullable=False),
        Column("fields", JSON, nullable=False),
        Column("base", JSON, nullable=False),
        Column("hlc", String, nullable=False),
        Column("device_id", String, nullable=False),
        Column("schema", Integer, nullable=False),
        Column("state", String, nullable=False, default="pending"),
        Column("seq", Integer, nullable=True),
        Column("reason", String, nullable=True),
    )


def _checkpoint() -> Table:
    return Table(
        "checkpoint",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("code", String, nullable=False),
        Column("name", String, nullable=False),
        Column("grid_id", String, nullable=False),
        Column("x", Float, nullable=True),
        Column("y", Float, nullable=True),
        Column("lat", Float, nullable=True),
        Column("lon", Float, nullable=True),
        Column("tag_uid", String, nullable=True),
        Column("tags", JSON, nullable=False, default=list),
    )


def _conflict() -> Table:
    return Table(
        "conflict",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("entity", String, nullable=False),
        Column("record_id", String, nullable=False),
        Column("field", String, nullable=True),
        Column("kind", String, nullable=False),
        Column("winner_value", JSON, nullable=True),
        Column("loser_value", JSON, nullable=True),
        Column("winner_change", String, nullable=True),
        Column("loser_change", String, nullable=True),
        Column("winner_hlc", String, nullable=True),
        Column("loser_hlc", String, nullable=True),
        Column("resolved_hlc", String, nullable=True),
        Column("resolution", String, nullable=True),
    )


def _drill() -> Table:
    return Table(
        "drill",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("code", String, nullable=False),
        Column("scenario", String, nullable=False),
        Column("title", String, nullable=True),
        Column("grid_id", String, nullable=True),
        Column("schedule", String, nullable=True),
    )


def _drill_event() -> Table:
    return Table(
        "drill_event",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("hlc", String, nullable=False),
        Column("drill_run_id", String, nullable=False),
        Column("milestone", String, nullable=False),
        Column("at", String, nullable=False),
        Column("note", String, nullable=True),
    )


def _drill_run() -> Table:
    return Table(
        "drill_run",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("drill_id", String, nullable=False),
        Column("scenario", String, nullable=False),
        Column("kind", String, nullable=False, default="functional"),
        Column("started_at", String, nullable=False),
        Column("finished_at", String, nullable=True),
        Column("status", String, nullable=False, default="open"),
        Column("participants", Integer, nullable=True),
        Column("roster", JSON, nullable=False, default=list),
        Column("observers", String, nullable=True),
        Column("weather", String, nullable=True),
        Column("note", String, nullable=True),
    )


def _evidence_copy() -> Table:
    return Table(
        "evidence_copy",
        metadata,
        Column("sha256", String, primary_key=True, nullable=False),
        Column("state", String, nullable=False),
        Column("at", String, nullable=False),
    )


def _grid() -> Table:
    return Table(
        "grid",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("code", String, nullable=False),
        Column("name", String, nullable=False),
        Column("parent_id", String, nullable=True),
        Column("owner_id", String, nullable=True),
        Column("risk_level", String, nullable=False, default="minor"),
        Column("tags", JSON, nullable=False, default=list),
    )


def _grid_duty() -> Table:
    return Table(
        "grid_duty",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("grid_id", String, nullable=False),
        Column("text", String, nullable=False),
        Column("position", Integer, nullable=False, default=0),
    )


def _handover() -> Table:
    return Table(
        "handover",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("hlc", String, nullable=False),
        Column("day", String, nullable=False),
        Column("shift", String, nullable=True),
        Column("from_id", String, nullable=False),
        Column("to_id", String, nullable=False),
        Column("status", String, nullable=False, default="accepted"),
        Column("reason", String, nullable=True),
        Column("at", String, nullable=False),
        Column("summary", JSON, nullable=False, default=dict),
    )


def _kpi_day() -> Table:
    return Table(
        "kpi_day",
        metadata,
        Column("site_id", String, primary_key=True, nullable=False),
        Column("day", String, primary_key=True, nullable=False),
        Column("week", String, nullable=False),
        Column("kpi", String, primary_key=True, nullable=False),
        Column("grid_id", String, primary_key=True, nullable=False, default=""),
        Column("service", String, primary_key=True, nullable=False, default=""),
        Column("staff_id", String, primary_key=True, nullable=False, default=""),
        Column("numerator", Float, nullable=False, default=0.0),
        Column("denominator", Float, nullable=False, default=0.0),
        Column("asked", Float, nullable=False, default=0.0),
    )


def _kpi_day_done() -> Table:
    return Table(
        "kpi_day_done",
        metadata,
        Column("site_id", String, primary_key=True, nullable=False),
        Column("day", String, primary_key=True, nullable=False),
        Column("computed_at", String, nullable=False),
    )


def _number_block() -> Table:
    return Table(
        "number_block",
        metadata,
        Column("site_id", String, primary_key=True, nullable=False),
        Column("first", Integer, primary_key=True, nullable=False),
        Column("last", Integer, nullable=False),
        Column("next_no", Integer, nullable=False),
    )


def _pdca() -> Table:
    return Table(
        "pdca",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("no", Integer, nullable=True),
        Column("title", String, nullable=False),
        Column("description", String, nullable=True),
        Column("source", String, nullable=False, default="manual"),
        Column("source_ref", String, nullable=True),
        Column("dedup_key", String, nullable=True),
        Column("grid_id", String, nullable=True),
        Column("owner_id", String, nullable=True),
        Column("severity", String, nullable=False, default="minor"),
        Column("respond_by", String, nullable=False),
        Column("resolve_by", String, nullable=False),
        Column("plan", String, nullable=True),
        Column("containment", String, nullable=True),
        Column("root_cause", String, nullable=True),
        Column("corrective", String, nullable=True),
        Column("preventive", String, nullable=True),
    )


def _pdca_event() -> Table:
    return Table(
        "pdca_event",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("hlc", String, nullable=False),
        Column("pdca_id", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("from_phase", String, nullable=True),
        Column("to_phase", String, nullable=True),
        Column("cycle", Integer, nullable=True),
        Column("by_id", String, nullable=True),
        Column("note", String, nullable=True),
        Column("data", JSON, nullable=False, default=dict),
    )


def _playbook() -> Table:
    return Table(
        "playbook",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("hlc", String, nullable=False),
        Column("playbook_id", String, nullable=False),
        Column("version", Integer, nullable=False),
        Column("sha256", String, nullable=False),
        Column("title", String, nullable=False),
        Column("service", String, nullable=False),
        Column("schedule", String, nullable=True),
        Column("yaml", Text, nullable=False),
        Column("spec", Text, nullable=False),
    )


def _risk() -> Table:
    return Table(
        "risk",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("code", String, nullable=False),
        Column("title", String, nullable=False),
        Column("area", String, nullable=True),
        Column("grid_id", String, nullable=True),
        Column("cause", String, nullable=True),
        Column("consequence", String, nullable=True),
        Column("likelihood", Integer, nullable=False),
        Column("impact", Integer, nullable=False),
        Column("legal", Boolean, nullable=False, default=False),
        Column("controls", String, nullable=True),
        Column("further_actions", String, nullable=True),
        Column("playbook_steps", JSON, nullable=False, default=list),
        Column("owner_id", String, nullable=True),
        Column("review", String, nullable=True),
        Column("status", String, nullable=False, default="open"),
    )


def _risk_event() -> Table:
    return Table(
        "risk_event",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("hlc", String, nullable=False),
        Column("risk_id", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("likelihood", Integer, nullable=True),
        Column("impact", Integer, nullable=True),
        Column("by_id", String, nullable=True),
        Column("note", String, nullable=True),
    )


def _rollup_dirty() -> Table:
    return Table(
        "rollup_dirty",
        metadata,
        Column("site_id", String, primary_key=True, nullable=False),
        Column("day", String, primary_key=True, nullable=False),
    )


def _route() -> Table:
    return Table(
        "route",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("code", String, nullable=False),
        Column("name", String, nullable=False),
        Column("stops", JSON, nullable=False, default=list),
        Column("schedule", String, nullable=True),
        Column("window_start", String, nullable=True),
        Column("window_end", String, nullable=True),
        Column("owner_id", String, nullable=True),
    )


def _route_visit() -> Table:
    return Table(
        "route_visit",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("hlc", String, nullable=False),
        Column("walk_id", String, nullable=False),
        Column("stop", Integer, nullable=False),
        Column("checkpoint_id", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("at", String, nullable=False),
        Column("run_id", String, nullable=True),
        Column("note", String, nullable=True),
        Column("by_id", String, nullable=True),
    )


def _route_walk() -> Table:
    return Table(
        "route_walk",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("route_id", String, nullable=False),
        Column("by_id", String, nullable=True),
        Column("started_at", String, nullable=False),
        Column("finished_at", String, nullable=True),
        Column("status", String, nullable=False, default="open"),
        Column("reason", String, nullable=True),
    )


def _run() -> Table:
    return Table(
        "run",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("playbook_id", String, nullable=False),
        Column("playbook_version", Integer, nullable=False),
        Column("playbook_sha256", String, nullable=False),
        Column("grid_id", String, nullable=True),
        Column("checkpoint_id", String, nullable=True),
        Column("route_id", String, nullable=True),
        Column("by_id", String, nullable=True),
        Column("started_at", String, nullable=False),
        Column("finished_at", String, nullable=True),
        Column("status", String, nullable=False, default="open"),
        Column("reason", String, nullable=True),
    )


def _site() -> Table:
    return Table(
        "site",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("code", String, nullable=False),
        Column("name", String, nullable=False),
        Column("tz", String, nullable=True),
        Column("address", String, nullable=True),
        Column("sla", JSON, nullable=True),
    )


def _staff() -> Table:
    return Table(
        "staff",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("code", String, nullable=False),
        Column("name", String, nullable=False),
        Column("role", String, nullable=False),
        Column("phone", String, nullable=True),
        Column("team", String, nullable=True),
    )


def _step_result() -> Table:
    return Table(
        "step_result",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("hlc", String, nullable=False),
        Column("run_id", String, nullable=False),
        Column("step_id", String, nullable=False),
        Column("outcome", String, nullable=False),
        Column("value", Float, nullable=True),
        Column("note", String, nullable=True),
        Column("reason", String, nullable=True),
        Column("evidence_path", String, nullable=True),
        Column("evidence_sha256", String, nullable=True),
        Column("by_id", String, nullable=True),
    )


def _survey() -> Table:
    return Table(
        "survey",
        metadata,
        Column("id", String, primary_key=True, nullable=False),
        Column("site_id", String, nullable=True),
        Column("created_at", String, nullable=False),
        Column("deleted", Boolean, nullable=False, default=False),
        Column("field_hlc", JSON, nullable=False, default=dict),
        Column("updated_hlc", String, nullable=False, default=""),
        Column("day", String, nullable=False),
        Column("grid_id", String, nullable=True),
        Column("asked", Integer, nullable=False),
        Column("answered", Integer, nullable=False),
        Column("satisfied", Float, nullable=True),
        Column("scores", JSON, nullable=False, default=dict),
        Column("note", String, nullable=True),
    )


def _sync_parked() -> Table:
    return Table(
        "sync_parked",
        metadata,
        Column("seq", Integer, primary_key=True, nullable=False),
        Column("change", JSON, nullable=False),
        Column("reason", String, nullable=False),
    )


def _sync_state() -> Table:
    return Table(
        "sync_state",
        metadata,
        Column("id", Integer, primary_key=True, nullable=False, default=1),
        Column("device_id", String, nullable=False),
        Column("last_hlc", String, nullable=False),
        Column("clock_offset_ms", Integer, nullable=False, default=0),
        Column("server_epoch", String, nullable=True),
        Column("cursor", Integer, nullable=False, default=0),
        Column("last_sync_at", String, nullable=True),
        Column("appends_logged", Boolean, nullable=False, default=False),
    )


# each table's maker is `_<name>` above
_MAKERS: dict[str, Callable[[], Table]] = {
    name: globals()[f"_{name}"]
    for name in (
        "change checkpoint conflict drill drill_event drill_run evidence_copy grid "
        "grid_duty handover kpi_day kpi_day_done number_block pdca pdca_event playbook "
        "risk risk_event rollup_dirty route route_visit route_walk run site staff "
        "step_result survey sync_parked sync_state "
    ).split()
}


def __getattr__(name: str) -> Table:
    make = _MAKERS.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:
        table = metadata.tables.get(name)
        if table is None:
            table = make()
        globals()[name] = table
    return table


def every() -> dict[str, Table]:
    """Every table, by name."""
    return {name: __getattr__(name) for name in _MAKERS}
