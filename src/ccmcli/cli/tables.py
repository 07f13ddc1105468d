"""Tables that fit the terminal without splitting a number: every table command draws through here.

A table is a list of `Column`s and the `steps` by which it gives way when the terminal is too
narrow, in order: a column is left out (`Drop`), a column's cells take their short form
(`Short`: `below` for `below_threshold`, `+15 → 99439`), or free text is shortened with "…"
(`SHORTEN_TEXT`). The first state that fits is drawn. Key cells (ids, codes, dates, minutes,
amounts) are never split or cut; a line under the table names the columns left out and says that
`--wide` (or `--format csv/json`) shows them. `--wide` draws every column at full width.
"""

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

GAP = 2  # spaces between columns
ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    """One column. `key`: the row's field shown; `short`: the field with its short form.

    kind "key" cells are never split or cut (ids, codes, dates, minutes, amounts, rule ids);
    kind "text" cells (names, notes, activities) are shortened with "…", down to `min_width`.
    `style(row)`: a Rich style for the cell, a second channel only (the words stay).
    """

    name: str
    key: str = ""
    kind: str = "key"
    justify: str = "left"
    short: str | None = None
    short_name: str | None = None
    min_width: int = 8
    style: Callable[[dict], str | None] | None = None
    marks: tuple[tuple[str, str], ...] = ()  # (regex, style): colour parts of a cell

    @property
    def field(self) -> str:
        return self.key or self.name


@dataclass(frozen=True)
class Drop:
    """Leave columns out. `shown_in`: a column whose short form carries their content, so the
    note under the table does not name them."""

    names: tuple[str, ...]
    shown_in: str | None = None

    def __init__(self, *names: str, shown_in: str | None = None):
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "shown_in", shown_in)


@dataclass(frozen=True)
class Short:
    """Use the short form (`Column.short`) of these columns."""

    names: tuple[str, ...]

    def __init__(self, *names: str):
        object.__setattr__(self, "names", names)


SHORTEN_TEXT = "shorten text"


@dataclass(frozen=True)
class TableSpec:
    columns: tuple[Column, ...]
    steps: tuple = ()


@dataclass
class _State:
    dropped: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)  # dropped, but shown in another column
    short: set[str] = field(default_factory=set)
    shorten_text: bool = False

    def then(self, step) -> "_State":
        nxt = _State(set(self.dropped), set(self.silent), set(self.short), self.shorten_text)
        if isinstance(step, tuple):  # steps taken together
            for part in step:
                nxt = nxt.then(part)
        elif step == SHORTEN_TEXT:
            nxt.shorten_text = True
        elif isinstance(step, Drop):
            nxt.dropped |= set(step.names)
            if step.shown_in:
                nxt.silent |= set(step.names)
        elif isinstance(step, Short):
            nxt.short |= set(step.names)
        return nxt


def cell_width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def shorten(text: str, width: int) -> str:
    """Cut free text to `width` cells, the last one "…"."""
    from rich.cells import set_cell_size

    if cell_width(text) <= width:
        return text
    return set_cell_size(text, max(width - 1, 0)).rstrip() + ELLIPSIS


@dataclass
class Layout:
    """The columns drawn, each with its header, field and width; what was left out."""

    columns: list[tuple[Column, str, str, int]]  # column, header, field, width
    left_out: list[str]

    @property
    def width(self) -> int:
        return sum(w for *_, w in self.columns) + GAP * max(len(self.columns) - 1, 0)


def _widest(rows: list[dict], key: str, seen: dict[str, int]) -> int:
    """The widest cell of a field, measured once per table however many states are tried."""
    if key not in seen:
        seen[key] = max((cell_width(str(r.get(key) or "")) for r in rows), default=0)
    return seen[key]


