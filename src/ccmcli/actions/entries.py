"""`ccm entries`: a month's entries and void rows as the log holds them (contract section 2)."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ccmcli.loader import load
from ccmcli.models.months import Month
from ccmcli.store import timelog
from ccmcli.store.datadir import DataDir
from ccmcli.store.timelog import Entry, MonthLog

if TYPE_CHECKING:
    from ccmcli.reports.json_shapes import EntriesOutput

# Contract 2, `ccm entries --format csv`: the log's columns, then `voided` and `line`.
LIST_COLUMNS = (*timelog.SERVICE_COLUMNS, "voided", "line")


@dataclass
class Listing:
    """One month's rows for `ccm entries`, void rows included, with the file's problems."""

    month: Month
    log: MonthLog
    entries: list[Entry]
    problems: list = field(default_factory=list)  # of the files read: the log, settings, patients

    def rows(self) -> list[list]:
        return [[e.id, e.patient_id, e.date.isoformat(), e.minutes, e.role, e.staff, e.activity,
                 e.start, e.end, e.note, e.logged_at, e.voids, e.service, e.voided_by or "",
                 e.line] for e in self.entries]  # fmt: skip

    def as_dict(self) -> "EntriesOutput":
        return {"schema": "ccm.entries/1", "month": str(self.month), "file": self.log.file,
                "entries": [{**e.as_dict(), "voided_by": e.voided_by} for e in self.entries],
                "problems": [p.as_dict() for p in self.problems]}  # fmt: skip


def list_entries(data: DataDir, month_text: str | None, patient_id: str | None) -> Listing:
    """The month's entries (this month at the practice by default), optionally one patient's."""
    practice = load(data, patient_ids=None if patient_id is None else [patient_id])
    month = practice.month(month_text)
    if patient_id is not None and patient_id not in practice.invalid:
        practice.patient(patient_id)  # refuses an unknown patient
    log = practice.read_month(month)
    chosen = [e for e in log.entries if patient_id is None or e.patient_id == patient_id]
    return Listing(month, log, chosen, practice.month_problems(month))
