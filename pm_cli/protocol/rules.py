"""The rules one change must pass, on the server (every push) and wherever a laptop wants to
know before it sends: the field rules of its table (`store.fields`, the laptop's own entry
checks), the op its kind takes, what a PDCA transition needs, and which fields name other
records (checked against the server's data by the server: same site, present)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pm_cli.protocol import content
from pm_cli.protocol.entities import REFS, registry
from pm_cli.protocol.merge import MUTABLE_OPS

PHASES = ("plan", "do", "check", "act", "closed")
RESULTS = ("effective", "not-effective")
# the steps of PDCA (sync.md §4): forward one phase, back to plan from act (not effective)
# or closed (reopened), each back step starting the next cycle
EDGES = frozenset(
    {
        ("plan", "do"),
        ("do", "check"),
        ("check", "act"),
        ("act", "closed"),
        ("act", "plan"),
        ("closed", "plan"),
    }
)


def problems(ch: dict[str, Any], *, create: bool) -> list[str]:
    """What is wrong with one change by itself, as `where` paths relative to the change
    (`fields.name: at most 200 characters …`); [] when nothing is. `create`: the server holds
    no such record yet (a new record must carry its required fields)."""
    from pm_cli.schema import model_of
    from pm_cli.store.fields import fields_of

    ent = registry().get(ch["entity"])
    model = model_of(ch["entity"])
    if ent is None or model is None:
        return [f"entity: unknown entity {ch['entity']!r}"]
    ops = ("append",) if ent.kind == "append" else MUTABLE_OPS
    if ch["op"] not in ops:
        return [f"op: {ch['entity']} takes {'|'.join(ops)}, not {ch['op']!r}"]
    values = ch["fields"]
    if not isinstance(values, dict):
        return ["fields: not an object"]
    out: list[str] = []
    if ch["op"] in ("delete", "restore"):
        want = ch["op"] == "delete"
        if set(values) != {"deleted"} or values["deleted"] is not want:
            out.append(f"fields: a {ch['op']} sets only deleted={str(want).lower()}")
            return out
    out += [
        f"fields.{name}: {why}"
        for name, why in fields_of(model).problems(values, create=create and ch["op"] != "delete")
    ]
    if not out and ch["entity"] == "pdca_event":
        out += _pdca_event(values)
    field_rules = getattr(model, "field_rules", None)  # a model's rules across its fields
    if not out and field_rules is not None:
        out += [f"fields.{name}: {why}" for name, why in field_rules(values)]
    if not out and ch["entity"] == "handover":
        out += _handover(values)
    if not out and ch["entity"] == "playbook":
        out += content.problems(ch.get("record_id"), values)
    return out


def _handover(f: dict[str, Any]) -> list[str]:
    if f.get("from_id") is not None and f.get("from_id") == f.get("to_id"):
        return ["fields.to_id: a handover goes to someone else"]
    reason = f.get("reason")
    if f.get("status") == "refused" and not (isinstance(reason, str) and reason.strip()):
        return ["fields.reason: a refused handover needs its reason"]
    return []


def _pdca_event(f: dict[str, Any]) -> list[str]:
    kind, src, dst = f.get("kind"), f.get("from_phase"), f.get("to_phase")
    if kind != "transition":
        if src is not None or dst is not None:
            return [f"fields.to_phase: a {kind} event moves no phase (only a transition does)"]
        return []
    if src is None or dst is None:
        return ["fields.to_phase: a transition needs from_phase and to_phase"]
    if (src, dst) not in EDGES:
        nexts = sorted(b for a, b in EDGES if a == src)
        return [
            f"fields.to_phase: {src} → {dst} is not a step of PDCA (from {src}: "
            f"{' or '.join(nexts) or 'none'})"
        ]
    cycle = f.get("cycle")
    if not isinstance(cycle, int) or isinstance(cycle, bool) or cycle < 1:
        return ["fields.cycle: a transition needs its cycle, a whole number ≥ 1"]
    if dst == "plan" and cycle < 2:
        return ["fields.cycle: a step back to plan starts cycle 2 or later"]
    data = f.get("data") or {}
    if dst == "act" and (not isinstance(data, dict) or data.get("result") not in RESULTS):
        return [f"fields.data.result: moving to act needs the result ({'|'.join(RESULTS)})"]
    if dst in ("check", "closed") and not (isinstance(f.get("note"), str) and f["note"].strip()):
        return [f"fields.note: moving to {dst} needs a note (what was done)"]
    if src == "act" and dst == "closed" and data.get("result") not in (None, "effective"):
        return ["fields.data.result: only an effective fix closes an item"]
    return []


def references(ch: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(where, entity, record id) for each record a change's fields name."""
    values = ch["fields"]
    for name, target in REFS.items():
        rid = values.get(name)
        if isinstance(rid, str) and rid and name in registry()[ch["entity"]].fields:
            yield f"fields.{name}", target or ch["entity"], rid
    if ch["entity"] == "route" and isinstance(values.get("stops"), list):
        for i, stop in enumerate(values["stops"]):
            rid = stop.get("checkpoint") if isinstance(stop, dict) else None
            if isinstance(rid, str) and rid:
                yield f"fields.stops[{i}].checkpoint", "checkpoint", rid
