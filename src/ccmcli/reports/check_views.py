"""What `check`, `explain` and `worklist` compute, as plain data for the CLI to render."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ccmcli.loader import load
from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem
from ccmcli.models.months import Month, days_left
from ccmcli.reports.practice_month import MonthReport, judge_month, judgement_dict
from ccmcli.reports.wording import codes_text, rule_ref
from ccmcli.rules.engine import Judgement, NextStep
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from ccmcli.reports.json_shapes import (
        ExplainOutput,
        WorklistOutput,
        WorklistPatient,
        WorklistSummary,
    )


def run_check(
    data: DataDir, month_text: str | None, ids: list[str] | None = None, status: str | None = None,
    progress=None, as_json: bool = False,
) -> MonthReport:  # fmt: skip
    """The month judged. `as_json`: the whole practice's patients as encoded JSON lines
    (report.lines), judging only those whose inputs changed since the last such run."""
    practice = load(data, ahead=(month_text,))  # a large practice: its log read beside the files
    month = practice.month(month_text)
    for pid in ids or []:
        data.patient_path(pid)
        if pid not in practice.patients and pid not in practice.invalid:
            raise CcmError(f'cannot check "{pid}": no such patient')
    only = list(dict.fromkeys(ids)) if ids else None
    step = progress(len(only or practice.known_ids())) if progress else None
    if as_json and only is None:
        from ccmcli.reports.judged_lines import judge_month_lines

        report = judge_month_lines(practice, month, on_patient=step)
    else:
        report = judge_month(practice, month, only=only, on_patient=step, with_errors=True)
    if status:
        report.judgements = [j for j in report.judgements if j.status == status]
        if report.lines is not None:
            report.lines = [line for line in report.lines if line.status == status]
    return report


def check_csv_rows(report: MonthReport) -> list[list]:
    """Contract 3 `--format csv`: one row per patient."""
    return [
        [j.patient.id, j.patient.name, j.patient.program, j.status, j.minutes["clinical_staff"],
         j.minutes["practitioner"], codes_text(j.codes),
         j.date_of_service.isoformat() if j.date_of_service else "",
         f"{j.amount:.2f}" if j.codes else "", j.next.minutes_needed if j.next else "",
         " ".join(b.rule for b in j.blockers), services_text(j), f"{j.total_amount:.2f}",
         f"{j.patient_share:.2f}", codes_text(j.next.codes) if j.next else "",
         j.next.role if j.next else "", " ".join(w.rule for w in j.warnings), _doubted_text(j)]
        for j in report.judgements
    ]  # fmt: skip


def _doubted_text(j: Judgement) -> str:
    """The codes without the minutes warnings doubt, when the bill rests on them; `none` when
    nothing would be billable; empty when the warnings change nothing."""
    if j.without_doubted is None:
        return ""
    return codes_text(j.without_doubted) or "none"


def services_text(j: Judgement) -> str:
    """A16 in one cell: `bhi:99484x1 rpm:blocked(no_interactive_contact)`."""
    out = []
    for s in j.services:
        what = codes_text(s.codes).replace(" ", "+") if s.codes else s.status
        if s.blockers:
            what += f"({','.join(b.rule for b in s.blockers)})"
        out.append(f"{s.service}:{what}")
    return " ".join(out)


@dataclass
class Worklist:
    month: Month
    days_left: int
    judgements: list[Judgement]
    problems: list[Problem] = field(default_factory=list)
    steps: list[NextStep] = field(default_factory=list)  # one per judgement

    def items(self) -> "list[WorklistPatient]":
        """Each patient as `check` words it (contract 2), with `next` and what it would add; a
        service's line (A16) names the service, its own status and minutes, and what else it
        needs, while `status` and `minutes` stay the patient-month's, as everywhere."""
        out = []
        for j, step in zip(self.judgements, self.steps, strict=True):
            month = j.judgement if isinstance(j, ServiceWork) else j
            item = {"patient_id": j.patient.id, "name": j.patient.name,
                    "program": j.patient.program, "status": month.status,
                    "minutes": dict(month.minutes), "minutes_needed": step.minutes_needed,
                    "role": step.role, "next": step.as_dict(), "adds": _adds(j, step),
                    "days_left": self.days_left}  # fmt: skip
            if isinstance(j, ServiceWork):
                item["service"], item["needs"] = j.result.service, j.needs
                item["service_status"] = j.result.status
                item["service_minutes"] = j.result.as_dict()["minutes"]
            out.append(item)
        return out

    def as_dict(self) -> "WorklistOutput":
        return {"schema": "ccm.worklist/1", "month": str(self.month),
                "days_left": self.days_left, "patients": self.items(),
                "problems": [p.as_dict() for p in self.problems],
                "summary": self.totals()}  # fmt: skip

    def totals(self) -> "WorklistSummary":
        """Patients listed, minutes they still need, and what those minutes would add."""
        pairs = list(zip(self.judgements, self.steps, strict=True))
        cents = sum(round(_adds(j, s) * 100) for j, s in pairs)
        return {"patients": len({j.patient.id for j, _ in pairs}), "minutes_needed": sum(s.minutes_needed for _, s in pairs),
                "amount_at_stake": cents / 100}  # fmt: skip

    def rows(self) -> list[list]:
        """The CSV and xlsx rows: a service's line (A16) names its service last, so that
        `99470x1` reads as RPM's; the program's own line leaves it empty, as JSON omits it."""
        return [
            [i["patient_id"], i["name"], i["program"], i.get("service_status", i["status"]),
             i.get("service_minutes", i["minutes"])["counted"], i["minutes_needed"], i["role"],
             codes_text([(c["code"], c["units"]) for c in i["next"]["codes"]]),
             f"{i['adds']:.2f}", i["days_left"], i.get("service", "")]
            for i in self.items()
        ]  # fmt: skip