def _layout(
    spec: TableSpec, rows: list[dict], state: _State, width: int | None, seen: dict[str, int]
) -> Layout:
    cols = []
    for c in spec.columns:
        if c.name in state.dropped:
            continue
        use_short = c.short is not None and c.name in state.short
        header = (c.short_name or c.name) if use_short else c.name
        key = c.short if use_short else c.field
        natural = max(cell_width(header), _widest(rows, key, seen))
        cols.append((c, header, key, natural))
    left_out = [c.name for c in spec.columns if c.name in state.dropped - state.silent]
    layout = Layout(cols, left_out)
    if state.shorten_text and width is not None and layout.width > width:
        _shrink_text(layout, layout.width - width)
    return layout


def _shrink_text(layout: Layout, excess: int) -> None:
    """Take `excess` cells from the text columns, the widest first, none below its minimum."""
    widths = [w for *_, w in layout.columns]
    floors = [max(c.min_width, cell_width(h)) if c.kind == "text" else w
              for (c, h, _, _), w in zip(layout.columns, widths, strict=True)]  # fmt: skip
    while excess > 0:
        room = [i for i, w in enumerate(widths) if w > floors[i]]
        if not room:
            break
        i = max(room, key=lambda i: widths[i])
        widths[i] -= 1
        excess -= 1
    layout.columns = [(c, h, k, w) for (c, h, k, _), w in zip(layout.columns, widths, strict=True)]


def fit(spec: TableSpec, rows: list[dict], width: int | None) -> Layout:
    """The first state of `spec.steps` whose table fits `width` (None: every column, full)."""
    state, seen = _State(), {}
    layout = _layout(spec, rows, state, width, seen)
    if width is None:
        return layout
    for step in spec.steps:
        if layout.width <= width:
            break
        state = state.then(step)
        layout = _layout(spec, rows, state, width, seen)
    return layout


def render(
    spec: TableSpec, rows: list[dict], *, width: int | None, color: bool = False,
    title: str | None = None, footer: Sequence[str] = (),
) -> str:  # fmt: skip
    """The table as text: `title`, the table, then the left-out note and `footer` lines.
    `width` None draws every column in full (`--wide`)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    layout = fit(spec, rows, width)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for c, header, _, w in layout.columns:
        table.add_column(header, justify=c.justify, no_wrap=True, width=w, overflow="crop")
    for r in rows:
        cells = []
        for c, _, key, w in layout.columns:
            text = str(r.get(key) if r.get(key) is not None else "")
            text = shorten(text, w) if c.kind == "text" else text
            cell = Text(text, style=(c.style(r) or "") if c.style and color else "")
            for pattern, style in c.marks if color else ():
                cell.highlight_regex(pattern, style)
            cells.append(cell)
        table.add_row(*cells)
    out = io.StringIO()
    console = Console(file=out, width=max(layout.width, 20), force_terminal=color,
                      no_color=not color, color_system="standard" if color else None,
                      highlight=False, legacy_windows=False)  # fmt: skip
    console.print(table)
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    if title:
        lines[:0] = wrap(title, width, "  ")
    if layout.left_out:
        lines.extend(wrap(left_out_note(layout.left_out), width, "  "))
    lines.extend(footer)
    return "\n".join(lines) + "\n"


def left_out_note(names: Sequence[str]) -> str:
    return f"left out: {', '.join(names)} (--wide or --format csv/json shows every column)"


BAR_MARKS = (("█+", "green"), ("░+", "bright_black"))


def bar(done: int, target: int, cells: int = 10) -> str:
    """`███████░░░ 45/60`: minutes toward the next threshold. The glyphs carry the meaning, so
    it reads the same without colour."""
    filled = 0 if target <= 0 else min(cells, done * cells // target)
    return "█" * filled + "░" * (cells - filled) + f" {done}/{target}"


def wrap(line: str, width: int | None, indent: str = "") -> list[str]:
    """A line of prose folded at spaces to `width`; words (ids, codes, amounts) stay whole."""
    import textwrap

    if width is None or cell_width(line) <= width:
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line, width, initial_indent="", subsequent_indent=lead + indent,
                         break_long_words=False, break_on_hyphens=False) or [line]  # fmt: skip
