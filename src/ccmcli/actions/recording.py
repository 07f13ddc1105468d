"""Recording time: what `ccm log` and `ccm void` do (contract section 1).

Coordinators log at the same moment on a shared drive while a cron job reads, so every row goes
through logappend (one locked, fsynced write); what the month already holds is read by the loader
under that lock, as `check` reads it, and judged (overlaps, double entries, an entry already
voided); the month-to-date reply judges that reading with the new row, as `explain` would. Everything
typed is checked first, so a refusal writes nothing. Only ccm.yaml, the one patient file, that
month's log (and the ids of the months before it) and its export ledger are read: never every
patient.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from ccmcli.actions.entry_input import (
    ROLE_ENV,
    activity_option,
    parse_time,
    resolve_minutes,
    resolve_role,
    resolve_service,
    resolve_staff,
    single_line,
)
from ccmcli.codes.identifiers import is_entry_id
from ccmcli.loader import load
from ccmcli.models.errors import CcmError
from ccmcli.models.months import Month, today_in
from ccmcli.models.typed import parse_date
from ccmcli.reports.patient_month import month_status
from ccmcli.rules.engine import Judgement
from ccmcli.rules.entry_checks import duplicate_key
from ccmcli.store import timelog
from ccmcli.store.datadir import DataDir
from ccmcli.store.logappend import append_entry
from ccmcli.store.timelog import Entry, MonthLog

if TYPE_CHECKING:
    from ccmcli.reports.json_shapes import RecordedOutput


@dataclass
class LogRequest:
    """`ccm log` as typed: strings, checked by `log_time` before anything is written."""

    patient_id: str
    minutes: str | None = None
    day: str | None = None
    start: str | None = None
    end: str | None = None
    role: str | None = None
    staff: str | None = None
    activity: str = ""
    note: str = ""
    entry_id: str = ""  # chosen by the caller (a timer's stop) so a retry can tell it was written
    service: str | None = None


@dataclass
class Recorded:
    """A row just appended, the patient's month-to-date judgement, and warnings for a person."""

    entry: Entry
    judgement: Judgement | None
    warnings: list[str] = field(default_factory=list)
    voided: Entry | None = None
    columns: int = len(timelog.SERVICE_COLUMNS)  # of the log written to: 12 in an old file

    def as_dict(self) -> "RecordedOutput":
        from ccmcli.reports.practice_month import judgement_dict

        out: RecordedOutput = {
            "schema": "ccm.void/1" if self.voided is not None else "ccm.log/1",
            "entry": self.entry.as_dict(),
            # the patient's month after the row, as `check` words it (`status` is its word)
            "patient_month": judgement_dict(self.judgement) if self.judgement else None,
            "messages": list(self.warnings),  # what stderr says: warnings are rule findings
        }
        if self.voided is not None:
            out["voided"] = self.voided.as_dict()
        served = self.service_result()
        if served is not None:
            out["service"] = served.as_dict()  # A16: the tagged service's month-to-date
        return out

    def service_result(self):
        """The month of the service the entry was logged for (`--service rpm`), if it bills."""
        entry, j = self.voided or self.entry, self.judgement
        if j is None or not entry.service:
            return None
        return next((s for s in j.services if s.service == entry.service), None)


def _template(patient_id: str, day: date, minutes: int | None, role: str, staff: str,
              activity: str = "", start: str = "", end: str = "", note: str = "",
              voids: str = "") -> Entry:  # fmt: skip
    """An entry without id, time of writing and line: those are set under the lock."""
    return Entry("", patient_id, day, minutes, role, staff, activity, start, end, note, "", voids,
                 0, "")  # fmt: skip


def log_time(data: DataDir, req: LogRequest, environ: Mapping[str, str] = os.environ) -> Recorded:
    """Check every input, then append one entry; nothing is written when anything is wrong."""
    role, staff = resolve_role(req.role, environ), resolve_staff(req.staff, environ)
    activity = activity_option(req.activity)
    note = single_line("--note", req.note)
    start = parse_time("--start", req.start) if req.start else ""
    end = parse_time("--end", req.end) if req.end else ""
    minutes = resolve_minutes(req.minutes, start, end)
    service = resolve_service(req.service)
    practice = load(data, patient_ids=[req.patient_id])  # refuses an id that could name a path
    settings, patient = practice.settings, practice.patient(req.patient_id)
    day = parse_date(req.day or "today", today_in(settings.timezone), allow_future=False)
    draft = _template(patient.id, day, minutes, role, staff, activity, start, end, note)
    draft.id, draft.service = req.entry_id, service

    month = Month.of(day)

    def inspect(log: MonthLog) -> tuple[Entry, list[str]]:
        return draft, _log_warnings(log, draft)

    def read() -> MonthLog:
        return practice.read_month(month, again=True)

    entry, log, warnings = append_entry(data, month, settings.timezone, inspect, read)
    judgement = month_status(practice, patient, month)  # the loader's reading, with the new row
    warnings += _problems_for(practice, log, patient.id)
    warnings += _export_warnings(data, month, patient.id) + _judged(judgement, entry)
    return Recorded(entry, judgement, warnings, columns=log.columns)


def _problems_for(practice, log: MonthLog, patient_id: str) -> list[str]:
    """The errors that bear on the patient's month: every file's but the month log's, and the
    log's rows of this patient (the rest _file_warnings counts)."""
    return [p.render() for p in practice.problems if p.severity == "error"
            and (p.file != log.file or p.patient_id == patient_id)]  # fmt: skip


