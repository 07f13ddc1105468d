"""`ccm compare`: what each program would have paid on the practice's own data (ccm-rules A9).

Each patient-month is judged once per program, with the patient as if enrolled in it (same
consent, visit, care plan and entries), by the gates, minute totals and choice that `ccm check`
uses (rules/outcomes.py; a property test holds the two to the same answers). `pcm` is judged
only for patients with a principal condition.
"""

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from ccmcli.models.findings import Problem
from ccmcli.models.months import Month
from ccmcli.models.records import Patient
from ccmcli.rules.engine import as_enrolled_in
from ccmcli.rules.enrolment import part_of_month
from ccmcli.rules.outcomes import COUNTING_COLUMNS, counted_minutes, program_outcomes
from ccmcli.rules.table import rules_for
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from ccmcli.loader import Practice
    from ccmcli.reports.json_shapes import ComparedPatient, CompareOutput

PROGRAMS = ("ccm", "pcm", "apcm")
CSV_COLUMNS = ["patient_id", "name", "enrolled", "best", "ccm_amount", "ccm_months_billable",
               "ccm_blockers", "pcm_amount", "pcm_months_billable", "pcm_blockers",
               "apcm_amount", "apcm_months_billable", "apcm_blockers"]  # fmt: skip


@dataclass
class ProgramTotal:
    """One program over the months: amount, months it would bill, rules that blocked it."""

    amount: float = 0.0
    months_billable: int = 0
    blockers: set[str] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"amount": round(self.amount, 2), "months_billable": self.months_billable,
                "blockers": sorted(self.blockers)}  # fmt: skip


@dataclass
class PatientComparison:
    patient_id: str
    name: str
    enrolled: str  # the program in force in the newest month compared (A8)
    programs: dict[str, ProgramTotal]

    @property
    def best(self) -> str | None:
        """The program that pays most; ties go to the one enrolled, then table order. None
        when no program would pay anything."""
        top = max(round(t.amount, 2) for t in self.programs.values())
        if top <= 0:
            return None
        mine = self.programs.get(self.enrolled)
        if mine is not None and round(mine.amount, 2) == top:
            return self.enrolled
        return next(p for p, t in self.programs.items() if round(t.amount, 2) == top)

    def as_dict(self) -> "ComparedPatient":
        return {"patient_id": self.patient_id, "name": self.name, "enrolled": self.enrolled,
                "best": self.best,
                "programs": {p: t.as_dict() for p, t in self.programs.items()}}  # fmt: skip


@dataclass
class Comparison:
    months: list[Month]
    patients: list[PatientComparison]
    problems: list = field(default_factory=list)

    def totals(self) -> dict[str, float]:
        return {p: round(sum(c.programs[p].amount for c in self.patients if p in c.programs), 2)
                for p in PROGRAMS}  # fmt: skip

    def enrolled_total(self) -> float:
        return round(sum(c.programs[c.enrolled].amount for c in self.patients
                         if c.enrolled in c.programs), 2)  # fmt: skip

    def as_dict(self) -> "CompareOutput":
        """Contract section 12, with the table's words: each patient's name and best program,
        the enrolled programs' total, and the files' problems."""
        return {"schema": "ccm.compare/1", "months": [str(m) for m in self.months],
                "patients": [c.as_dict() for c in self.patients], "totals": self.totals(),
                "enrolled_total": self.enrolled_total(),
                "problems": [p.as_dict() for p in self.problems]}  # fmt: skip


def run_compare(
    data: DataDir, month_text: str | None, count: int, ids: list[str] | None
) -> Comparison:
    """All the data reading of `ccm compare`: settings, patients, then each month's log."""
    from ccmcli.models.errors import CcmError

    if count < 1:
        raise CcmError("--months must be 1 or more", 2)
    from ccmcli.loader import load

    practice = load(data)  # settings and patients with every check (ICD-10-CM codes included)
    last = practice.month(month_text, default="last_finished")
    for pid in ids or []:
        data.patient_path(pid)
        if pid not in practice.patients:
            why = "its file has errors" if pid in practice.invalid else "no such patient"
            raise CcmError(f'cannot compare "{pid}": {why}')
    chosen = list(dict.fromkeys(ids)) if ids else sorted(practice.patients)
    return compare(practice, month_range(last, count), chosen)


def programs_of(patient: Patient) -> tuple[str, ...]:
    """A9: ccm and apcm always; pcm when a principal condition is recorded."""
    return tuple(p for p in PROGRAMS if p != "pcm" or patient.principal_condition)


def month_range(last: Month, count: int) -> list[Month]:
    """`last` and the `count` - 1 months before it, oldest first."""
    return [last.add(-n) for n in range(count - 1, -1, -1)]


