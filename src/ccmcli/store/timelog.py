"""The monthly time logs: one CSV per calendar month, append-only (contract section 1).

Reading is the hot path of `ccm check` (hundreds of thousands of rows), so a row is checked with
plain string tests rather than a model, and each distinct date, minute count and patient id is
checked once. A row with an error counts toward nothing and is reported; every other row still
counts. Nothing here ever rewrites a log.
"""

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from ccmcli.codes.identifiers import ENTRY_ID
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
# Control characters (Unicode Cc) but tab, CR and LF: a NUL or an escape sequence hides text from
# whoever reads the note, and no tool writes one (a line break inside a quoted cell is what a
# spreadsheet writes for a note of several lines).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NOT_C0 = bytes(b for b in range(256) if not ((b < 32 and b not in (9, 10, 13)) or b == 127))
_C1 = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080-U+009F in UTF-8


def has_controls(data: bytes | str) -> bool:
    """Whether a file's text holds any CONTROL character. A regular expression over a large
    month costs a third of a second; deleting every other byte at C speed costs a few ms."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return bool(raw.translate(None, _NOT_C0)) or (b"\xc2" in raw and bool(_C1.search(raw)))


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

    def time_entries(self) -> list[Entry]:
        """Entries that count: not void rows, not voided."""
        return [e for e in self.entries if e.counts]

    def by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}


def minutes_between(start: str, end: str) -> int | None:
    """Minutes from HH:MM to HH:MM on one day; None when either is not a valid time."""
    try:
        sh, sm = _hhmm(start)
        eh, em = _hhmm(end)
    except ValueError:
        return None
    return (eh * 60 + em) - (sh * 60 + sm)


def _hhmm(text: str) -> tuple[int, int]:
    if len(text) != 5 or text[2] != ":" or not (text[:2].isdigit() and text[3:].isdigit()):
        raise ValueError(text)
    h, m = int(text[:2]), int(text[3:])
    if h > 23 or m > 59:
        raise ValueError(text)
    return h, m


def _logged_at_ok(text: str) -> bool:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return False
    return stamp.tzinfo is not None and "T" in text


class _RowChecker:
    """Checks rows of one month file. A month's rows share a few dozen dates and minute counts
    and one id per patient, so each distinct value is checked once and its verdict remembered:
    the parsed value, or the message for a row that has it."""

    def __init__(
        self, month: Month, known_patient: Callable[[str], bool] | None, controls: bool = False
    ) -> None:
        self.controls = controls  # the file holds some control character: look for it per row
        self.prefix = f"{month}-"
        self.known_patient = known_patient
        self.dates: dict[str, date | str] = {}
        self.minutes: dict[str, int | str] = {}
        self.patients: dict[str, str] = {}  # id -> "" when fine, else the message

    def day(self, text: str) -> date | str:
        day = self.dates.get(text)
        if day is None:
            day = self.dates[text] = self._day(text)
        return day

    def _day(self, text: str) -> date | str:
        if not text.startswith(self.prefix) or len(text) != 10:
            try:
                date.fromisoformat(text)
            except ValueError:
                return f'date "{text}" is not a date of the form YYYY-MM-DD'
            return f"date {text} is outside this file's month ({self.prefix[:-1]})"
        try:
            return date.fromisoformat(text)
        except ValueError:
            return f'date "{text}" is not a real date'

    def patient(self, pid: str) -> str:
        problem = self.patients.get(pid)
        if problem is None:
            problem = self.patients[pid] = self._patient(pid)
        return problem

    def _patient(self, pid: str) -> str:
        if not pid:
            return "patient_id is empty"
        if self.known_patient is not None and not self.known_patient(pid):
            return f'unknown patient "{pid}"' if len(pid) <= 40 else "unknown patient"
        return ""

    def minutes_of(self, text: str) -> int | str:
        minutes = self.minutes.get(text)
        if minutes is None:
            minutes = self.minutes[text] = _minutes(text)
        return minutes

    def check(self, row: list[str]) -> str | tuple:
        """The row's first error as a message, or the parsed (date, minutes) pair."""
        if self.controls:
            problem = _control_problem(row)
            if problem:
                return problem
        if not ENTRY_ID.fullmatch(row[0]):
            return "id must be 1-40 letters, digits, '-' or '_'"
        problem = self.patient(row[1])
        if problem:
            return problem
        day = self.day(row[2])
        if isinstance(day, str):
            return day
        if len(row) > 12 and row[12] and row[12] not in OTHER_SERVICES:
            return f'service "{row[12][:20]}" is not one of: {", ".join(OTHER_SERVICES)} (or empty)'
        if row[11]:
            return self._check_void(row, day)
        minutes = self.minutes_of(row[3])
        if isinstance(minutes, str):
            return minutes
        role = row[4]
        if role not in ROLES:
            return f'role "{role[:30]}" is not clinical_staff or practitioner'
        start, end = row[7], row[8]
        if start or end:
            problem = _check_times(start, end, minutes)
            if problem:
                return problem
        if row[10] and not _logged_at_ok(row[10]):
            return f'logged_at "{row[10][:40]}" is not an ISO 8601 time with a UTC offset'
        return day, minutes

    def _check_void(self, row: list[str], day: date) -> str | tuple:
        if row[3]:
            return "a void row must leave minutes empty"
        if not ENTRY_ID.fullmatch(row[11]):
            return "voids must name an entry id"
        if row[4] and row[4] not in ROLES:
            return f'role "{row[4][:30]}" is not clinical_staff or practitioner'
        return day, None


