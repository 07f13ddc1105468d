"""Rendering: JSON and CSV carry raw values (the stable contract); tables are presentation.

Rich is imported only when a table is drawn. Colour only on a terminal and never with NO_COLOR.
"""

import os
import sys
from collections.abc import Iterable, Iterator, Sequence

from ccmcli.cli.app import Format


def print_json(obj: object) -> None:
    """JSON with each top-level field on a line of its own, and each item of a list field too.

    Python's indenting encoder is pure Python (seconds for a large practice's month); this
    layout lets the C encoder write every item and still reads, diffs and greps well. A field
    may be an iterator (MonthReport.as_dict(lazy=True)): its items are written as they come.
    """
    import json

    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    write = sys.stdout.write
    if not isinstance(obj, dict):
        write(encode(obj) + "\n")
        return
    write("{")
    for n, (key, value) in enumerate(obj.items()):
        write(f"{',' if n else ''}\n  {encode(key)}: ")
        if isinstance(value, list | Iterator):
            _write_items(write, map(encode, value))
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


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None,
    keep: Sequence[str] = (),
) -> None:  # fmt: skip
    """A table whose `keep` columns (ids, codes) are never truncated."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for name in columns:
        if name in keep:
            table.add_column(name, no_wrap=True, overflow="fold", min_width=len(name))
        else:
            table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console().print(table)


def emit(
    fmt: Format, *, json_obj: object, header: Sequence[str], rows: list[Sequence[object]],
    title: str | None = None, keep: Sequence[str] = (), table_rows: list | None = None,
) -> None:  # fmt: skip
    """One dispatch for every listing command: json, csv, or a table of the same rows."""
    if fmt is Format.json:
        print_json(json_obj)
    elif fmt is Format.csv:
        print_csv(header, rows)
    else:
        print_table(header, table_rows if table_rows is not None else rows, title=title, keep=keep)