def compare(practice: "Practice", months: list[Month], ids: list[str]) -> Comparison:
    """Judge every patient-month under each of its programs and add them up per patient, in
    month order (a month a patient is no part of adds nothing, A17); the months are judged on
    every CPU when there are many patient-months."""
    from ccmcli.workers import parse_many, worker_count

    found = {pid: _row(practice.patients[pid], months[-1]) for pid in ids}
    variants = {pid: _variants(practice.patients[pid]) for pid in ids}
    problems = list(practice.problems)

    def outcomes_of(month: Month) -> tuple:
        rules, _ = rules_for(month.year)
        columns, month_problems = _month_columns(practice, month)
        counted = counted_minutes(practice.patients, columns)
        settings = practice.settings
        logged = set(columns[0])
        return month, month_problems, [
            program_outcomes(month, *counted.get(pid, (0, 0)), settings, rules, variants[pid])
            if part_of_month(practice.patients[pid], month, pid in logged) else None
            for pid in ids
        ]  # fmt: skip

    kept = KeptOutcomes(practice, months) if ids == sorted(practice.patients) else None
    judged = kept.judged if kept else {}
    todo = [m for m in months if m not in judged]
    workers = worker_count(len(todo) * len(ids))  # as many patient-months as patient files
    judged.update({month: rest for month, *rest in parse_many(todo, outcomes_of, workers, 1)})
    if kept:
        kept.save(judged)
    seen = set(problems)
    part: set[str] = set()  # A17: a patient part of none of the months is not listed
    for month in months:
        month_problems, outcomes = judged[month]
        problems += [p for p in month_problems if p not in seen]  # an earlier month's, once
        seen.update(month_problems)
        for pid, patient_outcomes in zip(ids, outcomes, strict=True):
            if patient_outcomes is None:
                continue
            part.add(pid)
            row = found[pid]
            for program, amount, billable, blockers in patient_outcomes:
                total = row.programs[program]
                total.amount += amount
                total.months_billable += billable
                total.blockers.update(blockers)
    return Comparison(months, [found[pid] for pid in ids if pid in part], problems)


class KeptOutcomes:
    """Each month's outcomes for the whole practice, kept under the key of everything they are
    judged from (cache.month_key: ccm's code, ccm.yaml, every patient file, the month's log
    and the earlier ones, the folders) and the checks that could not run: a year's comparison
    judges again only the months whose files changed."""

    KIND, KEEP = "compare-months", 48

    def __init__(self, practice: "Practice", months: list[Month]) -> None:
        from ccmcli.store import cache

        self.data = practice.data
        records = practice.signatures if practice.whole else None
        self.keys = {m: cache.month_key(self.data, m, records, practice.read_at_ns,
                                        "compare", practice.notes) for m in months}  # fmt: skip
        self.shelf = cache.Shelf(self.data.root, self.KIND, self.KEEP)
        self.judged: dict = {}
        for month, key in self.keys.items():
            hit = self.shelf.get(key)
            if isinstance(hit, list) and len(hit) == 2:
                self.judged[month] = [[Problem(*p) for p in hit[0]], hit[1]]

    def save(self, judged: dict) -> None:
        for m, key in self.keys.items():
            if m in judged and key is not None and key not in self.shelf.known:
                self.shelf.put(key, [[_problem_fields(p) for p in judged[m][0]], judged[m][1]])
        self.shelf.save()


def _problem_fields(p: Problem) -> list:
    return [getattr(p, f.name) for f in fields(Problem)]


def _month_columns(practice: "Practice", month: Month) -> tuple[list[list], list[Problem]]:
    """The month's counting columns (dates as day ordinals) and its problems, from the loader's
    reading of the month: every rule of contract 1 and 4 applied as for `check`, so compare
    counts what check counts."""
    log = practice.read_month(month)
    entries = log.entries
    columns = [[getattr(e, n) for e in entries] for n in COUNTING_COLUMNS]
    i = COUNTING_COLUMNS.index("date")
    columns[i] = [d.toordinal() for d in columns[i]]
    return columns, list(log.problems)


def _variants(patient: Patient) -> list[tuple[str, Patient]]:
    return [(p, as_enrolled_in(patient, p)) for p in programs_of(patient)]


def _row(patient: Patient, newest: Month) -> PatientComparison:
    programs = {p: ProgramTotal() for p in programs_of(patient)}
    return PatientComparison(patient.id, patient.name, patient.program_in(newest), programs)


def csv_rows(c: Comparison) -> list[list]:
    """One row per patient, then a totals row (patient_id `TOTAL`)."""
    rows = []
    for p in c.patients:
        cells = [p.patient_id, p.name, p.enrolled, p.best or ""]
        for program in PROGRAMS:
            t = p.programs.get(program)
            cells += ([f"{t.amount:.2f}", t.months_billable, " ".join(sorted(t.blockers))]
                      if t else ["", "", ""])  # fmt: skip
        rows.append(cells)
    totals = c.totals()
    rows.append(["TOTAL", "", "", ""] + [x for p in PROGRAMS for x in (f"{totals[p]:.2f}", "", "")])
    return rows
