"""The interactive run: one step at a time on a terminal, each answer committed at once.

Keys: p/f/n (pass/fail/not applicable), a number for readings, b back, s skip, q quit. A
note goes on the same line (`f 门没锁`); it is asked for only on a fail of a step that opens
an improvement item, and a text step asks for its entry.
Ctrl-C, a closed terminal (EOF) or a killed process lose no answered step: each answer is
its own transaction, written before the next prompt appears.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pm_cli.errors import PmError
from pm_cli.playbooks.spec import Step
from pm_cli.runs import service
from pm_cli.runs.service import Answer
from pm_cli.sites.context import current_site

HELP = "p pass · f fail · n not applicable (a note after it: f 门没锁) · b back · s skip · q quit"


class Quit(Exception):
    pass


class Flow:
    """Drives one run. `session(write)` opens a transaction; `ask(prompt)` reads a line."""

    def __init__(
        self, *, ctx: Any, out: Any, run_id: str, ask: Callable[[str], str], store_dir: Path
    ):
        self.ctx, self.out, self.run_id, self.ask, self.store_dir = (
            ctx,
            out,
            run_id,
            ask,
            store_dir,
        )
        self.saved = 0

    def _view(self) -> service.RunView:
        with self.ctx.session() as s:
            site = current_site(self.ctx, s)
            run = service.get_run(s, site=site, ref=self.run_id)
            return service.view(s, run)

    def _prompt(self, text: str) -> str:
        try:
            return self.ask(text).strip()
        except EOFError:
            raise Quit from None

    def show_step(self, i: int, rv: service.RunView) -> None:
        step = rv.steps[i]
        n = len(rv.steps)
        current = rv.latest.get(step.id)
        lines = [
            f"── step {i + 1}/{n} · {step.id} · {step.severity} ──",
            step.title,
            f"  do:     {step.instruction}",
            f"  accept: {step.acceptance}",
        ]
        if step.range:
            lines.append(f"  range:  {step.range.describe(step.unit)}")
        if step.safety:
            lines.append(f"  safety: {step.safety}")
        if step.kind == "photo" or step.evidence == "photo":
            lines.append("  photo:  required")
        elif step.evidence == "photo-on-fail":
            lines.append("  photo:  required on a fail")
        if current:
            val = f" {current.value:g}" if current.value is not None else ""
            lines.append(f"  answered: {current.outcome}{val} (a new answer replaces it)")
        self.out.say("\n".join(lines))

    def ask_answer(self, step: Step) -> Answer | str:
        """An Answer, or one of the moves 'b', 's', 'q'."""
        prompt = (
            f"value in {step.unit} (or n/b/s/q) > "
            if step.kind == "reading"
            else "p/f/n (b/s/q, ? help) > "
        )
        while True:
            line = self._prompt(prompt)
            head, _, rest = line.partition(" ")
            raw, note = head.lower(), rest.strip() or None
            if line.lower() in ("b", "s", "q"):
                return line.lower()
            if raw in ("?", "h", "help", ""):
                self.out.say(HELP)
                continue
            answer = Answer(step=step.id, note=note)
            if step.kind == "reading" and raw not in ("n", "na"):
                try:
                    answer.value = service.parse_value(raw)
                except ValueError as e:
                    self.out.say(f"  {e}")
                    continue
            else:
                try:
                    answer.outcome = service.parse_outcome(raw)
                except ValueError as e:
                    self.out.say(f"  {e}")
                    continue
            return answer

    def complete(self, step: Step, answer: Answer) -> Answer:
        """Ask for what the step's rules need: a text step's entry, a note on a fail that
        opens an improvement item (unless the reading says what is wrong), a photo."""
        outcome, reason = service.parse_outcome(answer.outcome), None
        if step.kind == "reading" and answer.value is not None:
            outcome, reason = service.judge_reading(step, float(answer.value))
            if reason:
                self.out.say(f"  {reason}: it will be recorded as a fail")
        if outcome == "na":
            return answer
        if step.kind == "text":
            while not answer.note:
                answer.note = self._prompt("entry > ") or None
        elif outcome == "fail" and step.opens and not reason and not answer.note:
            answer.note = (
                self._prompt("what is wrong? (note for the item, Enter for none) > ") or None
            )
        needs = (
            step.kind == "photo"
            or step.evidence == "photo"
            or (step.evidence == "photo-on-fail" and outcome == "fail")
        )
        while needs:
            raw = self._prompt("photo file > ")
            if not raw:
                self.out.say("  this step needs a photo (q to quit)")
                continue
            if raw.lower() == "q":
                raise Quit
            path = Path(raw.strip("'\"")).expanduser()
            try:
                from pm_cli.runs.evidence import check_photo

                check_photo(path)
            except PmError as e:
                self.out.say(f"  {e.message}: {path} — try again")
                continue
            answer.photo = path
            break
        return answer

    def save(self, answer: Answer) -> service.Recorded:
        with self.ctx.session(write=True) as s:
            site = current_site(self.ctx, s)
            run = service.get_run(s, site=site, ref=self.run_id)
            rec = service.record(s, site=site, run=run, answer=answer, store_dir=self.store_dir)
        self.saved += 1
        return rec

    def run(self) -> service.RunView | None:
        """Walk the steps; returns the finished view, or None when paused."""
        rv: service.RunView | None = self._view()
        assert rv is not None
        first = rv.first_unanswered()
        i = first if first is not None else len(rv.steps)
        self.out.say(
            f"{rv.pinned.playbook.title} · {rv.pinned.playbook.id}@{rv.pinned.version}"
            f" · run {service.short(rv.run.id)} · {HELP}"
        )
        try:
            while True:
                rv = rv or self._view()  # fresh after a save; re-read after a move
                if rv.first_unanswered() is None and i >= len(rv.steps):
                    break
                i = min(max(i, 0), len(rv.steps) - 1)
                step = rv.steps[i]
                self.show_step(i, rv)
                move = self.ask_answer(step)
                if move == "q":
                    raise Quit
                if move == "b":
                    i, rv = i - 1, None
                    continue
                if move == "s":
                    i, rv = self._next(rv, i, skip=True), None
                    continue
                assert isinstance(move, Answer)
                answer = self.complete(step, move)
                try:
                    rec = self.save(answer)
                except PmError as e:
                    self.out.say(f"  not saved: {e.message}")
                    rv = None
                    continue
                mark = f"  saved: {rec.result.outcome}"
                if rec.result.reason:
                    mark += f" ({rec.result.reason})"
                if rec.finding:
                    f = rec.finding
                    mark += (
                        f" · opened improvement item {f.item_label}"
                        if f.new_item
                        else f" · another occurrence on item {f.item_label}"
                    )
                self.out.say(mark)
                if rec.withdrawal:
                    self.out.say(f"  {rec.withdrawal.message}")
                rv = self._view()
                i = self._next(rv, i)
        except Quit:
            return None
        return rv

    @staticmethod
    def _next(rv: service.RunView, i: int, *, skip: bool = False) -> int:
        """The next unanswered step after i (wrapping); past the end when all are answered."""
        nxt = rv.first_unanswered(i + 1)
        if nxt is None:
            return len(rv.steps)
        if skip and nxt <= i and rv.first_unanswered(i + 1) == i:
            return i  # only this one is left
        return nxt