def _judged(j: Judgement, entry: Entry) -> list[str]:
    """What the rules say about the new entry itself: logged late, or counting toward nothing."""
    out = [f.message for f in j.warnings
           if f.rule in ("late_entry", "long_entry", "long_day") and f.entry_id == entry.id]  # fmt: skip
    for v in j.verdicts:
        if v.entry.id == entry.id and not v.counted:
            why = f" ({v.reason.replace('_', ' ')})" if v.reason else ""
            out.append(f"these {entry.minutes} minutes count toward nothing{why}")
    return out


def _log_warnings(log: MonthLog, new: Entry) -> list[str]:
    """Overlapping time of one staff member (any patient) and a likely double entry."""
    mine = [e for e in log.time_entries() if e.date == new.date and e.staff == new.staff]
    out = [f"{new.staff}'s time {new.start}-{new.end} on {new.date} overlaps entry {e.id} "
           f"({e.start}-{e.end}, {e.patient_id})"
           for e in mine if new.start and new.end and e.start and e.end
           and e.start < new.end and new.start < e.end]  # fmt: skip
    twins = [e.id for e in mine if duplicate_key(e) == duplicate_key(new)]
    if twins:
        out.append(f"possible double entry: {', '.join(twins)} already logged {new.minutes} min "
                   f"by {new.staff} for {new.patient_id} on {new.date}")  # fmt: skip
    return out + _file_warnings(log)


def _file_warnings(log: MonthLog) -> list[str]:
    errors = [p for p in log.problems if p.severity == "error" and p.file == log.file]
    if not errors:
        return []
    return [f"{log.file} has {len(errors)} line(s) with errors that count for nothing "
            f"(first: line {errors[0].line}); run `ccm validate`"]  # fmt: skip


def _export_warnings(data: DataDir, month: Month, patient_id: str) -> list[str]:
    """A change to a month whose claims for this patient went out may need a corrected claim.
    The ledger is read by its one reader (store/ledger.ledger_lines); when it cannot be read, or
    has damaged lines, the month may have been exported for this patient all the same."""
    from ccmcli.store.ledger import ledger_lines

    rel = data.relative(data.export_path(month))
    unread = [f"cannot read {rel}: {month.label()} may already be exported for {patient_id}"]
    try:
        lines, problems = ledger_lines(data, month, locked=False)  # never waits on an export
    except OSError:  # a link leading outside or a named pipe where the ledger should be
        return unread
    if any(line.patient_id == patient_id for line in lines):
        return [f"{month.label()} is already exported for {patient_id} ({rel}); "
                "this change may need a corrected claim"]  # fmt: skip
    return unread if problems else []


def void_entry(
    data: DataDir, entry_id: str, reason: str, staff: str | None = None,
    role: str | None = None, environ: Mapping[str, str] = os.environ,
) -> Recorded:  # fmt: skip
    """Append a void row for `entry_id` to its month's file (contract section 1).

    Refuses a missing entry, a void row and an entry already voided; the last is checked again
    under the lock, so of two people voiding the same entry at once only one succeeds.
    """
    if not is_entry_id(entry_id):
        raise CcmError("ENTRY_ID must be 1-40 letters, digits, '-' or '_'", 2)
    note = single_line("--reason", reason)
    if not note:
        raise CcmError("--reason must say why the entry is voided", 2)
    who = resolve_staff(staff, environ)
    own_role = resolve_role(role, environ) if role or environ.get(ROLE_ENV, "").strip() else None
    practice = load(data, patient_ids=())
    settings = practice.settings
    month = _locate(practice, entry_id)
    found: list[Entry] = []

    def build(log: MonthLog) -> tuple[Entry, list[str]]:
        target = _voidable(log, entry_id)
        found.append(target)
        draft = _template(target.patient_id, target.date, None, own_role or target.role, who,
                          note=note, voids=target.id)  # fmt: skip
        return draft, []

    def read() -> MonthLog:
        return practice.read_month(month, again=True)

    entry, log, warnings = append_entry(data, month, settings.timezone, build, read)
    target = found[0]
    target.voided_by = entry.id
    warnings += _problems_for(practice, log, target.patient_id)
    warnings += _export_warnings(data, month, target.patient_id)
    patients = load(data, patient_ids=[target.patient_id])
    try:
        patient = patients.patient(target.patient_id)
    except CcmError:  # the entry was for an unknown patient: voiding it is the fix
        return Recorded(entry, None, warnings, target)
    patients.logs[month] = log  # the same reading (the same patient files), with the void row
    return Recorded(entry, month_status(patients, patient, month), warnings, target)


def _locate(practice, entry_id: str) -> Month:
    """The month whose log holds a valid row with this id, searching the newest month first:
    the months whose rows hold the id (entry_ids.row_ids), as the loader reads them."""
    from ccmcli.store.entry_ids import row_ids
    from ccmcli.store.layout import log_months

    data, broken = practice.data, None
    for month in reversed(log_months(data)):
        if entry_id not in (row_ids(data, month) or ()):
            continue
        if entry_id in practice.read_month(month).by_id():
            return month
        broken = broken or data.relative(data.log_path(month))
    if broken:
        raise CcmError(f"entry {entry_id} in {broken} has errors and counts for nothing; "
                       "see `ccm validate`")  # fmt: skip
    raise CcmError(f"no entry {entry_id} in any log")


def _voidable(log: MonthLog, entry_id: str) -> Entry:
    target = log.by_id().get(entry_id)
    if target is None:
        raise CcmError(f"no valid entry {entry_id} in {log.file}")
    if target.is_void:
        raise CcmError(f"{entry_id} is a void row; only time entries can be voided")
    if target.voided_by:
        raise CcmError(f"entry {entry_id} is already voided by {target.voided_by}")
    return target