# Columns are only ever added at the end (contract: extend, never break).
WORKLIST_CSV = ["patient_id", "name", "program", "status", "minutes", "minutes_needed", "role",
                "next_codes", "adds", "days_left", "service"]  # fmt: skip


def _adds(j: Judgement, step: NextStep) -> float:
    """What reaching `step` adds to the month's amount, in cents exactly."""
    from decimal import Decimal

    return float(Decimal(str(step.amount)) - Decimal(str(j.amount)))


def apcm_step(j: Judgement) -> NextStep | None:
    """A8 / SE-06: an APCM month blocked only for want of an activity needs one documented
    activity of the program (any role, any length) to bill its level."""
    if j.patient.program != "apcm" or [b.rule for b in j.blockers] != ["no_service_this_month"]:
        return None
    from ccmcli.rules.engine import apcm_level

    codes = [(apcm_level(j.patient, j.rules).code, 1)]
    return NextStep(codes, 1, "any", j.rules.amount(codes))


@dataclass
class ServiceWork:
    """A service's place on the worklist (A16: "RPM: 5 more minutes for 99457, needs a live
    call"), with the face of a judgement that the worklist reads."""

    judgement: Judgement
    result: object  # services.ServiceResult
    needs: str | None = None

    @property
    def patient(self):
        return self.judgement.patient

    @property
    def rules(self):
        return self.judgement.rules

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def amount(self) -> float:
        return self.result.amount

    @property
    def counted(self) -> int:
        return self.result.counted

    @property
    def minutes(self) -> dict:
        return {"counted": self.result.counted}

    def progress(self, step: NextStep) -> tuple[int, int]:
        return self.result.counted, self.result.counted + step.minutes_needed


LIVE_CONTACT = ("needs a live call: no counted entry is a real-time interactive contact "
                "(rpm_interactive_activities)")  # fmt: skip


def service_work(j: Judgement, settings) -> list[tuple[ServiceWork, NextStep]]:
    """A16: each service of the patient-month that further minutes would raise; an RPM or RTM
    month blocked only for want of a live contact is listed with what the call would bill."""
    out = []
    for s in j.services:
        rules = [b.rule for b in s.blockers]
        if s.next is not None and not rules:
            needs = LIVE_CONTACT if s.service in ("rpm", "rtm") and not _live(s) else None
            out.append((ServiceWork(j, s, needs), s.next))
        elif rules == ["no_interactive_contact"]:
            step = _live_call_step(s, j, settings)
            if step is not None:
                out.append((ServiceWork(j, s, LIVE_CONTACT), step))
    return out


def _live(s) -> bool:
    """Whether a counted entry already is the live contact (then nothing else is needed)."""
    return not any(g == "no_interactive_contact" and fact for g, fact in s.gate_results) and any(
        v.counted for v in s.verdicts
    )


def _live_call_step(s, j: Judgement, settings) -> NextStep | None:
    """What a live call would bill: with the minutes already counted, a one-minute call when
    they reach a code; else the call's minutes up to the first threshold (F-24)."""
    rule = j.rules.service(s.service)
    if rule is None:
        return None
    cap = getattr(settings, rule.cap_setting) if rule.cap_setting else 0
    further = [t for t in rule.thresholds(cap) if t > s.counted]
    needed = 1 if rule.codes(s.counted, cap) or not further else further[0] - s.counted
    codes = rule.codes(s.counted + needed, cap)
    return NextStep(codes, needed, "clinical_staff", j.rules.amount(codes)) if codes else None