def _control_problem(row: list[str]) -> str | None:
    """The first cell holding a control character, named by its column, never echoed. The row
    has the file's width (12 or 13 cells), already checked."""
    for name, cell in zip(SERVICE_COLUMNS, row, strict=False):
        m = CONTROL.search(cell)
        if m:
            return f"{name} holds a control character (U+{ord(m.group()):04X}), which no log cell may hold"
    return None


def _minutes(text: str) -> int | str:
    if not text.isdigit() or not text.isascii():
        return f'minutes "{text[:12]}" is not a whole number'
    minutes = int(text)
    if not 1 <= minutes <= MAX_MINUTES:
        return f"minutes {minutes} is outside 1-{MAX_MINUTES}"
    return minutes


def _check_times(start: str, end: str, minutes: int) -> str | None:
    for name, value in (("start", start), ("end", end)):
        if value:
            try:
                _hhmm(value)
            except ValueError:
                return f'{name} "{value[:10]}" is not a time of the form HH:MM'
    if start and end:
        span = minutes_between(start, end)
        if span is not None and span <= 0:
            return f"end {end} is not after start {start}"
        if span != minutes:
            return f"minutes {minutes} disagree with start-end ({span} minutes)"
    return None


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
    return read_rows(text, month, rel, known_patient, controls)[0]


@dataclass
class Resume:
    """Where reading a month file can go on once rows are appended to it (logcache.py): the rows
    before its last record as read (void rows not yet linked), where that record starts, and the
    file's width (its header, which is not read again). The last record is read again, since a
    quote left open in it would run on into what follows; every record before it ended before it
    began, so appends cannot change how it reads."""

    offset: int  # characters (ASCII text: bytes) before the last record
    line: int  # the last record's first line
    entries: list[Entry]
    problems: list[Problem]
    columns: int = len(SERVICE_COLUMNS)


def read_rows(text: str, month: Month, rel: str, known_patient: Callable[[str], bool] | None = None,
              controls: bool | None = None, resume: Resume | None = None,
              ) -> tuple[MonthLog, Resume | None]:  # fmt: skip
    """parse_month, and where a later read of the grown file can go on from (None: it cannot).

    With `resume`, from a read of the same file whose first `resume.offset` characters are
    unchanged, `text` is the rest of the file from there; the result is the whole file's. Rows
    are checked for control characters one by one, so `controls` may then be the rest's own."""
    log = MonthLog(month, rel, exists=True)
    first = resume.line if resume else 1  # the line `text` starts on
    if resume is None and not text.strip():
        log.problems.append(Problem(rel, 1, "error", "the file is empty (expected a header row)"))
        return log, None
    as_written = True
    if text and not text.endswith(("\n", "\r")):
        cut = text.rfind("\n") + 1
        if cut == 0 and resume is None:  # a header alone, without its line end: nothing was torn
            text, as_written = text + "\n", False
        else:
            torn_line = first + text.count("\n", 0, cut)
            text = text[:cut]
            msg = "the last line is incomplete (no line end: the write may have been interrupted)"
            log.problems.append(Problem(rel, torn_line, "error", msg))
    lines = _lines(text)
    if resume is None:
        header = tuple(h.strip() for h in next(csv.reader([next(lines, "")]), []))
        if header not in (COLUMNS, SERVICE_COLUMNS):
            msg = f"header must be: {','.join(SERVICE_COLUMNS)} (or without ,service)"
            log.problems.insert(0, Problem(rel, 1, "error", msg))
            return log, None
        log.columns = len(header)
    else:
        log.columns = resume.columns
    controls = has_controls(text) if controls is None else controls
    rows = _Rows(log, resume)
    checker = _RowChecker(month, known_patient, controls)
    end = rows.read(csv.reader(lines), checker, first if resume else 2)
    after = rows.resume_point(text, end, resume.offset if resume else 0) if as_written else None
    log.problems += rows.problems
    if rows.voids:
        _link_voids(log)
    log.problems.sort(key=lambda p: p.line or 0)
    return log, after


_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")  # str.splitlines breaks there too


def _lines(text: str) -> Iterator[str]:
    """The lines as the csv module reads a file: ended by \\n, \\r or \\r\\n, ends kept.

    `str.splitlines` also breaks at a few rare control characters (and at \\x85, \\u2028 and
    \\u2029 beyond ASCII), so it is used only on ASCII text without them; io.StringIO, which
    copies the text at 4 bytes a character, reads the rest.
    """
    if text.isascii() and not any(c in text for c in _OTHER_BREAKS):
        return iter(text.splitlines(keepends=True))
    return io.StringIO(text, newline="")


