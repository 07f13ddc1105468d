"""`ccm export`: the month's claim lines, recorded in a ledger so no unit is ever billed twice.

Duplicate same-period claims are the largest overpayment finding in audits of CCM (contract 5).
The ledger `exports/<YYYY-MM>.csv` (its format: store/ledger.py) holds every line already
exported. An export, holding the ledger's lock for the whole judge-read-diff-write-append,
compares what the data supports now with what the ledger holds: only units not exported before
become new lines; a patient-month stays on the track it was first exported on; units exported
but no longer supported are reported as needing a corrected claim.

Failure order: the output (the `-o` file, written atomically, or stdout) is written first and the
ledger appended after it, still under the lock. If the output cannot be written (a bad path, a
full disk) nothing is recorded and the same lines come again next time. If the ledger cannot be
appended after the output was written, the command says not to bill that output. Recording first
would instead leave lines recorded that no biller ever received.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem
from ccmcli.models.months import Month, is_provisional
from ccmcli.models.records import Patient, Settings
from ccmcli.reports import practice_month
from ccmcli.rules.engine import Judgement, TrackResult
from ccmcli.rules.judge import date_of_service_for
from ccmcli.rules.table import RuleYear, Track
from ccmcli.store import fileio, regular_files
from ccmcli.store.csv_safe import csv_text
from ccmcli.store.datadir import DataDir
from ccmcli.store.ledger import (
    COLUMNS,
    LEDGER_COLUMNS,
    SHOWN_PROBLEMS,
    Line,
    append_lines,
    ledger_text,
    parse_ledger,
    read_ledger,
)

CENT = Decimal("0.01")

Write = Callable[[str], None]


def fee(code: str, settings: Settings, rules: RuleYear) -> Decimal:
    """Per-unit charge: `fees` in ccm.yaml, else the national amount of the service year (A6)."""
    if code in settings.fees:
        return Decimal(str(settings.fees[code]))
    return rules.amounts[code].exact


def diagnoses(patient: Patient) -> list[str]:
    """dx1-dx4: qualifying conditions, the pcm principal condition first."""
    codes = patient.chronic_codes()
    if patient.program == "pcm" and patient.principal_condition in codes:
        codes.remove(patient.principal_condition)
        codes.insert(0, patient.principal_condition)
    return (codes + [""] * 4)[:4]


def claim_line(
    j: Judgement, result: TrackResult, code: str, units: int, settings: Settings
) -> Line:
    p = j.patient
    charge = (fee(code, settings, j.rules) * units).quantize(CENT, ROUND_HALF_UP)
    pos = settings.place_of_service  # a patient has no place of service of its own
    cells = (p.id, p.name, p.birth_date.isoformat(), p.mbi or "", p.billing_npi or settings.billing_npi,
             pos, result.date_of_service.isoformat(), code, str(units), f"{charge}", *diagnoses(p))  # fmt: skip
    return Line(cells, p.id, code, units, charge)


# ---- what to export -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    """Units already exported that the data no longer supports (a void, a correction, a gate)."""

    patient_id: str
    code: str
    exported: int
    supported: int
    detail: str = ""  # a field of the claim that changed, when the units did not

    def message(self) -> str:
        if self.detail:
            return f"{self.patient_id} {self.code}: {self.detail}: needs a corrected claim"
        units = "unit" if self.exported == 1 else "units"
        return (f"{self.patient_id} {self.code}: {self.exported} {units} exported, "
                f"{self.supported} supported now: needs a corrected claim")  # fmt: skip


@dataclass
class Plan:
    lines: list[Line] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # exported, but the file has errors now


def track_of(code: str, rules: RuleYear) -> Track | None:
    """The track a code bills on; an APCM level is a one-code track of its own (A8)."""
    levels = (rules.level_track(level) for level in rules.levels)
    return next((t for t in (*rules.tracks, *levels) if code in (t.base_code, t.addon_code)), None)


def supported(j: Judgement | None, locked: Track | None, exported: bool) -> TrackResult | None:
    """What the data supports now: the chosen track, or once exported, the track exported first
    (the patient-month stays on it, even when another track would now pay more)."""
    if j is None:
        return None
    if not exported:
        return j.chosen
    return next((r for r in (j.chosen, *j.alternatives) if r and r.track == locked), None)


def plan_export(
    report: practice_month.MonthReport, settings: Settings, ledger: list[Line], invalid: set[str]
) -> Plan:
    """New lines: supported units beyond those in the ledger, per patient and code. Corrections:
    ledger units beyond those supported."""
    done: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_patient: dict[str, list[Line]] = defaultdict(list)
    for line in ledger:
        done[line.patient_id][line.code] += line.units
        by_patient[line.patient_id].append(line)
    judged = {j.patient.id: j for j in report.judgements}
    plan = Plan()
    for pid in sorted(judged.keys() | done.keys()):
        if pid not in judged and pid in invalid:
            plan.unchecked.append(pid)
            continue
        had = done.get(pid, {})
        locked = track_of(next(iter(had)), report.rules) if had else None
        result = supported(judged.get(pid), locked, bool(had))
        now = dict(result.codes) if result else {}
        for code, n in now.items():
            if n > had.get(code, 0):
                plan.lines.append(claim_line(judged[pid], result, code, n - had.get(code, 0), settings))  # fmt: skip
        short = [Correction(pid, c, n, now.get(c, 0)) for c, n in had.items() if n > now.get(c, 0)]  # fmt: skip
        plan.corrections += short
        if had and result and not short:
            plan.corrections += changed_fields(judged[pid], result, by_patient[pid], settings)
    return plan


_FIELDS = (("billing NPI", slice(4, 5)), ("diagnoses", slice(10, 14)))


def changed_fields(
    j: Judgement, result: TrackResult, exported: list[Line], settings: Settings
) -> list[Correction]:
    """Exported lines whose date of service, billing NPI or diagnoses the data no longer gives.

    The units still stand, but the claim sent carries another date or another provider or
    diagnoses than the record now supports (a void and a new entry, an edited patient file): a
    corrected claim, like a change of units. Each export's lines carry the date of service of
    the units billed up to then, so a later unit moving the month's date is no correction.
    """
    now = claim_line(j, result, result.codes[0][0], 1, settings).cells
    out: dict[tuple[str, str], Correction] = {}
    base = addon = 0
    total = sum(n for _, n in result.codes)
    for batch in _batches(exported):
        base += sum(line.units for line in batch if line.code == result.track.base_code)
        addon += sum(line.units for line in batch if line.code == result.track.addon_code)
        if base + addon >= total:
            day = result.date_of_service
        else:
            day = date_of_service_for(j, result.track, addon, settings) if base else None
        for line in batch:
            if day is not None and line.cells[6] != day.isoformat():
                what = f"exported with date of service {line.cells[6]}, the data now gives {day}"
                out.setdefault((line.code, "dos"), Correction(j.patient.id, line.code, line.units, line.units, what))  # fmt: skip
            for name, cells in _FIELDS:
                if line.cells[cells] != now[cells]:
                    what = f"exported with other {name} than the record now gives"
                    out.setdefault((line.code, name), Correction(j.patient.id, line.code, line.units, line.units, what))  # fmt: skip
    return list(out.values())


def _batches(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped by the export that wrote them: consecutive lines with one exported_at and
    one date of service (two exports within a second differ in the date, or need no split)."""
    out: list[list[Line]] = []
    for line in lines:
        last = out[-1][-1] if out else None
        if last and (last.exported_at, last.cells[6]) == (line.exported_at, line.cells[6]):
            out[-1].append(line)
        else:
            out.append([line])
    return out


