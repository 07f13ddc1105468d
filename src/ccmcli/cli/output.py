"""Rendering: JSON and CSV carry raw values (the stable contract); tables are presentation.

Rich is imported only when a table is drawn. Colour only on a terminal and never with NO_COLOR.
"""

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Format(StrEnum):
    """Every output format; a command's --format offers only those it has (contract 2)."""

    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class ViewFormat(StrEnum):
    """Commands that show one thing (explain, patient show, close, ...): a view or its JSON."""

    table = "table"
    json = "json"


class RowFormat(StrEnum):
    """Commands that write one log row (log, void, stop): the row as CSV too."""

    table = "table"
    json = "json"
    csv = "csv"


@dataclass
class Destination:
    """Where a listing goes (`-o FILE`, else stdout) and how: `--bom` for CSV, the xlsx title
    row's words (`heading`: practice and month; the time written is added), and `-q`."""

    path: Path | None = None
    bom: bool = False
    quiet: bool = False
    heading: list[str] = field(default_factory=list)
    sheet: str = "ccm"


def destination(ctx, f: Format, output: Path | None, data=None, *, bom: bool = False,
                quiet: bool = False, sheet: str = "ccm") -> Destination:  # fmt: skip
    """Check -o against the format before anything is read: xlsx needs a file, a table goes to
    the terminal, and no output is written inside the data directory (contract 2)."""
    import typer

    if f is Format.xlsx and output is None:
        raise typer.BadParameter("--format xlsx needs -o FILE.xlsx", param_hint="--format")
    if output is not None and f is Format.table:
        raise typer.BadParameter(
            "-o writes csv, json or xlsx: name FILE so (.csv, .json, .xlsx) or add --format",
            param_hint="-o",
        )
    if bom and f is not Format.csv:
        raise typer.BadParameter("--bom is for --format csv", param_hint="--bom")
    if output is not None and data is not None:
        from ccmcli.store.datadir import refuse_output_inside

        refuse_output_inside(data, output)
    return Destination(output, bom, quiet, sheet=sheet)


def practice_heading(data, month: object = None) -> list[str]:
    """The xlsx title row's practice and month (the practice name read through the loader)."""
    from ccmcli.loader import load

    name = load(data, patient_ids=()).settings.practice
    return [name, *([str(month)] if month is not None else [])]


def progress_step(total: int, label: str, least: int = 1):
    """A Rich progress bar on stderr for a long run, or None: only when stderr is a terminal
    (a cron job's mail gets nothing) and there are at least `least` items. Returns the function
    to call once per item done."""
    if total < max(least, 1) or not sys.stderr.isatty():
        return None
    import atexit

    from rich.progress import Progress

    bar = Progress(console=console(stderr=True), transient=True)
    bar.start()
    atexit.register(bar.stop)
    task = bar.add_task(label, total=total)

    def step() -> None:
        bar.advance(task)
        if bar.tasks[task].completed >= total:
            bar.stop()

    return step


def report_problems(problems: Iterable, quiet: bool = False) -> None:
    """Every reading command ends here: each problem of the files it read on stderr as
    `FILE:LINE: error: MESSAGE` (errors even with --quiet), then exit 1 when any is an error
    (contract 2: errors found in the data), so cron sees the same verdict from every command."""
    import typer

    errors = False
    for p in problems:
        errors = errors or p.severity == "error"
        if not quiet or p.severity == "error":
            print(p.render(), file=sys.stderr)
    if errors:
        raise typer.Exit(1)


def print_json(obj: object) -> None:
    """JSON with each top-level field on a line of its own, and each item of a list field too.

    Python's indenting encoder is pure Python (seconds for a large practice's month); this
    layout lets the C encoder write every item and still reads, diffs and greps well. A field
    may be an iterator (MonthReport.as_dict(lazy=True)): its items are written as they come.
    """
    from ccmcli.reports.json_text import Encoded, encode

    write = sys.stdout.write
    if not isinstance(obj, dict):
        write(encode(obj) + "\n")
        return
    write("{")
    for n, (key, value) in enumerate(obj.items()):
        write(f"{',' if n else ''}\n  {encode(key)}: ")
        if isinstance(value, list | Iterator):
            _write_items(write, iter(value) if isinstance(value, Encoded) else map(encode, value))
        else:
            write(encode(value))
    write("\n}\n")


def _write_items(write, items: Iterator[str]) -> None:
    first = next(items, None)
    if first is None:
        write("[]")
        return
    write("[\n    " + first)
    for item in items:
        write(",\n    " + item)
    write("\n  ]")


