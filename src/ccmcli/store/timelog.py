"""The monthly time logs: one CSV per calendar month, append-only (contract section 1).

This module holds the format and its values (columns, roles, services, `Entry`, `MonthLog`);
checking one row is log_rows.py, reading a month's text into entries and problems log_parser.py,
and the loader (loader.py) is the one reader every command gets a month from. Nothing here ever
rewrites a log.
"""

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
