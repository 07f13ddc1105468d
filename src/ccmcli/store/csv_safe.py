"""Cells that a spreadsheet would run as formulas, made inert: one rule for every CSV ccm writes.

Claims, check and entries listings are opened in spreadsheets, where a cell starting with `=`,
`+`, `-` or `@` is a formula (`=HYPERLINK(...)` sends data away, `=cmd|...` runs a program) and
tab or carriage return can hide one (contract sections 2 and 5, OWASP "CSV injection"). Some
spreadsheets also read the full-width forms of those signs as the signs themselves, and `|`
starts a DDE call in older Excel. Such a cell gets a leading `'`, which spreadsheets show as text.

Every cell is guarded the same way, numbers included: ccm's minutes, units and amounts are never
negative, so no real value ever gains a `'`.
"""

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = (
    "=", "+", "-", "@", "\t", "\r", "|",
    "\uff1d", "\uff0b", "\uff0d", "\uff20", "\uff5c",  # full-width = + - @ |
)  # fmt: skip


def defuse(cell: str) -> str:
    """The cell with a leading `'` when a spreadsheet could run it as a formula. Idempotent."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def undefuse(cell: str) -> str:
    """The cell as it was before `defuse` (for a reader that types its cells, such as xlsx)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def log_text(cell: str) -> str:
    """A free-text cell of a month log (staff, activity, note, a void's reason) as ccm writes
    it (contract 1): one more `'` in front when a spreadsheet could run it as a formula, and
    when it begins with `'` itself, so that `typed_text` reads back exactly what was typed.

    LibreOffice Calc, asked to trim spaces on import, trims a cell and then evaluates it, so
    ` =1+1` is a formula there: the test is on the cell without its leading white space
    (`str.lstrip`, which also takes tabs, no-break and ideographic spaces). The `'` goes in
    front of the spaces, where Calc and Excel read it as "this cell is text"."""
    return "'" + cell if cell.lstrip().startswith(_LOG_GUARDED) else cell


def typed_text(cell: str) -> str:
    """A free-text cell of a month log as it was typed: without the one `'` that `log_text`
    puts in front. Every cell beginning with `'` loses exactly one, so the two are inverse."""
    return cell[1:] if cell[:1] == "'" else cell


_LOG_GUARDED = (*FORMULA_STARTS, "'")


def guarded(row: Iterable[object]) -> list[str]:
    """A row's cells as text, None as empty, each one defused."""
    return [defuse("" if c is None else str(c)) for c in row]


def csv_text(
    rows: Iterable[Iterable[object]], header: Iterable[str] | None = None, *, newline: str = "\r\n"
) -> str:
    """CSV with every cell defused. Lines end in CRLF by default (RFC 4180): with it, Python
    3.11's csv module also quotes a cell holding a bare CR, which it leaves unquoted under `\\n`."""
    out = io.StringIO()
    write_rows(out, rows, header, newline=newline)
    return out.getvalue()


def write_rows(
    stream, rows: Iterable[Iterable[object]], header: Iterable[str] | None = None, *,
    newline: str = "\r\n",
) -> None:  # fmt: skip
    """Write CSV to a text stream, every cell (header included) defused."""
    w = csv.writer(stream, lineterminator=newline)
    if header is not None:
        w.writerow(guarded(header))
    for row in rows:
        w.writerow(guarded(row))
