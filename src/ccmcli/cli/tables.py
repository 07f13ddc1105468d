"""Tables that fit the terminal without splitting a number: every table command draws through here.

A table is a list of `Column`s and the `steps` by which it gives way when the terminal is too
narrow, in order: a column is left out (`Drop`), a column's cells take their short form
(`Short`: `below` for `below_threshold`, `+15 → 99439`), or free text is shortened with "…"
(`SHORTEN_TEXT`). The first state that fits is drawn. Key cells (ids, codes, dates, minutes,
amounts) are never split or cut; a line under the table names the columns left out and says that
`--wide` (or `--format csv/json`) shows them. `--wide` draws every column at full width.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

GAP = 2  # spaces between columns
ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    """One column. `key`: the row's field shown; `short`: the field with its short form.

    kind "key" cells are never split or cut (ids, codes, dates, minutes, amounts, rule ids);
    kind "text" cells (names, notes, activities) are shortened with "…", down to `min_width`;
    kind "wrap" cells (prose that may hold an id) fold at spaces, every word whole.
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
    """The columns drawn, each with its header, field and width; what was left out; and the
    columns moved to a line of their own under each row (`below`), when even the narrowest
    cells do not fit side by side."""

    columns: list[tuple[Column, str, str, int]]  # column, header, field, width
    left_out: list[str]
    below: list[tuple[Column, str, str]] = field(default_factory=list)  # column, header, field

    @property
    def width(self) -> int:
        return sum(w for *_, w in self.columns) + GAP * max(len(self.columns) - 1, 0)


def _widest(rows: list[dict], key: str, seen: dict[str, int]) -> int:
    """The widest cell of a field, measured once per table however many states are tried."""
    if key not in seen:
        seen[key] = max((cell_width(str(r.get(key) or "")) for r in rows), default=0)
    return seen[key]


def _widest_word(rows: list[dict], key: str) -> int:
    return max((cell_width(w) for r in rows for w in str(r.get(key) or "").split()), default=0)


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


def _squeeze(layout: Layout, rows: list[dict], width: int) -> None:
    """The last resort, when every step was taken and the table is still too wide: cells of
    several words (codes, rule ids, `+15 → 99439`, headers) wrap at spaces, text is cut to its
    minimum, and when even that is too wide the rightmost columns move to a line of their own
    under each row. No word (an id, a code, a date, an amount) is ever split."""
    cols = list(layout.columns)

    def floor(c: Column, header: str, key: str, w: int) -> int:
        head = max((cell_width(x) for x in header.split()), default=0)
        if c.kind == "text":
            return min(w, max(c.min_width, head))
        return max(head, _widest_word(rows, key))

    floors = [floor(*col) for col in cols]
    while len(cols) > 1 and sum(floors) + GAP * (len(cols) - 1) > width:
        c, header, key, _ = cols.pop()
        floors.pop()
        layout.below.insert(0, (c, header, key))
    widths = list(floors)
    spare = width - sum(widths) - GAP * (len(cols) - 1)
    # give the room back: whole codes and rule ids first, then names and notes
    for i in sorted(range(len(cols)), key=lambda i: cols[i][0].kind == "text"):
        grow = max(min(spare, cols[i][3] - widths[i]), 0)
        widths[i] += grow
        spare -= grow
    layout.columns = [(c, h, k, w) for (c, h, k, _), w in zip(cols, widths, strict=True)]


def fit(spec: TableSpec, rows: list[dict], width: int | None) -> Layout:
    """The first state of `spec.steps` whose table fits `width` (None: every column, full);
    when none does, the last one squeezed (`_squeeze`)."""
    state, seen = _State(), {}
    layout = _layout(spec, rows, state, width, seen)
    if width is None:
        return layout
    for step in spec.steps:
        if layout.width <= width:
            break
        state = state.then(step)
        layout = _layout(spec, rows, state, width, seen)
    if layout.width > width:
        _squeeze(layout, rows, width)
    return layout


def _folded(text: str, width: int) -> list[str]:
    """A cell's lines: whole words, folded at spaces to `width`."""
    import textwrap

    if cell_width(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def _cell_lines(c: Column, text: str, width: int) -> list[str]:
    return [shorten(text, width)] if c.kind == "text" else _folded(text, width)


def _pad(text: str, width: int, justify: str) -> tuple[str, str]:
    """(left, right) spaces that bring `text` to `width`."""
    room = " " * max(width - cell_width(text), 0)
    return (room, "") if justify == "right" else ("", room)


def _physical_lines(layout: Layout, cells: list[tuple[Column, int, list[str], str]]):
    """One table row, as lines of (left pad, text, right pad, column, style) pieces."""
    height = max((len(lines) for _, _, lines, _ in cells), default=1)
    out = []
    for n in range(height):
        pieces = []
        for i, (c, w, lines, style) in enumerate(cells):
            text = lines[n] if n < len(lines) else ""
            left, right = _pad(text, w, c.justify)
            gap = "" if i == len(cells) - 1 else " " * GAP
            pieces.append((left, text, right + gap, c, style))
        out.append(pieces)
    return out


def _below_line(layout: Layout, row: dict, width: int) -> list[str]:
    """The columns moved under the row: `  next: +29 prac → 99491+99437 x2`."""
    said = [f"{header}: {row.get(key)}" for _, header, key in layout.below
            if row.get(key) not in (None, "")]  # fmt: skip
    return wrap("  " + "; ".join(said), width, "  ") if said else []


def render(
    spec: TableSpec, rows: list[dict], *, width: int | None, color: bool = False,
    title: str | None = None, footer: Sequence[str] = (),
) -> str:  # fmt: skip
    """The table as text: `title`, the table, then the left-out note and `footer` lines.
    `width` None draws every column in full (`--wide`)."""
    layout = fit(spec, rows, width)
    head = [(c, w, _folded(h, w), "bold" if color else "") for c, h, _, w in layout.columns]
    table: list[list] = [*_physical_lines(layout, head)]
    table.append([("", "─" * layout.width, "", None, "")])
    for r in rows:
        cells = []
        for c, _, key, w in layout.columns:
            text = str(r.get(key) if r.get(key) is not None else "")
            style = (c.style(r) or "") if c.style and color else ""
            cells.append((c, w, _cell_lines(c, text, w), style))
        table.extend(_physical_lines(layout, cells))
        table.extend([("", line, "", None, "")] for line in _below_line(layout, r, width or 0))
    lines = _draw(table, color)
    if title:
        lines[:0] = wrap(title, width, "  ")
    if layout.left_out:
        lines.extend(wrap(left_out_note(layout.left_out), width, "  "))
    lines.extend(footer)
    return "\n".join(lines) + "\n"


def _draw(table: list[list], color: bool) -> list[str]:
    """Lines of pieces as text; with colour, each cell's style and marks (Rich, on demand)."""
    if not color:
        return ["".join(a + t + b for a, t, b, _, _ in pieces).rstrip() for pieces in table]
    import io

    from rich.console import Console
    from rich.text import Text

    out = io.StringIO()
    console = Console(file=out, width=10_000, force_terminal=True, color_system="standard", no_color=False,
                      highlight=False, legacy_windows=False)  # fmt: skip
    for pieces in table:
        line = Text()
        for left, text, right, c, style in pieces:
            line.append(left)
            cell = Text(text, style=style or "")
            for pattern, mark in c.marks if c is not None else ():
                cell.highlight_regex(pattern, mark)
            line.append_text(cell)
            line.append(right)
        line.rstrip()
        console.print(line, soft_wrap=True)
    return out.getvalue().splitlines()


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