def print_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Every cell guarded against spreadsheet formulas, as in every CSV ccm writes (csv_safe)."""
    from ccmcli.store.csv_safe import write_rows

    write_rows(sys.stdout, rows, header)


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(
        file=stream,
        no_color=bool(os.environ.get("NO_COLOR")) or not terminal,
        highlight=False,
        width=None if terminal else 200,
        soft_wrap=not terminal,
    )


def table_width(wide: bool = False) -> int | None:
    """Columns a table may take: the terminal's; when piped, `COLUMNS` if set, else no limit
    (a script gets every column). `--wide`: no limit."""
    if wide:
        return None
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() and int(cols) > 0 else None


def use_color() -> bool:
    """Colour only on a terminal and never with NO_COLOR (contract section 2)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None,
    keep: Sequence[str] = (), spec=None, wide: bool = False, footer: Sequence[str] = (),
) -> None:  # fmt: skip
    """A table fitted to the terminal (cli/tables.py). Without a `spec`, every cell is kept
    whole and, when it does not fit, columns not in `keep` give way from the right."""
    from ccmcli.cli.tables import Column, Drop, TableSpec, render

    dict_rows = [r if isinstance(r, dict) else dict(zip(columns, r, strict=True)) for r in rows]
    if spec is None:
        spec = TableSpec(tuple(Column(c) for c in columns),
                         tuple(Drop(c) for c in reversed(columns) if c not in keep))  # fmt: skip
    text = render(spec, dict_rows, width=table_width(wide), color=use_color(), title=title,
                  footer=footer)  # fmt: skip
    sys.stdout.write(text)


def emit(
    fmt: Format, *, json_obj: object, header: Sequence[str], rows: list[Sequence[object]],
    title: str | None = None, keep: Sequence[str] = (), table_rows: list | None = None,
    spec=None, wide: bool = False, footer: Sequence[str] = (), dest: Destination | None = None,
) -> None:  # fmt: skip
    """One dispatch for every listing command: json, csv, xlsx, or a table of the same rows
    (`table_rows`, dicts keyed by the `spec`'s fields, when the table shows more or other
    words than the CSV). With -q a table prints nothing; the data formats are the data."""
    dest = dest or Destination()
    if fmt is Format.table:
        if not dest.quiet:
            print_table(header, table_rows if table_rows is not None else rows, title=title,
                        keep=keep, spec=spec, wide=wide, footer=footer)  # fmt: skip
    elif fmt is Format.xlsx:
        write_sheet(dest, header, rows)
    else:
        with delivered(dest, fmt):
            if fmt is Format.json:
                print_json(json_obj)
            else:
                print_csv(header, rows)


def write_sheet(dest: Destination, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """The listing as an .xlsx workbook at -o (reports/spreadsheet.py types every cell)."""
    from ccmcli.reports.spreadsheet import workbook_bytes

    assert dest.path is not None  # destination() refuses xlsx without -o
    _write_file(dest.path, workbook_bytes(dest.sheet, dest.heading, header, rows))
    if not dest.quiet:
        print(f"wrote {dest.path}", file=sys.stderr)


class delivered:
    """JSON or CSV written while this is open goes to stdout, or to -o FILE (atomically, mode
    0600) when it closes; `--bom` puts a UTF-8 byte-order mark first."""

    def __init__(self, dest: Destination | None, fmt: Format = Format.json) -> None:
        self.dest = dest or Destination()
        self.bom = self.dest.bom and fmt is Format.csv
        self.saved = None

    def __enter__(self) -> None:
        import io

        if self.dest.path is not None:
            self.saved, sys.stdout = sys.stdout, io.StringIO()
        if self.bom:
            sys.stdout.write("\ufeff")

    def __exit__(self, kind, *_) -> None:
        if self.saved is None:
            return
        text, sys.stdout = sys.stdout.getvalue(), self.saved
        if kind is None:
            _write_file(self.dest.path, text.encode())
            if not self.dest.quiet:
                print(f"wrote {self.dest.path}", file=sys.stderr)


def sys_flush() -> None:
    """Stdout written out before the caller records anything (export's ledger)."""
    sys.stdout.flush()


def _write_file(path: Path, raw: bytes) -> None:
    from ccmcli.models.errors import CcmError
    from ccmcli.store.fileio import atomic_write

    try:
        atomic_write(path, raw)
    except OSError as exc:
        raise CcmError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
