"""The monthly time logs: one CSV per calendar month, append-only (contract section 1).

This module holds the format and its values (columns, roles, services, `Entry`, `MonthLog`) and
reads a whole month; checking one row is log_rows.py, reading the rows resumably log_resume.py.
A row with an error counts toward nothing and is reported; every other row still counts. Nothing
here ever rewrites a log.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from ccmcli.models.findings import Problem
from ccmcli.models.months import Month

COLUMNS = (
    "id", "patient_id", "date", "minutes", "role", "staff", "activity",
    "start", "end", "note", "logged_at", "voids",
)  # fmt: skip
SERVICE_COLUMNS = (*COLUMNS, "service")  # A7: the optional 13th column
HEADER_12 = ",".join(COLUMNS) + "\n"  # files written before `service` existed: still valid
HEADER = ",".join(SERVICE_COLUMNS) + "\n"  # what ccm writes into a new month file
# A7: time of another service, which counts toward nothing here; empty = the patient's program.
OTHER_SERVICES = ("bhi", "rpm", "rtm", "tcm", "cocm", "other")
ROLES = ("clinical_staff", "practitioner")
MAX_MINUTES = 720


@dataclass(slots=True)
class Entry:
    """One valid row. `minutes` is None on a void row, whose `voids` names the entry it cancels."""

    id: str
    patient_id: str
    date: date
    minutes: int | None
    role: str
    staff: str
    activity: str
    start: str
    end: str
    note: str
    logged_at: str
    voids: str
    line: int
    file: str
    voided_by: str | None = None
    service: str = ""  # A7: empty = the program's own time, else another service's

    @property
    def other_service(self) -> bool:
        """Time of another service (A7): reported, never counted toward the program."""
        return bool(self.service)

    @property
    def is_void(self) -> bool:
        return bool(self.voids)

    @property
    def counts(self) -> bool:
        """A time entry that no void row cancels."""
        return not self.voids and self.voided_by is None

    def as_dict(self) -> dict:
        return {
            "id": self.id, "patient_id": self.patient_id, "date": self.date.isoformat(),
            "minutes": self.minutes, "role": self.role, "staff": self.staff,
            "activity": self.activity, "start": self.start or None, "end": self.end or None,
            "note": self.note, "logged_at": self.logged_at or None, "voids": self.voids or None,
            "voided": self.voided_by is not None, "file": self.file, "line": self.line,
            "service": self.service or None,
        }  # fmt: skip


@dataclass
class MonthLog:
    month: Month
    file: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    exists: bool = False
    columns: int = len(SERVICE_COLUMNS)  # 12 for a file written before `service` existed
    # The bytes the rows were read from, when known (logcache): (length, their SHA-256, the first
    # line not wholly within them). Rows on earlier lines read the same while those bytes do.
    prefix: tuple[int, str, int] | None = None

    def time_entries(self) -> list[Entry]:
        """Entries that count: not void rows, not voided."""
        return [e for e in self.entries if e.counts]

    def by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}


def parse_month(
    text: str, month: Month, rel: str, known_patient: Callable[[str], bool] | None = None,
    controls: bool | None = None,
) -> MonthLog:  # fmt: skip
    """Every row of one month file: valid entries, and a problem for each bad row.

    `known_patient` (None: not checked) tells whether a patient id has a file. `controls`:
    whether the file holds a control character (has_controls of its bytes; None: look here).
    A last line with no line end is a write that was interrupted: it is reported, not counted,
    never repaired.
    """
    from ccmcli.store.log_resume import read_rows

    return read_rows(text, month, rel, known_patient, controls)[0]


def read_month(data, month: Month, known_patient: Callable[[str], bool] | None = None) -> MonthLog:
    """The month's log from the data directory; a missing file is an empty month, not a problem.
    Only a regular file inside the data directory is read (regular_files)."""
    from ccmcli.store import regular_files
    from ccmcli.store.log_rows import has_controls

    path = data.log_path(month)
    rel = data.relative(path)
    try:
        raw = regular_files.read_bytes(data.root, path)
    except FileNotFoundError:
        return MonthLog(month, rel)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return MonthLog(month, rel, problems=[Problem(rel, None, "error", f"cannot read: {why}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text, bad = _blank_undecodable_lines(raw)
        log = parse_month(text, month, rel, known_patient)
        msg = "line is not UTF-8 text (saved in another encoding?); the row is not counted"
        log.problems = sorted(log.problems + [Problem(rel, n, "error", msg) for n in bad],
                              key=lambda p: p.line or 0)  # fmt: skip
        return log
    controls = has_controls(raw)
    del raw  # a large month is not held twice while it is parsed
    return parse_month(text, month, rel, known_patient, controls)


def _blank_undecodable_lines(raw: bytes) -> tuple[str, list[int]]:
    """The text with each line that is not UTF-8 left empty (so the other rows still count and
    line numbers stay true), and the numbers of those lines."""
    lines, bad = raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            lines[i] = b""
            bad.append(i + 1)
    return b"\n".join(lines).decode("utf-8"), bad


def row_ids(path) -> list[str]:
    """The first cell of every row after the header, as the csv module reads the file; a file
    that cannot be read has no ids (its own problems say why)."""
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError:
        return []
    if '"' not in text:  # no quoting: a line is a row, and much faster to split
        return [line.split(",", 1)[0] for line in text.splitlines()[1:] if line]
    rows = csv.reader(io.StringIO(text, newline=""))
    next(rows, None)
    return [row[0] for row in rows if row]


def row_lines(path, ids: set[str]) -> dict[str, int]:
    """The line of the first row holding each of `ids`, for a message that points at it."""
    found: dict[str, int] = {}
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError:
        return found
    rows = csv.reader(io.StringIO(text, newline=""))
    line = 1
    next(rows, None)
    for row in rows:
        start, line = line + 1, rows.line_num
        if row and row[0] in ids:
            found.setdefault(row[0], start)
    return found
