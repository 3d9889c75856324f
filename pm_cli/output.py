"""The one renderer: rich for people, JSON for --json; error lines on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from pm_cli.errors import InputError, PmError
from pm_cli.timefmt import stamps_in
from pm_cli.validate import escaped

# Everything people read goes through `escaped`: a name that arrived with an ANSI escape or a
# bidi override (by sync from an older pm, say) is shown as `\x1b[31m`, never obeyed.

RISK_STYLE = {"minor": "green", "major": "yellow", "critical": "bold red"}
CELL_STYLE = {"minor": "black on green", "major": "black on yellow", "critical": "white on red"}
LEVEL_COLUMNS = ("risk_level", "level", "severity", "risk")
Section = tuple[str, Sequence[str], Sequence[dict[str, Any]]]  # (title, columns, rows)
# codes and ids a reader types back into the next command
ID_COLUMNS = frozenset(
    {
        "code",
        "walk",
        "run",
        "short",
        "ref",
        "no",
        "id",
        "step",
        "route",
        "grid",
        "checkpoint",
        "playbook",
        "item",
        "drill",
        "risk_code",
    }
)
STATUS_STYLE = {
    "done": "green",
    "finished": "green",
    "missed": "bold red",
    "overdue": "bold red",
    "in progress": "yellow",
    "incomplete": "yellow",
}
NONE = "—"


def console(stderr: bool = False) -> Any:
    """A console for this moment's stream and size (not cached: a process that runs many
    commands, as tests do, must not keep the first one's width)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(
        stderr=stderr,
        markup=False,
        emoji=False,
        highlight=False,
        width=None if stream.isatty() else _piped_width(),
    )


def _piped_width() -> int:
    """Output piped or redirected is as wide as the terminal the command was typed in (its
    stderr or stdin is still that terminal), `COLUMNS` if set, else 80."""
    import os

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    for fd in (2, 0):
        try:
            return os.get_terminal_size(fd).columns
        except (OSError, ValueError):
            continue
    return 80


def to_jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, UUID):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(asdict(obj))
    if hasattr(obj, "model_dump"):
        return to_jsonable(obj.model_dump())
    return str(obj)


def dumps(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), ensure_ascii=False, indent=2)


def plain(value: Any, tz: str | None = None) -> str:
    """A value as people read it: never a Python repr (`{'min': 0.05}` is `min 0.05`), a
    stored UTC stamp in the site's zone `tz` (timefmt.people)."""
    if isinstance(value, str):
        return stamps_in(value, tz)
    if value is None or value == [] or value == "" or value == {}:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(
            f"{k} {plain(v, tz)}" for k, v in value.items() if v is not None and v != "" and v != []
        )
    if isinstance(value, list | tuple):
        sep = "; " if any(isinstance(v, dict | list | tuple) for v in value) else ", "
        return sep.join(plain(v, tz) for v in value)
    return str(value)


def _cell(value: Any, tz: str | None = None) -> str:
    return escaped(plain(value, tz))


def _styled(row: dict[str, Any], col: str, tz: str | None) -> Any:
    """One table cell as rich Text: a level coloured by level, a status by status."""
    from rich.text import Text

    value = row.get(col)
    text = Text(_cell(value, tz))
    if col in LEVEL_COLUMNS and value in RISK_STYLE:
        text.stylize(RISK_STYLE[value])
    elif col in ("status", "state") and value in STATUS_STYLE:
        text.stylize(STATUS_STYLE[value])
    return text


def _codes_twice(rows: Sequence[dict[str, Any]]) -> set[str]:
    seen: set[str] = set()
    twice: set[str] = set()
    for r in rows:
        code = r.get("code")
        if isinstance(code, str):
            (twice if code in seen else seen).add(code)
    return twice


# Above this many rows a table is drawn here, in the same box and folding as rich's, but
# without rich's per-cell layout: 2,000 grids took 2 s to lay out, most of `pm grid list`.
LONG_TABLE = 200


