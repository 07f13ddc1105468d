"""The month's judgement for the whole practice: what `check`, `worklist` and `export` share."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from ccmcli.models.findings import Problem, has_errors
from ccmcli.models.months import Month, is_provisional
from ccmcli.rules.engine import Judgement
from ccmcli.rules.enrolment import part_of_month
from ccmcli.rules.judge import judge
from ccmcli.rules.table import RuleYear, rules_for
from ccmcli.store import timelog

if TYPE_CHECKING:
    from ccmcli.loader import Practice
    from ccmcli.reports.json_shapes import CheckOutput, PatientMonth
    from ccmcli.rules.entry_checks import MonthWarnings


class JudgedLine(NamedTuple):
    """One patient's judgement as `ccm check --format json` lists it, with what `summary` and
    `--status` read from it."""

    patient_id: str
    status: str
    amount: float
    codes: list[tuple[str, int]]
    json: str  # as json_text.encode writes it
    total_amount: float  # A16: with the other services' amounts
    patient_share: float


@dataclass
class MonthReport:
    month: Month
    provisional: bool
    rules: RuleYear
    rules_note: str | None
    judgements: list[Judgement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    log: timelog.MonthLog | None = None
    # `ccm check --format json` of the whole practice: each patient as encoded JSON, kept between
    # runs (judged_lines.py), in place of `judgements`
    lines: list[JudgedLine] | None = None
    # ids asked for (`only`) that are no part of the month (A17): not listed, and said so
    not_enrolled: list[str] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.problems)

    def as_dict(self, *, lazy: bool = False) -> "CheckOutput":
        """Contract section 3, `ccm check --format json`. With `lazy`, `patients` is an iterator
        that builds each patient's dict as it is written, so a large month is not held twice."""
        if self.lines is not None:
            from ccmcli.reports.json_text import Encoded

            patients = Encoded(line.json for line in self.lines)
        else:
            patients = map(judgement_dict, self.judgements)
        out: CheckOutput = {
            "schema": "ccm.check/1",
            "month": str(self.month),
            "provisional": self.provisional,
            "rules": str(self.rules.year),
            "patients": patients if lazy else list(patients),
            "problems": [p.as_dict() for p in self.problems],
            "summary": summarize(self),
        }
        if self.rules_note:
            out["rules_note"] = self.rules_note
        return out


STATUSES = ("billable", "below_threshold", "blocked", "no_time", "error")


def summarize(report_or_patients: "MonthReport | Iterable[Judgement | dict]") -> dict:
    """Contract 3 `summary`: the patients listed, counted by status, their amount summed and
    their units per code (in the order the codes first appear among the patients).

    Takes a MonthReport (after its `ID...`/`--status` filters), its judgements, or the patient
    dicts of `ccm check --format json`, so a reader of the JSON can check the totals it got."""
    items = getattr(report_or_patients, "lines", None)
    if items is None:
        items = getattr(report_or_patients, "judgements", report_or_patients)
    out: dict = {"patients": 0, **dict.fromkeys(STATUSES, 0)}
    cents = total = share = 0
    codes: dict[str, int] = {}
    for item in items:
        status, amount, pairs, item_total, item_share = _summary_fields(item)
        out["patients"] += 1
        out[status] = out.get(status, 0) + 1
        cents += round(amount * 100)
        total += round(item_total * 100)
        share += round(item_share * 100)
        for code, units in pairs:
            codes[code] = codes.get(code, 0) + units
    out["amount"] = cents / 100
    out["codes"] = codes
    out["total_amount"] = total / 100  # A16: with the other services billed
    out["patient_share"] = share / 100
    return out


def _summary_fields(item: "Judgement | dict") -> tuple:
    """Status, amount, program codes, total with the services, patient share. The summary's
    `codes` counts the program's units (contract 3); the services' are in `total_amount`."""
    if isinstance(item, dict):
        pairs = [(c["code"], c["units"]) for c in item["codes"]]
        amount = item["amount"]
        return (item["status"], amount, pairs, item.get("total_amount", amount),
                item.get("patient_share", 0.0))  # fmt: skip
    return item.status, item.amount, item.codes, item.total_amount, item.patient_share


