"""The month's judgement for the whole practice: what `check`, `worklist` and `export` share."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ccmcli.models.findings import Problem, has_errors
from ccmcli.models.months import Month, is_provisional
from ccmcli.rules.engine import Judgement
from ccmcli.rules.entry_checks import entry_warnings
from ccmcli.rules.judge import judge
from ccmcli.rules.table import RuleYear, rules_for
from ccmcli.store import timelog

if TYPE_CHECKING:
    from ccmcli.loader import Practice


@dataclass
class MonthReport:
    month: Month
    provisional: bool
    rules: RuleYear
    rules_note: str | None
    judgements: list[Judgement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    log: timelog.MonthLog | None = None

    @property
    def has_errors(self) -> bool:
        return has_errors(self.problems)

    def as_dict(self, *, lazy: bool = False) -> dict:
        """Contract section 3, `ccm check --format json`. With `lazy`, `patients` is an iterator
        that builds each patient's dict as it is written, so a large month is not held twice."""
        patients = map(judgement_dict, self.judgements)
        out = {
            "month": str(self.month),
            "provisional": self.provisional,
            "rules": str(self.rules.year),
            "patients": patients if lazy else list(patients),
            "problems": [p.as_dict() for p in self.problems],
        }
        if self.rules_note:
            out["rules_note"] = self.rules_note
        return out


def judgement_dict(j: Judgement) -> dict:
    return {
        "patient_id": j.patient.id,
        "name": j.patient.name,
        "program": j.patient.program,
        "status": j.status,
        "minutes": dict(j.minutes),
        "codes": [{"code": c, "units": n} for c, n in j.codes],
        "date_of_service": j.date_of_service.isoformat() if j.date_of_service else None,
        "amount": j.amount,
        "alternatives": [a.as_dict() for a in j.alternatives],
        "blockers": [b.as_dict() for b in j.blockers],
        "warnings": [w.as_dict() for w in j.warnings],
        "next": j.next.as_dict() if j.next else None,
    }


def judge_month(practice: "Practice", month: Month, only: list[str] | None = None) -> MonthReport:
    """Judge every valid patient (or `only` these ids) for `month`, with the problems of the
    files that judgement read (settings, patients, that month's log)."""
    rules, note = rules_for(month.year)
    log = practice.read_month(month)
    provisional = is_provisional(month, practice.settings.timezone)
    report = MonthReport(month, provisional, rules, note, log=log)
    report.problems = practice.month_problems(month)
    by_patient: dict[str, list] = {}
    for e in log.entries:
        by_patient.setdefault(e.patient_id, []).append(e)
    warnings = entry_warnings(log.entries)
    settings = practice.settings
    ids = only if only is not None else sorted(practice.patients)
    for pid in ids:
        patient = practice.patients[pid]
        report.judgements.append(
            judge(patient, month, by_patient.get(pid, []), settings, rules,
                  warnings.get(pid), report.provisional)
        )  # fmt: skip
    return report


STATUSES = ("billable", "below_threshold", "blocked", "no_time")


def summarize(report: MonthReport) -> dict:
    """Contract section 3 `summary`: the patients listed (after any filter) counted by status,
    their amounts summed and their units per code, in the order codes first appear. The check
    table ends with the same figures."""
    from decimal import Decimal

    by_status = dict.fromkeys(STATUSES, 0)
    codes: dict[str, int] = {}
    total = Decimal(0)
    for j in report.judgements:
        by_status[j.status] = by_status.get(j.status, 0) + 1
        total += Decimal(str(j.amount))
        for code, units in j.codes:
            codes[code] = codes.get(code, 0) + units
    return {"patients": len(report.judgements), **by_status, "amount": float(total),
            "codes": codes}  # fmt: skip
