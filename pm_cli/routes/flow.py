"""The interactive route walk: stop k of n, arrival on Enter, then that stop's checklist
(pm_cli.runs.flow) one step at a time. Each arrival and answer is committed before the next
prompt, so quitting, Ctrl-C or a killed process loses nothing; running it again resumes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pm_cli.routes import walks
from pm_cli.runs.flow import Flow, Quit


class WalkFlow:
    def __init__(self, *, ctx: Any, out: Any, walk_id: str, ask: Callable[[str], str],
                 store_dir: Path, tz: str | None):
        self.ctx, self.out, self.walk_id, self.ask, self.store_dir, self.tz = (
            ctx, out, walk_id, ask, store_dir, tz)

    def _view(self) -> walks.WalkView:
        with self.ctx.session() as s:
            site = self.ctx.site(s)
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
        self.out.say(f"route {wv.route.code} · {wv.route.name} · walk {walks.short(wv.walk.id)}"
                     f" · {n} stops" + (f" · {done} done, continuing" if begun else ""))
        try:
            while (stop := wv.next_stop) is not None:
                cp = stop.checkpoint
                title = f"── stop {stop.index + 1}/{n} · {cp.code} {cp.name}"
                self.out.say(title + (f" · {stop.playbook}" if stop.playbook else "") + " ──")
                if stop.arrived_at is None:
                    if not self._arrive(stop):
                        wv = self._view()
                        continue
                if stop.playbook and not self._checklist(stop):
                    raise Quit
                wv = self._view()
        except Quit:
            return None
        with self.ctx.session(write=True) as s:
            site = self.ctx.site(s)
            return walks.finish(s, walk=walks.get_walk(s, site=site, ref=self.walk_id))

    def _arrive(self, stop: walks.Stop) -> bool:
        """True on arrival; False when skipped."""
        tag = f" (tag {stop.checkpoint.tag_uid})" if stop.checkpoint.tag_uid else ""
        while True:
            raw = self._prompt(f"Enter when you are at {stop.checkpoint.code}{tag} · "
                               "s skip · q quit > ").lower()
            if raw == "q":
                raise Quit
            if raw == "s":
                reason = ""
                while not reason:
                    reason = self._prompt("why is it skipped? > ")
                with self.ctx.session(write=True) as s:
                    site = self.ctx.site(s)
                    walks.skip(s, site=site, walk=walks.get_walk(s, site=site,
                                                                  ref=self.walk_id),
                               stop=stop.index, reason=reason)
                self.out.say(f"  skipped {stop.checkpoint.code}: {reason}")
                return False
            if raw in ("", "y", "a", stop.checkpoint.code.lower()) or (
                    stop.checkpoint.tag_uid and raw == stop.checkpoint.tag_uid.lower()):
                break
            self.out.say("  press Enter (or scan the tag) on arrival; s skips, q quits")
        with self.ctx.session(write=True) as s:
            site = self.ctx.site(s)
            st = walks.arrive(s, site=site, walk=walks.get_walk(s, site=site, ref=self.walk_id),
                              stop=stop.index)
            stop.arrived_at, stop.run = st.arrived_at, st.run
        self.out.say(f"  arrived {self._local(stop.arrived_at)}")
        return True

    def _checklist(self, stop: walks.Stop) -> bool:
        """Run the stop's checklist to the end; False when paused."""
        from pm_cli.runs import service as runs

        assert stop.run is not None
        if stop.run.status != "open":
            return True
        flow = Flow(ctx=self.ctx, out=self.out, run_id=stop.run.id, ask=self.ask,
                    store_dir=self.store_dir)
        rv = flow.run()
        if rv is None:
            return False
        with self.ctx.session(write=True) as s:
            site = self.ctx.site(s)
            rv = runs.finish(s, run=runs.get_run(s, site=site, ref=stop.run.id))
        score = "—" if rv.score is None else f"{rv.score:g}"
        self.out.say(f"  checklist done: score {score} · {len(rv.failed)} failed")
        return True
