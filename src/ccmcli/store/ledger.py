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
from datetime import datetime, timedelta
from decimal import Decimal

from ccmcli.codes.identifiers import is_patient_id
from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem
from ccmcli.models.months import Month, now_in
from ccmcli.store import fileio, regular_files
from ccmcli.store.csv_safe import csv_text
from ccmcli.store.datadir import DataDir

COLUMNS = (
    "patient_id", "patient_name", "birth_date", "mbi", "billing_npi", "place_of_service",
    "date_of_service", "code", "units", "charge", "dx1", "dx2", "dx3", "dx4",
)  # fmt: skip
# `frequency`: 1 an original claim, 7 a replacement, 8 a void (A18); `replaces`: the exported_at
# of the claim a 7 or 8 replaces. Ledgers written before A18 have neither column: their lines
# read as originals, and the first export that appends to one adds the two columns.
LEDGER_COLUMNS = (*COLUMNS, "exported_at", "frequency", "replaces")
LEGACY_COLUMNS = (*COLUMNS, "exported_at")
ORIGINAL, REPLACEMENT, VOID = "1", "7", "8"
SHOWN_PROBLEMS = 5
BAD_HEADER = f"header must be: {','.join(LEDGER_COLUMNS)}"


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
    frequency: str = ""  # ledger lines only: ORIGINAL (or "", before A18), REPLACEMENT, VOID
    replaces: str = ""  # REPLACEMENT and VOID lines: the exported_at of the claim replaced


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
    header = tuple(h.strip() for h in next(reader, []))
    if header not in (LEDGER_COLUMNS, LEGACY_COLUMNS):
        return [], [Problem(rel, 1, "error", BAD_HEADER)]
    lines, line_no = [], 1
    stamps: dict[str, set[str]] = {}  # patient: the exported_at of its lines so far
    since_a18 = False  # a line with a frequency came before
    try:
        for row in reader:
            start, line_no = line_no + 1, reader.line_num
            if not row or row == [""]:
                continue
            parsed = _ledger_row(row, len(header))
            if isinstance(parsed, Line):
                parsed = _claim_problem(parsed, stamps, since_a18) or parsed
            if isinstance(parsed, str):
                bad.append(Problem(rel, start, "error", parsed))
            else:
                lines.append(parsed)
                stamps.setdefault(parsed.patient_id, set()).add(parsed.exported_at)
                since_a18 = since_a18 or bool(parsed.frequency)
    except csv.Error as exc:  # a cell over the csv module's limit: nothing after it is sure
        bad.append(Problem(rel, line_no + 1, "error", f"cannot read this row as CSV ({exc})"))
    return lines, sorted(bad, key=lambda p: p.line or 0)


def _ledger_row(row: list[str], width: int) -> Line | str:
    if len(row) != width:
        return f"row has {len(row)} columns, expected {width}"
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
    frequency, replaces = row[15:] if width == len(LEDGER_COLUMNS) else ("", "")
    if frequency not in ("", ORIGINAL, REPLACEMENT, VOID):
        return f'frequency "{frequency[:12]}" is not 1, 7 or 8'
    n = len(COLUMNS)
    return Line(tuple(row[:n]), pid, code, int(units), amount, row[n], frequency, replaces)


def _claim_problem(line: Line, stamps: dict[str, set[str]], since_a18: bool) -> str | None:
    """What is wrong with a line's `frequency` and `replaces` given the lines before it (A18):
    read wrong, a replacement could stand for no claim, or an original for a replaced one.
    Only lines written before A18 (the first rows of a ledger given the two columns) have no
    frequency; `replaces` names earlier exports of the same patient, space-separated."""
    if not line.frequency and since_a18:
        return "frequency is empty; only lines exported before A18 may lack it (1, 7 or 8)"
    if line.frequency in ("", ORIGINAL):
        if line.replaces:
            return f'replaces "{line.replaces[:40]}" is set on an original claim (frequency 1)'
        return None
    if not line.replaces:
        return f"replaces is empty: a frequency {line.frequency} line names the claim it replaces"
    earlier = stamps.get(line.patient_id, set()) - {line.exported_at}
    unknown = next((s for s in line.replaces.split(" ") if s not in earlier), None)
    if unknown is not None:
        return (f'replaces "{unknown[:40]}" names no earlier claim of {line.patient_id} '
                "in this ledger")  # fmt: skip
    return None


def is_legacy(text: str) -> bool:
    """A ledger written before A18: its header lacks `frequency` and `replaces`."""
    first = text.split("\n", 1)[0].strip().lstrip("\ufeff")
    return tuple(h.strip() for h in first.split(",")) == LEGACY_COLUMNS


def ledger_text(fd: int) -> str:
    try:
        return fileio.read_fd(fd).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CcmError("the export ledger is not UTF-8 text; repair it before exporting") from None


