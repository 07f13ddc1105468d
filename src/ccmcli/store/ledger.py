"""The export ledger `exports/<YYYY-MM>.csv`: every claim line already exported, so no unit is
ever billed twice (contract 5).

The file format lives here, apart from deciding what to export (actions/export.py), because
`validate`, the loader, month close and the audit packet read the ledger too. A damaged ledger
refuses the export: read wrong, it could bill a unit twice or never. Rows are appended under
the ledger's lock, the lines of one export sharing one `exported_at` stamp.
"""

import csv
import fcntl
import io
import os
from dataclasses import dataclass
from decimal import Decimal

from ccmcli.codes.identifiers import is_patient_id
from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem
from ccmcli.models.months import Month, now_in
from ccmcli.models.records import Settings
from ccmcli.store import fileio
from ccmcli.store.csv_safe import csv_text
from ccmcli.store.datadir import DataDir

COLUMNS = (
    "patient_id", "patient_name", "birth_date", "mbi", "billing_npi", "place_of_service",
    "date_of_service", "code", "units", "charge", "dx1", "dx2", "dx3", "dx4",
)  # fmt: skip
LEDGER_COLUMNS = (*COLUMNS, "exported_at")
SHOWN_PROBLEMS = 5


def _undefuse_id(cell: str) -> str:
    """Patient ids never hold `'`, so a leading one is only ever the defusing prefix."""
    return cell[1:] if cell.startswith("'") else cell


@dataclass(frozen=True, slots=True)
class Line:
    """One claim line: the 14 export columns as text, with the key fields parsed."""

    cells: tuple[str, ...]
    patient_id: str
    code: str
    units: int
    charge: Decimal
    exported_at: str = ""  # ledger lines only: lines of one export share it


def parse_ledger(text: str, rel: str) -> list[Line]:
    """The ledger's lines; any damage refuses the export, since a wrong ledger can bill twice."""
    lines, problems = scan_ledger(text, rel)
    if problems:
        shown = "\n".join(f"{p.file}:{p.line}: {p.message}" for p in problems[:SHOWN_PROBLEMS])
        raise CcmError(f"the export ledger is damaged; compare it with what was billed and repair "
                       f"it before exporting again:\n{shown}")  # fmt: skip
    return lines


def scan_ledger(text: str, rel: str) -> tuple[list[Line], list[Problem]]:
    """The ledger's lines and a problem for each damaged one (`validate` lists them all)."""
    if not text.strip():
        return [], []
    bad: list[Problem] = []
    if not text.endswith(("\n", "\r")):
        bad.append(Problem(rel, text.count("\n") + 1, "error", "the last line is incomplete"))
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text, newline=""))
    if tuple(h.strip() for h in next(reader, [])) != LEDGER_COLUMNS:
        return [], [Problem(rel, 1, "error", f"header must be: {','.join(LEDGER_COLUMNS)}")]
    lines, line_no = [], 1
    try:
        for row in reader:
            start, line_no = line_no + 1, reader.line_num
            if not row or row == [""]:
                continue
            parsed = _ledger_row(row)
            if isinstance(parsed, str):
                bad.append(Problem(rel, start, "error", parsed))
            else:
                lines.append(parsed)
    except csv.Error as exc:  # a cell over the csv module's limit: nothing after it is sure
        bad.append(Problem(rel, line_no + 1, "error", f"cannot read this row as CSV ({exc})"))
    return lines, sorted(bad, key=lambda p: p.line or 0)


def _ledger_row(row: list[str]) -> Line | str:
    if len(row) != len(LEDGER_COLUMNS):
        return f"row has {len(row)} columns, expected {len(LEDGER_COLUMNS)}"
    pid, code, units, charge = _undefuse_id(row[0]), row[7], row[8], row[9]
    if not is_patient_id(pid):
        return "patient_id is not a valid patient id"
    if not (len(code) == 5 and code.isascii() and code[1:].isdigit() and code[0].isalnum()):
        return f'code "{code[:12]}" is not a 5-character code'
    if not (units.isascii() and units.isdigit() and int(units) > 0):
        return f'units "{units[:12]}" is not a whole number above 0'
    try:
        amount = Decimal(charge)
    except ArithmeticError:
        amount = Decimal("NaN")
    if not amount.is_finite():
        return f'charge "{charge[:12]}" is not an amount'
    return Line(tuple(row[: len(COLUMNS)]), pid, code, int(units), amount, row[-1])


def ledger_text(fd: int) -> str:
    try:
        return fileio.read_fd(fd).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CcmError("the export ledger is not UTF-8 text; repair it before exporting") from None


def read_ledger(data: DataDir, month: Month) -> list[Line]:
    """The ledger under a shared lock (an export appending waits or finishes first)."""
    path = data.export_path(month)
    try:
        fd = fileio.open_locked(path, os.O_RDONLY, fcntl.LOCK_SH)
    except (FileNotFoundError, NotADirectoryError):  # `exports` not a folder: the loader says so
        return []
    try:
        return parse_ledger(ledger_text(fd), data.relative(path))
    finally:
        os.close(fd)


def append_lines(fd: int, lines: list[Line], settings: Settings, rel: str) -> None:
    stamp = now_in(settings.timezone).isoformat(timespec="seconds")
    try:
        fileio.append_locked_fd(fd, csv_text((*line.cells, stamp) for line in lines))
    except OSError as exc:
        raise CcmError(f"the claim lines were written but could not be recorded in {rel} "
                       f"({exc.strerror or type(exc).__name__}): do not bill that output; "
                       "fix the problem and export again") from None  # fmt: skip