def judgement_dict(j: Judgement) -> "PatientMonth":
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
        "codes_without_doubted_minutes": (
            None
            if j.without_doubted is None
            else [{"code": c, "units": n} for c, n in j.without_doubted]
        ),
        "services": [s.as_dict() for s in j.services],
        "total_amount": j.total_amount,
        "patient_share": j.patient_share,
        "not_assessed": j.not_assessed,
    }


def judge_month(
    practice: "Practice", month: Month, only: list[str] | None = None, on_patient=None,
    with_errors: bool = False,
) -> MonthReport:  # fmt: skip
    """Judge every valid patient part of `month` (A17; or `only` these ids, if part of it), with
    the problems of the files that judgement read (settings, patients, that month's log).
    `with_errors`: the patients whose file has an error are listed too, as `file_error` (what
    `check` shows; an id of `only` whose file has an error always is)."""
    report, by_patient, warnings = month_inputs(practice, month)
    settings = practice.settings
    listed = _listed(practice, month, by_patient, only, with_errors)
    report.not_enrolled = [pid for pid in only or () if pid not in set(listed)]
    for pid in listed:
        patient = practice.patients.get(pid)
        report.judgements.append(
            file_error(practice, pid, month, report.rules) if patient is None else
            judge(patient, month, by_patient.get(pid, []), settings, report.rules,
                  warnings.of(pid, by_patient.get(pid, [])), report.provisional)
        )  # fmt: skip
        if on_patient:
            on_patient()  # a progress bar on a terminal (`ccm check` of a large practice)
    return report


def _listed(practice: "Practice", month: Month, by_patient: dict, only: list[str] | None,
            with_errors: bool) -> list[str]:  # fmt: skip
    """members(), with the ids of patient files in error where they are asked for."""
    if only is None:
        ids = members(practice, month, by_patient)
        return sorted({*ids, *practice.invalid}) if with_errors else ids
    valid = set(members(practice, month, by_patient, [p for p in only if p in practice.patients]))
    return [p for p in only if p in valid or p in practice.invalid]


def members(
    practice: "Practice", month: Month, by_patient: dict, only: list[str] | None = None
) -> list[str]:
    """The ids of the valid patients part of `month` (ccm-rules A17), sorted, or those of `only`
    in their order: the one list every view of a month shows, counts, closes and exports."""
    ids = only if only is not None else sorted(practice.patients)
    return [pid for pid in ids
            if part_of_month(practice.patients[pid], month, pid in by_patient)]  # fmt: skip


def month_inputs(
    practice: "Practice", month: Month
) -> tuple[MonthReport, dict[str, list[timelog.Entry]], "MonthWarnings"]:
    """What judging the month's patients reads besides their records: an empty report (rules,
    whether the month is still running, the files' problems), each patient's rows of the month,
    and the warnings that the month's rows give each patient (entry_checks.MonthWarnings)."""
    rules, note = rules_for(month.year)
    log = practice.read_month(month)
    provisional = is_provisional(month, practice.settings.timezone)
    report = MonthReport(month, provisional, rules, note, log=log)
    report.problems = practice.month_problems(month)
    by_patient: dict[str, list[timelog.Entry]] = {}
    for e in log.entries:
        by_patient.setdefault(e.patient_id, []).append(e)
    return report, by_patient, practice.entry_warnings(month)


def file_error(practice: "Practice", pid: str, month: Month, rules: RuleYear) -> Judgement:
    """Contract 3: a patient whose file has an error is listed all the same, with status
    `error` and each error of the file in words as a `file_error` blocker, so that no table,
    total or CSV loses a row without a word. Nothing of the file is believed: the name and
    program are left empty and no minute counts."""
    from ccmcli.models.findings import Finding
    from ccmcli.models.records import Patient

    rel = practice.data.relative(practice.data.patient_path(pid))
    errors = [p for p in practice.problems if p.file == rel and p.severity == "error"]
    words = [p.render().replace(": error: ", ": ", 1) for p in errors] or [f"{rel}: has errors"]
    stand_in = Patient(id=pid, name="", birth_date=None, program="")
    return Judgement(
        patient=stand_in, month=month, rules=rules, status="error",
        minutes={"clinical_staff": 0, "practitioner": 0, "not_counted": 0,
                 "other_services": {}, "counted": 0},
        chosen=None, alternatives=[], blockers=[Finding.blocker("file_error", w) for w in words],
        warnings=[], next=None,
    )  # fmt: skip