def run_worklist(data: DataDir, month_text: str | None) -> Worklist:
    """Unblocked patients with a `next`, and APCM patients with no activity yet this month;
    fewest minutes needed first, then by id."""
    practice = load(data)
    settings = practice.settings
    month = practice.month(month_text)
    report = judge_month(practice, month)
    todo = []
    for j in report.judgements:
        step = j.next if not j.blockers else apcm_step(j)
        if step is not None:
            todo.append((j, step))
        todo += service_work(j, settings)
    todo.sort(key=lambda pair: (pair[1].minutes_needed, pair[0].patient.id))
    return Worklist(month, days_left(month, settings.timezone), [j for j, _ in todo],
                    report.problems, [s for _, s in todo])  # fmt: skip


REASONS = {
    "before_consent": "before consent",
    "before_initiating_visit": "before the initiating visit",
    "no_consent": "no consent recorded",
    "no_initiating_visit": "no initiating visit recorded",
}


@dataclass
class Explanation:
    judgement: Judgement
    voided: list  # entries of the patient cancelled by void rows, and the void rows
    problems: list[Problem]
    settings: object
    enrolled: bool = True  # part of the month (A17); else the text says so, and only that

    def entries(self) -> list[dict]:
        rows = []
        for v in self.judgement.verdicts:
            why = REASONS.get(v.reason) or self._unused(v.entry.role)
            rows.append({**v.entry.as_dict(), "counted": why is None, "why_not": why})
        billed = {s.service for s in self.judgement.services}
        for e in self.judgement.other:
            why = (f"time of another service ({e.service}): judged under its own rules below (A7, A16)" if e.service in
                   billed else f"time of another service ({e.service}): counts toward nothing here (A7)")  # fmt: skip
            rows.append({**e.as_dict(), "counted": False, "why_not": why})
        for e in self.voided:
            why = f"voided by {e.voided_by}" if e.voided_by else f"void row for {e.voids}"
            rows.append({**e.as_dict(), "counted": False, "why_not": why})
        return sorted(rows, key=lambda r: r["line"])

    def _unused(self, role: str) -> str | None:
        """Why a countable entry still counts toward nothing: the chosen track ignores its role
        (A1, T-03; S14: staff minutes lost when the practitioner track is billed)."""
        from ccmcli.reports.month_record import ignoring_track

        pool = self.settings.count_practitioner_minutes_as_staff
        track = ignoring_track(self.judgement, role, pool)
        if track is None:
            return None
        return f"the {track.name} track does not count {role.replace('_', ' ')} minutes"

    def as_dict(self) -> "ExplainOutput":
        j = self.judgement
        return {
            "schema": "ccm.explain/1",
            **judgement_dict(j),
            "month": str(j.month),
            "rules": str(j.rules.year),
            "rules_source": j.rules.source,
            "program_began": j.patient.program_began(j.month),
            "gates": [{"rule": g, "passed": fact is None, "fact": fact or _fact(g, j),
                       "ref": rule_ref(g, j.rules)} for g, fact in j.gate_results],
            "track": self._track(),
            "entries": self.entries(),
            "service_details": [service_explained(s, j) for s in j.services],
            "problems": [p.as_dict() for p in self.problems],
        }  # fmt: skip

    def _track(self) -> dict | None:
        from ccmcli.reports.explain_text import track_reason

        return track_reason(self.judgement, self.settings)

    def lines(self) -> list[str]:
        from ccmcli.reports.explain_text import explain_lines

        return explain_lines(self)


SERVICE_REASONS = {**REASONS, "no_consent": "no consent to the service recorded",
                   "before_consent": "before the service's consent"}  # fmt: skip


def service_explained(s, j: Judgement) -> dict:
    """A16 in explain: a service's verdict with its gates and every entry, counted or why not."""
    from ccmcli.rules.services import describe

    return {
        **s.as_dict(),
        "code": s.candidate,
        "gates": [{"rule": g, "passed": fact is None,
                   "fact": fact or describe(g, j.patient, s.service)} for g, fact in s.gate_results],
        "entries": [{**v.entry.as_dict(), "counted": v.counted,
                     "why_not": None if v.counted else SERVICE_REASONS.get(v.reason, v.reason)}
                    for v in s.verdicts],
        "not_billed": [{"code": c, "why": why} for c, why in s.not_billed],
    }  # fmt: skip


def _fact(gate: str, j: Judgement) -> str:
    from ccmcli.rules.gates import describe

    return describe(gate, j.patient)


def run_explain(data: DataDir, patient_id: str, month_text: str | None) -> Explanation:
    from ccmcli.reports.patient_month import enrolled, month_status

    practice = load(data, patient_ids=[patient_id])
    patient = practice.patient(patient_id)
    month = practice.month(month_text)
    log = practice.read_month(month)
    j = month_status(practice, patient, month)
    voided = [e for e in log.entries if e.patient_id == patient.id and not e.counts]
    # the patient's own problems and those of whole files; other patients' rows are theirs
    problems = [p for p in practice.month_problems(month) if p.patient_id in (None, patient.id)]
    return Explanation(j, voided, problems, practice.settings,
                       enrolled(practice, patient, month))  # fmt: skip