# ---- the command's work -------------------------------------------------------------------------


@dataclass
class Outcome:
    month: Month
    lines: list[Line]
    plan: Plan = field(default_factory=Plan)
    forced: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reprint: bool = False

    @property
    def exit_code(self) -> int:
        """1 when claims need correcting or the month's files have errors (contract 2)."""
        return 1 if self.plan.corrections or self.forced else 0

    def summary(self) -> str:
        if not self.lines:
            what = "exported yet" if self.reprint else "new to export"
            return f"nothing {what} for {self.month}"
        n, pats = len(self.lines), len({line.patient_id for line in self.lines})
        total = sum((line.charge for line in self.lines), Decimal(0)).quantize(CENT)
        verb = "reprinted" if self.reprint else "exported"
        return (f"{verb} {n} line{'s' * (n != 1)} for {pats} patient{'s' * (pats != 1)}, "
                f"total charge {total} ({self.month})")  # fmt: skip


def _refusal(month: Month, errors: list[Problem]) -> str:
    n = len(errors)
    shown = [f"  {p.render()}" for p in errors[:SHOWN_PROBLEMS]]
    if n > SHOWN_PROBLEMS:
        shown.append(f"  ... and {n - SHOWN_PROBLEMS} more")
    head = (f"not exporting {month}: its files have {n} error{'s' * (n != 1)} "
            "(run `ccm validate`; fix them, or use --force to export what counts)")  # fmt: skip
    return "\n".join([head, *shown])


def export_month(
    data: DataDir, month_text: str | None, write: Write, *, allow_open: bool = False,
    force: bool = False,
) -> Outcome:  # fmt: skip
    """Under the ledger lock: judge the month, diff, write the output, record the lines."""
    from ccmcli.loader import load

    practice = load(data)
    settings = practice.settings
    month = practice.month(month_text, default="last_finished")
    open_month = is_provisional(month, settings.timezone)
    if open_month and not allow_open:
        raise CcmError(f"{month} has not ended at the practice ({settings.timezone}) and minutes "
                       "may still be added; export it once it ends, or use --allow-open-month")  # fmt: skip
    path = data.export_path(month)
    regular_files.check_writable(data.root, path)
    with fileio.locked(path, csv_text([], LEDGER_COLUMNS)) as fd:
        # Judged under the lock: a month judged before another export recorded lines (and
        # minutes were logged in between) would read as units no longer supported.
        report = practice_month.judge_month(practice, month)  # reads the month's log now
        errors = [p for p in report.problems if p.severity == "error"]
        if errors and not force:
            raise CcmError(_refusal(month, errors))
        plan = plan_export(report, settings, parse_ledger(ledger_text(fd), data.relative(path)),
                           practice.invalid)  # fmt: skip
        write(csv_text((line.cells for line in plan.lines), COLUMNS))
        if plan.lines:
            append_lines(fd, plan.lines, settings, data.relative(path))
    notes = [f"note: {report.rules_note}"] if report.rules_note else []
    if open_month:
        notes.append(f"note: {month} has not ended; minutes added later export as further lines")
    notes += [f"note: {pid}: its file has errors, so its exported lines were not re-checked"
              for pid in plan.unchecked]  # fmt: skip
    return Outcome(month, plan.lines, plan, errors, notes)


def reprint_month(data: DataDir, month_text: str | None, write: Write) -> Outcome:
    """Everything already exported for the month, as export columns; records nothing."""
    from ccmcli.loader import load

    month = load(data, patient_ids=()).month(month_text, default="last_finished")
    lines = read_ledger(data, month)
    write(csv_text((line.cells for line in lines), COLUMNS))
    return Outcome(month, lines, reprint=True)
