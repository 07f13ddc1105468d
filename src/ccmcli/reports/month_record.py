"""What a month close records of the judgement, and how the month differs from it now.

`ccm close` stores `snapshot()`; `ccm close --verify` and `ccm validate` compute it again from
the files as they are and list every difference (contract 8). Both come from the same
`judge_month` that `check` uses, so a close records exactly what was billed from.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ccmcli.models.findings import Problem
from ccmcli.models.months import Month
from ccmcli.models.records import Settings
from ccmcli.reports.practice_month import MonthReport, judge_month
from ccmcli.reports.wording import codes_text
from ccmcli.rules.engine import Judgement, counts_role
from ccmcli.rules.table import Track
from ccmcli.store import closed_records
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from ccmcli.loader import Practice


def counted_ids(j: Judgement, pool_practitioner: bool) -> list[str]:
    """Ids of the entries that count toward the month's figures, as `explain` marks them
    counted: countable (A3) and, once a track is chosen, of a role it counts (A1, T-03)."""
    return [v.entry.id for v in j.verdicts
            if v.counted and ignoring_track(j, v.entry.role, pool_practitioner) is None]  # fmt: skip


def ignoring_track(j: Judgement, role: str, pool_practitioner: bool) -> Track | None:
    """The chosen track when it does not count this role's minutes: a countable entry of the role
    then counts toward nothing (A1, T-03; S14). The one statement of it, for the figures a close
    records (counted_ids) and for the reason `explain` gives (check_views)."""
    chosen = j.chosen.track if j.chosen else None
    if chosen is None or counts_role(chosen, role, pool_practitioner):
        return None
    return chosen


def patient_line(j: Judgement, settings: Settings) -> dict:
    """One patient's judgement as a close records it; the other services' (A16) only when the
    patient-month has any, so a record made before them reads the same."""
    line = {
        "patient_id": j.patient.id,
        "program": j.patient.program,
        "status": j.status,
        "codes": [{"code": c, "units": n} for c, n in j.codes],
        "amount": j.amount,
        "date_of_service": j.date_of_service.isoformat() if j.date_of_service else None,
        "minutes": {k: j.minutes[k] for k in ("clinical_staff", "practitioner", "not_counted")},
        "blockers": [b.rule for b in j.blockers],
        "entries": counted_ids(j, settings.count_practitioner_minutes_as_staff),
    }
    if j.services:
        line["services"] = [service_line(s) for s in j.services]
    return line


def service_line(s) -> dict:
    """A service's month as a close records it (A16): verdict, codes, date, counted entries."""
    return {"service": s.service, "status": s.status,
            "codes": [{"code": c, "units": n} for c, n in s.codes], "amount": s.amount,
            "date_of_service": s.date_of_service.isoformat() if s.date_of_service else None,
            "blockers": [b.rule for b in s.blockers],
            "entries": [v.entry.id for v in s.verdicts if v.counted]}  # fmt: skip


def snapshot(data: DataDir, settings: Settings, report: MonthReport) -> dict:
    """The month's judgement and the digests of its log and export ledger."""
    month = report.month
    return {
        "rules": str(report.rules.year),
        "log": {"file": data.relative(data.log_path(month)),
                "sha256": closed_records.file_digest(data.root, data.log_path(month))},
        "ledger": {"file": data.relative(data.export_path(month)),
                   "sha256": closed_records.file_digest(data.root, data.export_path(month))},
        "summary": {"patients": len(report.judgements),
                    "billable": sum(j.status == "billable" for j in report.judgements),
                    "amount": round(sum(j.amount for j in report.judgements), 2),
                    "total_amount": round(sum(j.total_amount for j in report.judgements), 2)},
        "patients": [patient_line(j, settings) for j in report.judgements],
    }  # fmt: skip


def current(practice: "Practice", month: Month) -> tuple[dict | None, MonthReport | None]:
    """The snapshot of the month as the loaded files are now (None when ccm.yaml is unreadable:
    `validate` goes on without settings)."""
    if practice.settings is None:
        return None, None
    report = judge_month(practice, month)
    return snapshot(practice.data, practice.settings, report), report


@dataclass(frozen=True)
class Difference:
    patient_id: str | None
    field: str
    recorded: object
    now: object

    def message(self) -> str:
        who = f"{self.patient_id}: " if self.patient_id else ""
        if self.field == "counted entries":
            return (f"{who}entries counted at close but not now: {_shown(self.recorded)}; "
                    f"counted now but not at close: {_shown(self.now)}")  # fmt: skip
        return f"{who}{self.field} {_shown(self.recorded)} at close, {_shown(self.now)} now"

    def as_dict(self) -> dict:
        return {"patient_id": self.patient_id, "field": self.field, "recorded": self.recorded,
                "now": self.now, "message": self.message()}  # fmt: skip


def _shown(value: object) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list) and value and isinstance(value[0], dict) and "code" in value[0]:
        return codes_text([(c["code"], c["units"]) for c in value])
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


_FIELDS = ("status", "program", "codes", "amount", "date_of_service", "blockers")