class _Rows:
    """Reads rows into a log, remembering where its last record began (Resume)."""

    def __init__(self, log: MonthLog, resume: Resume | None) -> None:
        self.log = log
        if resume is not None:
            log.entries = list(resume.entries)
        self.problems: list[Problem] = list(resume.problems) if resume else []
        self.voids = any(e.voids for e in log.entries)
        self.seen: dict[str, int] = {e.id: e.line for e in log.entries}
        self.end = 0  # the last line read
        self.mark = (0, len(log.entries), len(self.problems))  # (line, entries, problems)

    def read(self, reader, checker: _RowChecker, first: int) -> int:
        """Check every row from line `first` on, keep the valid ones; the last line read.

        A cell longer than the csv module's limit (131,072 characters: a paste gone wrong, a
        quote left open in a large file) stops the reader at that row: it is reported, and
        reading goes on at the next line, so the other rows still count."""
        log, problems = self.log, self.problems
        self.end = base = first - 1
        self.mark = (first, len(log.entries), len(problems))
        while True:
            try:
                self._rows(reader, checker, base)
                break
            except csv.Error as exc:
                start, self.end = self.end + 1, reader.line_num + base
                self.mark = (start, len(log.entries), len(problems))
                problems.append(Problem(log.file, start, "error",
                                        _runs_on(_csv_error(exc), start, self.end)))  # fmt: skip
        if self.end < self.mark[0]:  # no record: the mark is the end of the text
            self.mark = (self.end + 1, *self.mark[1:])
        return self.end

    def _rows(self, reader, checker: _RowChecker, base: int) -> None:
        log, problems, add, seen = self.log, self.problems, self.log.entries.append, self.seen
        rel, width = log.file, log.columns
        for row in reader:
            start = self.end + 1
            self.end = end = reader.line_num + base
            self.mark = (start, len(log.entries), len(problems))
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                problems.append(Problem(rel, start, "error", _runs_on(
                    f"row has {len(row)} columns, expected {width}", start, end)))  # fmt: skip
                continue
            result = checker.check(row)
            if isinstance(result, str):
                problems.append(Problem(rel, start, "error", result, patient_id=row[1] or None))
                continue
            eid = row[0]
            if eid in seen:
                msg = f"entry id {eid} is already used on line {seen[eid]}"
                problems.append(Problem(rel, start, "error", msg, patient_id=row[1]))
                continue
            seen[eid] = start
            day, minutes = result
            if minutes is None:
                self.voids = True
            add(Entry(eid, row[1], day, minutes, row[4], row[5], row[6], row[7], row[8], row[9],
                      row[10], row[11], start, rel, None, row[12] if width > 12 else ""))  # fmt: skip

    def resume_point(self, text: str, end: int, offset: int) -> Resume | None:
        """Where the last record starts, for ASCII text whose lines all end in \\n (or \\r\\n):
        only there are characters bytes and line numbers counts of \\n. `end` is the text's last
        line and `offset` where the text starts in the file."""
        if not text.isascii() or text.count("\r") != text.count("\r\n"):
            return None
        line, n_entries, n_problems = self.mark
        pos = len(text)
        for _ in range(end + 1 - line):  # back over the lines from the mark's to the end
            pos = text.rfind("\n", 0, pos - 1) + 1
        return Resume(offset + pos, line, self.log.entries[:n_entries],
                      self.problems[:n_problems], self.log.columns)  # fmt: skip


def _csv_error(exc: csv.Error) -> str:
    if "field larger" in str(exc):
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    return f"cannot read this row as CSV ({exc})"


def _runs_on(msg: str, start: int, end: int) -> str:
    """A quote left open swallows the lines after it: say so, loudly."""
    if end > start:
        return f"{msg}; it runs on to line {end} (a quote left open?): lines {start}-{end} are not counted"
    return msg


def _link_voids(log: MonthLog) -> None:
    """Mark voided entries; a void of a missing, void or already-voided entry is an error."""
    by_id = {e.id: e for e in log.entries}
    bad: set[int] = set()
    for e in log.entries:
        if not e.voids:
            continue
        target = by_id.get(e.voids)
        problem = None
        if target is None:
            problem = f"voids {e.voids}, which is not an entry in this file"
        elif target.voids:
            problem = f"voids {e.voids}, which is itself a void row"
        elif target.patient_id != e.patient_id or target.date != e.date:
            problem = f"void row must repeat the patient_id and date of entry {e.voids}"
        elif target.voided_by is not None:
            problem = f"entry {e.voids} is already voided by {target.voided_by}"
        if problem:
            log.problems.append(
                Problem(log.file, e.line, "error", problem, patient_id=e.patient_id)
            )
            bad.add(id(e))
        else:
            target.voided_by = e.id
    if bad:
        log.entries[:] = [e for e in log.entries if id(e) not in bad]


def read_month(data, month: Month, known_patient: Callable[[str], bool] | None = None) -> MonthLog:
    """The month's log from the data directory; a missing file is an empty month, not a problem.
    Only a regular file inside the data directory is read (regular_files)."""
    from ccmcli.store import regular_files

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