def _fold(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells: at spaces where it can, a long run (CJK has
    no spaces) folded where it must, as rich's overflow="fold"."""
    from rich.cells import cell_len, get_character_cell_size

    out: list[str] = []
    for para in text.split("\n") or [""]:
        line, used = "", 0
        for word in para.split(" "):
            w = cell_len(word)
            gap = 1 if line else 0
            if used + gap + w <= width:
                line, used = line + " " * gap + word, used + gap + w
                continue
            if line:
                out.append(line)
                line, used = "", 0
            for ch in word:  # fold what is still too long
                c = get_character_cell_size(ch)
                if used + c > width:
                    out.append(line)
                    line, used = "", 0
                line, used = line + ch, used + c
        out.append(line)
    return out


def long_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None,
    tz: str | None,
    width: int,
) -> list[str]:
    """The lines of a table as rich draws it (heavy head, folded cells), computed in one
    pass per cell. Codes (ID_COLUMNS) keep their width; the widest other columns give way
    until the table fits `width`."""
    from rich.cells import cell_len

    cells = [[plain(r.get(c), tz) for c in columns] for r in rows]
    widths = [max(cell_len(c), *(cell_len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    floor = [
        widths[i] if c in ID_COLUMNS else min(widths[i], max(4, cell_len(c)))
        for i, c in enumerate(columns)
    ]
    excess = sum(widths) + 3 * len(columns) + 1 - width
    while excess > 0:
        i = max(range(len(columns)), key=lambda k: widths[k] - floor[k])
        if widths[i] <= floor[i]:
            break  # as narrow as it goes: the terminal wraps the rest
        widths[i] -= 1
        excess -= 1

    def pad(text: str, w: int) -> str:
        return text + " " * (w - cell_len(text))

    def line(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def block(values: Sequence[str], bar: str) -> list[str]:
        folded = [_fold(v, w) for v, w in zip(values, widths, strict=True)]
        height = max(len(f) for f in folded)
        return [
            bar
            + bar.join(
                f" {pad(f[k] if k < len(f) else '', w)} "
                for f, w in zip(folded, widths, strict=True)
            )
            + bar
            for k in range(height)
        ]

    out = [title] if title else []
    out.append(line("┏", "━", "┳", "┓"))
    out += block(list(columns), "┃")
    out.append(line("┡", "━", "╇", "┩"))
    for row in cells:
        out += block(row, "│")
    out.append(line("└", "─", "┴", "┘"))
    return out


class Output:
    """Where a command's result goes: JSON on stdout under --json, else rich."""

    def __init__(self, as_json: bool = False, zone: Callable[[], str | None] | None = None):
        self.as_json = as_json
        self._zone = zone  # the site's time zone, once the command knows its site

    @property
    def tz(self) -> str | None:
        return self._zone() if self._zone else None

    def _text(self, text: str) -> str:
        return stamps_in(text, self.tz)

    def json(self, obj: Any) -> None:
        sys.stdout.write(dumps(obj) + "\n")

    def emit(
        self,
        obj: Any,
        *,
        columns: Sequence[str] | None = None,
        title: str | None = None,
        one_per_code: bool = False,
    ):
        """A list as a table, a dict as field/value lines; JSON under --json."""
        if self.as_json:
            self.json(obj)
        elif isinstance(obj, list):
            self.table(
                obj,
                columns or (list(obj[0]) if obj else []),
                title=title,
                one_per_code=one_per_code,
            )
        elif isinstance(obj, dict):
            self.record(obj, title=title)
        else:
            console().print(escaped(self._text(str(obj)), lines=True))

    def table(
        self,
        rows: Sequence[dict[str, Any]],
        columns: Sequence[str],
        *,
        title: str | None = None,
        one_per_code: bool = False,
    ) -> None:
        """`one_per_code`: a list of records whose codes are unique (grids, staff, routes …):
        two rows holding one code are marked."""
        from rich.cells import cell_len
        from rich.table import Table

        if not rows:  # an empty result is still the result: `pm today > today.txt` keeps it
            self.lines([f"no {title or 'rows'}"])
            return
        tz = self.tz
        twice = _codes_twice(rows) if one_per_code and "code" in columns else set()
        if twice:  # after a sync, two rows can hold one code: mark both, say what to do
            columns = [*columns, "!"]
            rows = [{**r, "!": "same code" if r.get("code") in twice else None} for r in rows]
        if len(rows) > LONG_TABLE:
            con = console()
            con.out(
                "\n".join(long_table(rows, columns, title=title, tz=tz, width=con.width)),
                highlight=False,
            )
            self._warn_twice(twice)
            return
        t = Table(
            title=escaped(title) if title else None, title_justify="left", header_style="bold"
        )
        for col in columns:
            if col in ID_COLUMNS:  # what people type back: never wrapped or cut
                width = max(cell_len(col), *(cell_len(_cell(r.get(col), tz)) for r in rows))
                t.add_column(col, no_wrap=True, min_width=width)
            else:  # a run of CJK is one long "word": fold it rather than cut it with "…"
                t.add_column(col, overflow="fold")
        for row in rows:
            t.add_row(*(_styled(row, col, tz) for col in columns))
        console().print(t)
        self._warn_twice(twice)

    def _warn_twice(self, twice: set[str]) -> None:
        for code in sorted(twice):
            self.warn(
                f"code {code} is held by more than one row (made on two laptops): "
                "rename or remove one (pm sync conflicts shows the clash)"
            )

    def record(self, obj: dict[str, Any], *, title: str | None = None) -> None:
        from rich.table import Table
        from rich.text import Text

        tz = self.tz
        t = Table(
            show_header=False,
            box=None,
            title=escaped(title) if title else None,
            title_justify="left",
            pad_edge=False,
        )
        t.add_column(style="bold", no_wrap=True)
        t.add_column(overflow="fold")
        for key, value in obj.items():
            if (
                isinstance(value, list)
                and value
                and (isinstance(value[0], dict) or isinstance(value[0], str) and len(value) > 3)
            ):
                t.add_row(key, Text("\n".join(f"• {_cell(v, tz)}" for v in value)))
            else:
                text = Text(_cell(value, tz))
                if key == "risk_level" and value in RISK_STYLE:
                    text.stylize(RISK_STYLE[value])
                t.add_row(key, text)
        console().print(t)

    def matrix(
        self,
        rows: Sequence[Sequence[tuple[str, str | None]]],
        *,
        row_labels: Sequence[str],
        col_labels: Sequence[str],
        title: str,
        corner: str = "",
        data: Any = None,
    ) -> None:
        """A grid of (text, level) cells coloured by level; under --json prints `data`."""
        if self.as_json:
            self.json(data)
            return
        from rich.table import Table
        from rich.text import Text

        t = Table(title=escaped(title), title_justify="left", show_lines=True, header_style="bold")
        t.add_column(escaped(corner), style="bold")
        for label in col_labels:
            t.add_column(escaped(label), justify="center")
        for label, cells in zip(row_labels, rows, strict=True):
            t.add_row(
                Text(escaped(label)),
                *[
                    Text(f" {escaped(text)} ", style=CELL_STYLE.get(lvl or "", ""))
                    for text, lvl in cells
                ],
            )
        console().print(t)

    def tree(self, roots: Sequence[dict[str, Any]], *, title: str, data: Any = None) -> None:
        """Nodes are {label, detail, risk_level, children}; under --json prints `data`."""
        if self.as_json:
            self.json(data if data is not None else roots)
            return
        from rich.text import Text
        from rich.tree import Tree

        def label(node: dict[str, Any]) -> Text:
            t = Text(escaped(str(node["label"])), style="bold")
            if node.get("detail"):
                t.append(f"  {escaped(str(node['detail']))}")
            risk = node.get("risk_level")
            if risk:
                t.append(f"  [{risk}]", style=RISK_STYLE.get(risk, ""))
            return t

        top = Tree(Text(escaped(title), style="bold"))
        stack = [(top, roots)]
        while stack:
            parent, nodes = stack.pop()
            for node in nodes:
                branch = parent.add(label(node))
                if node.get("children"):
                    stack.append((branch, node["children"]))
        console().print(top)

    def board(
        self, frame: Callable[[], tuple[list[str], list[Section]]], *, every: float | None = None
    ) -> None:
        """A screen of header lines and titled tables. `every`: seconds between redraws on
        a terminal (rich Live, until Ctrl-C); otherwise, or when stdout is not a terminal,
        one frame printed."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        tz = self.tz

        def render() -> Group:
            head, sections = frame()
            parts: list[Any] = [
                Text(escaped(line), style="bold" if i == 0 else "") for i, line in enumerate(head)
            ]
            for title, columns, rows in sections:
                t = Table(
                    title=escaped(title), title_justify="left", header_style="bold", expand=False
                )
                for c in columns:
                    t.add_column(c, overflow="fold", no_wrap=c in ID_COLUMNS)
                for row in rows:
                    t.add_row(*(_styled(row, c, tz) for c in columns))
                if not rows:
                    t.add_row(*(["—"] * len(columns)))
                parts.append(t)
            return Group(*parts)

        con = console()
        if every is None or not sys.stdout.isatty():
            con.print(render())
            return
        import time

        from rich.live import Live

        with Live(render(), console=con, screen=False, auto_refresh=False) as live:
            while True:
                time.sleep(every)
                live.update(render(), refresh=True)

    def say(self, text: str) -> None:
        """Interactive text on stdout, as typed."""
        console().print(escaped(self._text(text), lines=True), soft_wrap=True)

    def raw(self, data: bytes) -> None:
        """Bytes a command produces (a calendar, a report) on stdout, as they are."""
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    def lines(self, lines: list[str]) -> None:
        """Plain lines on stdout, as typed (no wrapping, no markup)."""
        sys.stdout.write("".join(f"{escaped(self._text(line), lines=True)}\n" for line in lines))

    def done(self, message: str, obj: Any = None) -> None:
        """A confirmation: the object as JSON under --json, else a line on stderr.

        Plain writes, not rich: a one-line confirmation should not cost rich's import on
        commands scripts call in loops (`pm run record`)."""
        if self.as_json:
            self.json(obj if obj is not None else {"ok": True, "message": message})
        else:
            _stderr_line(self._text(message))

    def created(self, message: str, ref: str, obj: Any = None) -> None:
        """A confirmation for something made under a generated id (a run, a walk, an item):
        as `done`, and when stdout is not a terminal the id alone on stdout, the command's
        result a script takes: `run=$(pm run start water.daily --by T05)`."""
        self.done(message, obj)
        if not self.as_json and not sys.stdout.isatty():
            sys.stdout.write(f"{ref}\n")
            sys.stdout.flush()

    def note(self, message: str) -> None:
        if not self.as_json:
            _stderr_line(self._text(message))

    def warn(self, message: str) -> None:
        _stderr_line(f"warning: {self._text(message)}")

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[Any]:
        """A progress bar on stderr; a no-op under --json or when stderr is not a terminal."""
        if self.as_json or not sys.stderr.isatty() or total < 2000:
            yield lambda _n=1: None
            return
        from rich.progress import Progress

        with Progress(console=console(stderr=True), transient=True) as p:
            task = p.add_task(description, total=total)
            yield lambda n=1: p.advance(task, n)


def _stderr_line(text: str) -> None:
    sys.stderr.write(escaped(text, lines=True) + "\n")
    sys.stderr.flush()


def interrupted(committed: int, uncertain: bool) -> None:
    """What Ctrl-C left, truthfully: nothing, or the changes saved before it."""
    if uncertain:
        text = (
            "interrupted while saving: that change is either kept whole or not at all "
            "(look before you redo it)"
        )
    elif committed:
        text = (
            "interrupted; the changes saved before it are kept, the one in progress "
            "(if any) was not written"
        )
    else:
        text = "interrupted; nothing was written"
    _stderr_line(text)


ERROR_KINDS = (
    ("NotFoundError", "not_found"),
    ("UsageError", "usage"),
    ("ConflictError", "conflict"),
    ("InputError", "input"),
    ("StoreError", "store"),
    ("SyncError", "network"),
)


def error_kind(err: PmError) -> str:
    """The `error` key of a JSON error: what kind of failure, for a script to branch on."""
    names = {cls.__name__ for cls in type(err).__mro__}
    return next((kind for name, kind in ERROR_KINDS if name in names), "failed")


def error(err: PmError, *, as_json: bool = False, tz: str | None = None) -> None:
    """`error: what (where)` and `hint: …` on stderr; bulk problems one per line first.
    Under --json, one JSON object `{error, message, where, hint[, problems]}` on stderr."""
    out = sys.stderr
    if as_json:
        doc: dict[str, Any] = {
            "error": error_kind(err),
            "message": err.message,
            "where": err.where,
            "hint": err.hint,
        }
        if isinstance(err, InputError):
            doc["problems"] = [
                {"where": p.where, "column": p.column, "message": p.message} for p in err.problems
            ]
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        out.flush()
        return
    if isinstance(err, InputError):
        for problem in err.problems:
            out.write(f"{escaped(stamps_in(str(problem), tz), lines=True)}\n")
    where = f" ({escaped(err.where)})" if err.where else ""
    out.write(f"error: {escaped(stamps_in(err.message, tz), lines=True)}{where}\n")
    if err.hint:
        out.write(f"hint: {escaped(stamps_in(err.hint, tz), lines=True)}\n")
    out.flush()