def outside(practice: "Practice", report: MonthReport | None) -> set[str]:
    """The valid patients that are no part of the month now (A17)."""
    judged = {j.patient.id for j in report.judgements} if report is not None else set()
    return set(practice.patients) - judged


def differences(recorded: dict, now: dict, outside: set[str] = frozenset()) -> list[Difference]:
    """Every way the month differs from its close record: files first, then each patient.

    A patient no part of the month now (A17) whose recorded line billed nothing and counted no
    entry is no difference: a record made before A17 listed every patient, the not yet enrolled
    among them."""
    out = []
    for part, name in (("log", "log"), ("ledger", "export ledger")):
        was, is_ = recorded[part]["sha256"], now[part]["sha256"]
        if was != is_:
            what = f"{name} {recorded[part]['file']} sha256"
            out.append(Difference(None, what, was and was[:12], is_ and is_[:12]))
    old = {p["patient_id"]: p for p in recorded["patients"]}
    new = {p["patient_id"]: p for p in now["patients"]}
    for pid in sorted(old.keys() | new.keys()):
        if pid in outside and pid not in new and not old[pid]["codes"] and not old[pid]["entries"]:
            continue
        out += patient_differences(pid, old.get(pid), new.get(pid))
    return out


def patient_differences(pid: str, old: dict | None, new: dict | None) -> list[Difference]:
    if old is None or new is None:
        state = "no valid patient file" if new is None else "judged"
        was = "judged" if old is not None else "not in the record"
        return [Difference(pid, "patient", was, state)]
    out = [Difference(pid, f, old.get(f), new.get(f)) for f in _FIELDS if old.get(f) != new.get(f)]
    for role in ("clinical_staff", "practitioner", "not_counted"):
        if old["minutes"].get(role) != new["minutes"].get(role):
            out.append(Difference(pid, f"{role.replace('_', ' ')} minutes",
                                  old["minutes"].get(role), new["minutes"].get(role)))  # fmt: skip
    out += _service_differences(pid, old.get("services") or [], new.get("services") or [])
    gone = [e for e in old["entries"] if e not in set(new["entries"])]
    added = [e for e in new["entries"] if e not in set(old["entries"])]
    if gone or added:
        out.append(Difference(pid, "counted entries", gone or None, added or None))
    return out


def _service_differences(pid: str, old: list[dict], new: list[dict]) -> list[Difference]:
    """A16: each service's verdict, codes, date and counted entries against the record."""
    was = {s["service"]: s for s in old}
    now = {s["service"]: s for s in new}
    out = []
    for name in sorted(was.keys() | now.keys()):
        a, b = was.get(name, {}), now.get(name, {})
        for f in ("status", "codes", "amount", "date_of_service", "blockers", "entries"):
            if a.get(f) != b.get(f):
                out.append(Difference(pid, f"{name} {f.replace('_', ' ')}", a.get(f), b.get(f)))
    return out


def as_problems(rel: str, month: Month, found: list[Difference]) -> list[Problem]:
    """Differences as validate errors on the month's last close record."""
    hint = f" (closed month {month}; see `ccm close --verify {month}`)"
    return [Problem(rel, None, "error", d.message() + hint, patient_id=d.patient_id)
            for d in found]  # fmt: skip


def closed_month_problems(practice: "Practice") -> list[Problem]:
    """For `validate`: tampering with any close record, every difference of a closed month
    (errors), and a warning for each exported month left open after the next month ended. The
    months are judged from the practice `validate` already loaded, not read again."""
    data = practice.data
    tz = practice.settings.timezone if practice.settings else None
    out = closed_records.stray_files(data)
    numbers = closed_records.record_numbers(data)
    for month, ns in numbers.items():
        history = closed_records.read_history(data, month, ns)
        out += history.problems
        record = history.last_close()
        if not history.closed or record is None:
            continue
        now, report = current(practice, month)
        if now is not None:
            rel = history.files[history.records.index(record)]
            out += as_problems(rel, month, differences(record, now, outside(practice, report)))
    if tz is not None:
        out += _exported_not_closed(data, tz, numbers)
    return out


def _exported_not_closed(data: DataDir, tz: str, numbers: dict) -> list[Problem]:
    from ccmcli.models.months import is_provisional

    out = []
    for month in _exported_months(data):
        if is_provisional(month.add(1), tz):
            continue
        if month in numbers and closed_records.read_history(data, month, numbers[month]).closed:
            continue
        out.append(Problem(data.relative(data.export_path(month)), None, "warning",
                           f"{month} has exported claim lines but is not closed; close it with "
                           f"`ccm close {month}` so it cannot change silently"))  # fmt: skip
    return out


def _exported_months(data: DataDir) -> list[Month]:
    """Months whose export ledger holds at least one line below its header (a ledger that
    cannot be read is the loader's problem to report, not a month to remind of)."""
    from ccmcli.store import layout
    from ccmcli.store.ledger import ledger_lines

    out = []
    for month in layout.ledger_months(data):
        try:
            lines, _ = ledger_lines(data, month, locked=False)  # the ledger's one reader
        except OSError:  # the loader reports what is wrong with it
            continue
        if lines:
            out.append(month)
    return out
