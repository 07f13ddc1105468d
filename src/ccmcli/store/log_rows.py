"""Checking one row of a month log (timelog.py holds the format; log_parser.py reads the rows).

Reading is the hot path of `ccm check` (hundreds of thousands of rows), so a row is checked with
plain string tests rather than a model, and each distinct date, minute count and patient id is
checked once. A row with an error counts toward nothing and is reported; every other row still
counts.
"""

import re
from collections.abc import Callable
from datetime import date, datetime

from ccmcli.codes.identifiers import ENTRY_ID
from ccmcli.models.months import Month
from ccmcli.store.timelog import MAX_MINUTES, OTHER_SERVICES, ROLES, SERVICE_COLUMNS

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


class RowChecker:
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
        eid = row[0]  # ENTRY_ID; most ids are plain ASCII letters and digits, seen at C speed
        if not (len(eid) <= 40 and eid.isascii() and eid.isalnum()) and not ENTRY_ID.fullmatch(eid):
            return "id must be 1-40 letters, digits, '-' or '_'"
        problem = self.patients.get(row[1])  # each verdict remembered (patient, day, minutes)
        if problem is None:
            problem = self.patient(row[1])
        if problem:
            return problem
        day = self.dates.get(row[2]) or self.day(row[2])
        if isinstance(day, str):
            return day
        if len(row) > 12 and row[12] and row[12] not in OTHER_SERVICES:
            return f'service "{row[12][:20]}" is not one of: {", ".join(OTHER_SERVICES)} (or empty)'
        if row[11]:
            return self._check_void(row, day)
        minutes = self.minutes.get(row[3]) or self.minutes_of(row[3])
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
