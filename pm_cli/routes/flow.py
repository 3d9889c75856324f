"""The interactive route walk: stop k of n, arrival on Enter (or the tag), then that stop's
checklist (pm_cli.runs.flow) one step at a time; `p` at arrival passes every check of the
stop at once. Each arrival and answer is committed before the next prompt, so quitting,
Ctrl-C or a killed process loses nothing; running it again resumes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pm_cli.routes import walks
from pm_cli.runs.flow import Flow, Quit
from pm_cli.sites.context import current_site


class WalkFlow:
    def __init__(
        self,
        *,
        ctx: Any,
        out: Any,
        walk_id: str,
        ask: Callable[[str], str],
        store_dir: Path,
        tz: str | None,
    ):
        self.ctx, self.out, self.walk_id, self.ask, self.store_dir, self.tz = (
            ctx,
            out,
            walk_id,
            ask,
            store_dir,
            tz,
        )

    def _view(self) -> walks.WalkView:
        with self.ctx.session() as s:
            site = current_site(self.ctx, s)
            return walks.view(s, walks.get_walk(s, site=site, ref=self.walk_id))

    def _prompt(self, text: str) -> str:
        try:
            return self.ask(text).strip()
        except EOFError:
            raise Quit from None

    def _local(self, utc: str | None) -> str:
        from pm_cli.timefmt import local

        return local(utc, self.tz, "%H:%M") or ""

    def run(self) -> walks.WalkView | None:
        """Walk the remaining stops; the finished walk, or None when paused."""
        wv = self._view()
        n = len(wv.stops)
        done = sum(1 for s in wv.stops if s.done)
        begun = any(s.arrived_at or s.skipped is not None for s in wv.stops)
        self.out.say(
            f"route {wv.route.code} · {wv.route.name} · walk {walks.short(wv.walk.id)}"
            f" · {n} stops" + (f" · {done} done, continuing" if begun else "")
        )
        try:
            while (stop := wv.next_stop) is not None:
                cp = stop.checkpoint
                title = f"── stop {stop.index + 1}/{n} · {cp.code} {cp.name}"
                self.out.say(title + (f" · {stop.checklist}" if stop.checklist else "") + " ──")
                pass_all = False
                if stop.arrived_at is None:
                    arrived = self._arrive(wv, stop)
                    if arrived is None:
                        wv = self._view()
                        continue
                    pass_all = arrived
                if stop.run is not None and not self._checklist(stop, pass_all=pass_all):
                    raise Quit
                wv = self._view()
        except Quit:
            return None
        with self.ctx.session(write=True) as s:
            site = current_site(self.ctx, s)
            return walks.finish(s, walk=walks.get_walk(s, site=site, ref=self.walk_id))

    def _arrive(self, wv: walks.WalkView, stop: walks.Stop) -> bool | None:
        """On arrival, whether to pass every check at once (`p`); None when skipped."""
        cp = stop.checkpoint
        tag = f" (tag {cp.tag_uid})" if cp.tag_uid else ""
        keys = "p arrive and pass all · s skip · q quit" if stop.checklist else "s skip · q quit"
        while True:
            line = self._prompt(f"Enter when you are at {cp.code}{tag} · {keys} > ")
            raw = line.lower()
            if raw == "q":
                raise Quit
            if raw == "s" or raw.startswith("s "):
                reason = line[2:].strip()
                while not reason:
                    reason = self._prompt("why is it skipped? > ")
                with self.ctx.session(write=True) as s:
                    site = current_site(self.ctx, s)
                    walks.skip(
                        s,
                        site=site,
                        walk=walks.get_walk(s, site=site, ref=self.walk_id),
                        stop=stop.index,
                        reason=reason,
                    )
                self.out.say(f"  skipped {stop.checkpoint.code}: {reason}")
                return None
            if raw in ("", "y", "a", "p"):
                break
            other = walks.find_stop(wv, raw)
            if other is not None and other.index == stop.index:
                break
            if other is not None:
                o = other.checkpoint
                self.out.say(
                    f"  that tag is stop {other.index + 1}/{len(wv.stops)} · {o.code} "
                    f"{o.name}, not this one: go to stop {stop.index + 1} · {cp.code} "
                    f"{cp.name} (s skips it)"
                )
            else:
                self.out.say(
                    f"  {line!r} is no stop of route {wv.route.code}; press Enter (or "
                    "scan the tag) on arrival; s skips, q quits"
                )
        with self.ctx.session(write=True) as s:
            site = current_site(self.ctx, s)
            st = walks.arrive(
                s, site=site, walk=walks.get_walk(s, site=site, ref=self.walk_id), stop=stop.index
            )
            stop.arrived_at, stop.run = st.arrived_at, st.run
        self.out.say(f"  arrived {self._local(stop.arrived_at)}")
        return raw == "p"

    def _checklist(self, stop: walks.Stop, *, pass_all: bool = False) -> bool:
        """Run the stop's checklist to the end; False when paused."""
        from pm_cli.runs import service as runs

        assert stop.run is not None
        if stop.run.status != "open":
            return True
        if pass_all:
            with self.ctx.session(write=True) as s:
                site = current_site(self.ctx, s)
                passed = runs.pass_checks(
                    s,
                    site=site,
                    run=runs.get_run(s, site=site, ref=stop.run.id),
                    store_dir=self.store_dir,
                )
            if passed:
                self.out.say(f"  passed: {', '.join(passed)}")
        with self.ctx.session() as s:
            rv = runs.view(s, runs.get_run(s, site=current_site(self.ctx, s), ref=stop.run.id))
        if rv.first_unanswered() is None:
            return self._close(stop)
        flow = Flow(
            ctx=self.ctx, out=self.out, run_id=stop.run.id, ask=self.ask, store_dir=self.store_dir
        )
        if flow.run() is None:
            return False
        return self._close(stop)

    def _close(self, stop: walks.Stop) -> bool:
        from pm_cli.runs import service as runs

        assert stop.run is not None
        with self.ctx.session(write=True) as s:
            site = current_site(self.ctx, s)
            rv = runs.finish(s, run=runs.get_run(s, site=site, ref=stop.run.id))
        score = "—" if rv.score is None else f"{rv.score:g}"
        self.out.say(f"  checklist done: score {score} · {len(rv.failed)} failed")
        return True