def read_ledger(data: DataDir, month: Month) -> list[Line]:
    """The ledger under a shared lock (an export appending waits or finishes first)."""
    text = _locked_text(data, month, ledger_text)
    return parse_ledger(text, data.relative(data.export_path(month))) if text else []


def ledger_lines(
    data: DataDir, month: Month, locked: bool = True
) -> tuple[list[Line], list[Problem]]:
    """The ledger's good lines and a problem for each damaged one, as `scan_ledger` reads them:
    for what shows or warns of what was exported (the audit packet, `ccm log`), where
    `read_ledger` refuses any damage (an export must not build on it). `locked`: under the
    ledger's shared lock, as `read_ledger`; without it for a warning that must never wait on an
    export (a line being appended reads as damaged, and the warning says so). Only a regular
    file inside the data directory is read (regular_files; anything else raises OSError)."""
    path = data.export_path(month)
    if locked:
        text = _locked_text(
            data, month, lambda fd: fileio.read_fd(fd).decode("utf-8-sig", "replace")
        )
    else:
        try:
            text = regular_files.read_bytes(data.root, path).decode("utf-8-sig", "replace")
        except (FileNotFoundError, NotADirectoryError):
            text = ""
    return scan_ledger(text, data.relative(path)) if text else ([], [])


def _locked_text(data: DataDir, month: Month, read) -> str:
    """`read(fd)` of the month's ledger under a shared lock; "" when there is none."""
    try:
        fd = fileio.open_locked(data.export_path(month), os.O_RDONLY, fcntl.LOCK_SH)
    except (FileNotFoundError, NotADirectoryError):  # `exports` not a folder: the loader says so
        return ""
    try:
        return read(fd)
    finally:
        os.close(fd)


def next_stamp(lines: list[Line], tz_name: str) -> str:
    """The `exported_at` of a new export: now, to the second, or one second after the latest
    stamp in the ledger when the clock has not moved past it (two exports in one second, a fixed
    CCM_NOW), so that each export's stamp names it alone, as `replaces` names a claim (A18)."""
    now = now_in(tz_name).replace(microsecond=0)
    latest = None
    for line in lines:
        try:
            at = datetime.fromisoformat(line.exported_at)
        except ValueError:
            continue
        if at.tzinfo is not None and (latest is None or at > latest):
            latest = at
    if latest is not None and now <= latest:
        now = (latest + timedelta(seconds=1)).astimezone(now.tzinfo)
    return now.isoformat(timespec="seconds")


def append_lines(fd: int, path, text: str, lines: list[Line], stamp: str, rel: str) -> None:
    """Record `lines` (with their frequency and replaces) under `stamp`, in the ledger locked
    as `fd` whose content is `text`. A ledger written before A18 is first given the two new
    columns: rewritten whole (temporary file and rename, still under the lock; a writer waiting
    for the lock finds the new file), its rows kept as they were, their new cells empty."""
    rows = ((*line.cells, stamp, line.frequency or ORIGINAL, line.replaces) for line in lines)
    try:
        if is_legacy(text):
            old = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))[1:]
            kept = ([*row, "", ""] for row in old if row and row != [""])
            fileio.atomic_write(path, csv_text([*kept, *rows], LEDGER_COLUMNS))
        else:
            fileio.append_locked_fd(fd, csv_text(rows))
    except OSError as exc:
        raise CcmError(f"the claim lines were written but could not be recorded in {rel} "
                       f"({exc.strerror or type(exc).__name__}): do not bill that output; "
                       "fix the problem and export again") from None  # fmt: skip


# ---- the claims the ledger holds (A18) -------------------------------------------------------------


@dataclass
class Claim:
    """A patient-month's claim as the ledger says it stands: the lines of its original export
    (with any additive lines of ledgers before A18), or of the last replacement; none once voided.
    `stamps`: the exported_at of the export(s) whose lines these are, what a replacement names."""

    patient_id: str
    lines: list[Line]
    stamps: list[str]
    voided: bool = False


def claims(lines: list[Line]) -> dict[str, Claim]:
    """Each patient's claim as it stands after every line of the ledger, in file order. The
    lines of one export share its stamp; an original after a void starts a new claim."""
    out: dict[str, Claim] = {}
    last: dict[str, tuple[str, str]] = {}  # patient: (stamp, frequency) of its last line
    for line in lines:
        pid, frequency = line.patient_id, line.frequency or ORIGINAL
        claim = out.get(pid)
        same_export = last.get(pid) == (line.exported_at, frequency)
        last[pid] = (line.exported_at, frequency)
        if claim is not None and same_export:
            if frequency != VOID:
                claim.lines.append(line)
        elif frequency == ORIGINAL and claim is not None and not claim.voided:
            claim.lines.append(line)  # an additive line of a ledger before A18
            if line.exported_at not in claim.stamps:
                claim.stamps.append(line.exported_at)
        else:
            kept = [] if frequency == VOID else [line]
            out[pid] = Claim(pid, kept, [line.exported_at], frequency == VOID)
    return out
